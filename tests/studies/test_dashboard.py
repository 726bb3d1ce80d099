"""``python -m studies.dashboard`` serves optuna-dashboard for a real study storage."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request

import optuna

from studies.dashboard import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _dashboard(url: str):
    """``python -m studies.dashboard`` on a free port; yields a GET returning parsed JSON."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "studies.dashboard", "--storage", url,
                               "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)

    def get(path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as reply:
            return json.load(reply)

    get.origin = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]  (for a browser)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/api/studies")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.3)
        yield get
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serves_the_studies_of_a_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="demo", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with _dashboard(url) as get:
        assert [s["study_name"] for s in get("/api/studies")["study_summaries"]] == ["demo"]


def test_a_smoke_study_reads_at_a_glance(runner):
    """Objectives by name; each trial's result line, parameter count and error, and no
    per-epoch JSON among the attributes a person sees."""
    done = runner.run("synthetic", "--preset", "smoke", "--sampler", "grid", "--n-trials", "5",
                      "--set", "raise_x_above=0.6")  # the grid's x = 0.9 fails
    assert done.returncode == 0, done.stderr
    with _dashboard(runner.journal_url) as get:
        (summary,) = get("/api/studies")["study_summaries"]
        study = get(f"/api/studies/{summary['study_id']}")
    assert study["objective_names"] == ["valid_loss"]
    assert sorted(t["state"] for t in study["trials"]) == ["Complete"] * 4 + ["Fail"]
    for trial in study["trials"]:
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert "record" not in attrs and len(attrs["result"]) < 200
        assert "valid_loss" in attrs["result"] and "params" in attrs["result"]
        assert int(attrs["trainable_params"]) > 0
        if trial["state"] == "Fail":
            assert attrs["error"].startswith("RuntimeError: synthetic failure")


def test_missing_storage_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run a study first" in err[0]
