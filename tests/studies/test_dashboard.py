"""``python -m studies.dashboard`` serves optuna-dashboard for a real study storage."""

from __future__ import annotations

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


def test_serves_the_studies_of_a_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="demo", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "studies.dashboard", "--storage", url,
                               "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies") as reply:
                    studies = json.load(reply)["study_summaries"]
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.3)
        assert [s["study_name"] for s in studies] == ["demo"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_missing_storage_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run a study first" in err[0]
