"""Bad input: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import pytest

from studies.run import main


@pytest.mark.parametrize("argv,message", [
    (["nope"], "unknown study 'nope'; known: hyperlstm_ablation, hyperlstm_ptb, synthetic"),
    (["synthetic", "--set", "nope=1"], "--set nope: unknown key for synthetic"),
    (["synthetic", "--set", "epochs=abc"], "--set epochs=abc: expected int"),
    (["synthetic", "--storage", "foo://x"], "--storage 'foo://x': not a usable database URL"),
    (["synthetic", "--storage", "sqlite://"], "in-memory database"),
    (["synthetic", "--ray-address", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
    (["synthetic", "--ray-address", "nohost"], "expected host:port"),
    (["synthetic", "--objectives", "bogus"], "--objectives: unknown ['bogus']"),
    (["synthetic", "--seeds", "a,b"], "--seeds 'a,b': expected integers"),
    (["synthetic", "--objectives", "valid_loss,params", "--pruner", "median"],
     "needs a single objective"),
    (["hyperlstm_ptb", "--data-dir", "/nonexistent"], "missing dataset files ptb/ptb.char"),
    (["synthetic", "--storage", "postgresql://u@127.0.0.1:1/db"], "cannot open Optuna storage"),
])
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HNET_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bad_flag_value_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["synthetic", "--preset", "huge"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'huge'" in err[0]


def test_list_shows_studies_and_presets(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "hyperlstm_ptb" in out and "quick (10 trials x 4 epochs)" in out
