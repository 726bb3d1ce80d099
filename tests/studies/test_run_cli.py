"""Bad input: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import pytest
import ray

from studies._runner.search_algorithms import PRUNERS, SAMPLERS
from studies.run import main


@pytest.mark.parametrize("argv,message", [
    (["nope"], "unknown study 'nope'; known: hypercl_ablation, hypercl_pmnist,"),
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
    (["hyperlstm_ptb", "--data-dir", "/nonexistent"], "--data-dir /nonexistent: no such folder"),
    (["hyperlstm_ptb", "--data-dir", "."], "missing dataset files ptb/ptb.char"),
    (["static_hnet_cifar10", "--data-dir", "."],
     "missing dataset files cifar10/cifar-10-python.tar.gz"),
    (["static_hnet_cifar10", "--set", "depth=12"], "depth must be 6n + 4"),
    (["static_hnet_mnist", "--set", "hidden_sizes=0,4"], "hidden_sizes must be >= 1, got 0"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "embedding_sizes="],
     "embedding_sizes must name at least one value"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "hidden_size=-5"],
     "hidden_size must be >= 1, got -5"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "hidden_size=0"], "hidden_size must be >= 1"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "seq_len=0"], "seq_len must be >= 1"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "batch_size=0"], "batch_size must be >= 1"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "lr=nan"], "lr must be a number, got nan"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "lr_low=0.1", "--set", "lr_high=0.01"],
     "lr_low (0.1) must be <= lr_high (0.01)"),
    (["hyperlstm_ptb", "--preset", "smoke", "--set", "keep_prob_low=0"],
     "keep_prob_low must be in (0, 1]"),
    (["synthetic", "--jobs", "0"], "--jobs must be >= 1, got 0"),
    (["synthetic", "--ray-cpus", "0"], "--ray-cpus must be >= 1"),
    (["synthetic", "--gpus-per-trial", "4096"], "a trial needs 1 CPUs and 4096 GPUs"),
    (["synthetic", "--cpus-per-trial", "nan"], "--cpus-per-trial: cpus_per_trial must be a"),
    (["synthetic", "--n-trials", "0"], "--n-trials: n_trials must be >= 1"),
    (["synthetic", "--storage", "postgresql://u@127.0.0.1:1/db"], "cannot open Optuna storage"),
    (["hyperlstm_ptb", "--preset", "smoke", "--seeds", "1,1"],
     "--seeds: seeds must differ, got 1,1 (1 more than once)"),
    (["hypercl_pmnist", "--set", "beta_output=inf"], "beta_output must be finite, got inf"),
    (["hypercl_pmnist", "--set", "lr_high=inf"], "lr_high must be finite, got inf"),
    (["synthetic", "--objectives", "valid_loss,valid_loss"],
     "--objectives: valid_loss named more than once"),
    (["hypercl_splitmnist", "--set", "scenario=2"],
     "(ValueError: method hnet needs the task at test time (scenario 1); in scenario 2 the "
     "task is not given: use hnet_ent, which infers it)"),
    (["hypercl_splitmnist", "--set", "scenario=2", "--sampler", "grid"],
     "hypercl_splitmnist: the grid's one point gives no valid trial (ValueError: method hnet "
     "needs the task"),
    (["hypercl_splitmnist", "--set", "scenario=4"], "scenario 4 is not one of 1, 2, 3"),
    (["hypercl_splitmnist", "--set", "method=dgr"], "method 'dgr' is not one of hnet,"),
    (["hypercl_splitmnist", "--set", "method=hnet_tir"],
     "method hnet_tir infers the task, which scenario 1 gives; use hnet"),
    (["hypercl_pmnist", "--set", "scenario=3", "--set", "method=finetune", "--set",
      "task_inference=true"], "task_inference picks a task's head; finetune has one head in"),
    (["hypercl_splitmnist", "--set", "split_digits=012,34,56789", "--set", "num_tasks=3",
      "--set", "scenario=2", "--set", "method=hnet_ent"],
     "scenario 2 shares outputs between tasks, which needs every task to have the same "
     "classes; split_digits 012,34,56789 gives tasks of 2, 3, 5 classes"),
    (["hypercl_splitmnist", "--set", "split_digits=0123,456789", "--set", "num_tasks=2",
      "--set", "scenario_choices=1,3"], "scenario 3 shares outputs between tasks"),
    (["hypercl_scenarios", "--set", "split_digits=012,3456789", "--set", "num_tasks=2"],
     "hypercl_scenarios: grid point scenario=2, method=hnet gives no valid trial (ConfigError: "
     "scenario 2 shares outputs between tasks"),
    (["hypercl_splitmnist", "--set", "scenario_choices=3", "--set", "method=finetune",
      "--set", "task_inference=true"],
     "task_inference picks a task's head; finetune has one head in scenario 3"),
    (["hypercl_splitmnist", "--set", "split_digits=01,2²"],
     "split_digits 01,2²: expected groups of digits like 01,23,45,67,89"),
    (["hypercl_splitmnist", "--set", "split_digits=01,12"],
     "split_digits 01,12: SplitMNIST digits must be 0-9, each in one task only"),
    (["hypercl_splitmnist", "--set", "split_digits=01234,56789"],
     "SplitMNIST has 2 tasks (split_digits 01234,56789), got num_tasks=5; set num_tasks too"),
    (["hypercl_pmnist", "--set", "split_digits=01,23"],
     "hypercl_pmnist does not use split_digits with these settings (PermutedMNIST's tasks"),
    (["hypercl_splitmnist", "--set", "method_choices=hnet,dgr"],
     "method_choices 'dgr' is not one of hnet,"),
    (["hypercl_splitmnist", "--set", "method_choices=hnet,ewc", "--set", "method=ewc"],
     "does not use method with these settings (method_choices names the methods searched)"),
    (["hypercl_splitmnist", "--set", "epochs=5"],
     "--set epochs: hypercl_splitmnist derives epochs from num_tasks; set num_tasks"),
])
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    """Refused at plan time: one line, nothing written, Ray never started."""
    monkeypatch.delenv("HNET_DATA_DIR", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--results-dir", str(tmp_path / "results")]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == ""
    assert list(tmp_path.iterdir()) == []
    assert not ray.is_initialized()


def test_a_storage_path_under_a_file_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    """A SQLite or journal path whose parent is a file: one line, exit 2, Ray never started."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for url, message in ((f"sqlite:///{blocker}/dir/x.db",
                          f"cannot create the SQLite database's folder {blocker}/dir: Not a "
                          "directory"),
                         (f"journal:///{blocker}/dir/x.journal", "Not a directory")):
        assert main(["synthetic", "--storage", url, "--results-dir",
                     str(tmp_path / "results")]) == 2
        captured = capsys.readouterr()
        assert message in captured.err
        assert len(captured.err.strip().splitlines()) == 1 and captured.out == ""
        assert not ray.is_initialized()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_bad_recurrent_impl_variable_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    """HNET_RECURRENT_IMPL naming no path: refused when the trial's model config is built at
    plan time, before Ray starts, with nothing written."""
    monkeypatch.setenv("HNET_RECURRENT_IMPL", "quick")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["hyperlstm_ptb", "--preset", "smoke", "--results-dir",
                 str(tmp_path / "results")]) == 2
    captured = capsys.readouterr()
    assert ("HNET_RECURRENT_IMPL='quick': expected one of ('eager', 'fused', 'captured')"
            in captured.err)
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == ""
    assert list(tmp_path.iterdir()) == [] and not ray.is_initialized()


SECRET = "pw-never-shown-4711"


@pytest.mark.parametrize("url", [
    f"nosuchdb+driver://someone:{SECRET}@127.0.0.1:1/db",          # no such dialect
    f"postgresql+psycopg://someone:{SECRET}@127.0.0.1:1/db",        # no server there
])
def test_a_refused_storage_url_never_shows_its_password(url, tmp_path, capsys):
    assert main(["synthetic", "--storage", url, "--results-dir", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    assert "someone:***@127.0.0.1:1" in captured.err
    assert SECRET not in captured.err + captured.out


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


def test_help_describes_every_sampler_and_pruner(capsys):
    """Each description appears as written (a ``%`` in one once broke argparse's help)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for name, algorithm in {**SAMPLERS, **PRUNERS}.items():
        assert f"{name}: {' '.join(algorithm.description.split())}" in out
    assert "option_strings" not in out
