"""Against real servers that `.ci/run` starts: PostgreSQL storage, a two-node Ray cluster.

Skipped when the servers are not there, unless HNET_REQUIRE_SERVERS=1 (CI sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import optuna
import pytest

from tests.studies.test_runner_e2e import kill_and_resume

SMOKE = ("synthetic", "--preset", "smoke")


def _server(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        message = f"{variable} is not set (.ci/run starts the server and sets it)"
        if os.environ.get("HNET_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return value


def test_study_on_postgresql(runner):
    url = _server("HNET_TEST_POSTGRES_URL")
    name = f"pg-{uuid.uuid4().hex[:8]}"
    done = runner.run(*SMOKE, "--storage", url, "--study-name", name)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials(name)
    study = optuna.load_study(study_name=name, storage=url)
    assert {t.number: t.state.name for t in study.trials} == dict(
        zip(trials.trial, trials.state, strict=True))
    assert (trials.state == "COMPLETE").sum() == 4
    assert not (runner.results / "optuna.db").exists()
    assert not (runner.results / "optuna.journal").exists()


def test_killed_driver_resumes_on_postgresql(runner):
    kill_and_resume(runner, "--storage", _server("HNET_TEST_POSTGRES_URL"),
                    name=f"pg-kill-{uuid.uuid4().hex[:8]}")


def test_study_on_a_two_node_ray_cluster(runner):
    address = _server("HNET_TEST_RAY_ADDRESS")
    nodes = subprocess.run(
        [sys.executable, "-c", f"import ray; ray.init(address={address!r}, log_to_driver=False)"
         "; print(sum(n['Alive'] for n in ray.nodes()))"],
        capture_output=True, text=True, timeout=120)
    assert nodes.stdout.strip().splitlines()[-1] == "2", nodes.stderr
    command = runner.command(*SMOKE, "--ray-address", address, "--jobs", "2",
                             "--set", "sleep_s=0.3", "--n-trials", "6")
    done = subprocess.run(command, env=runner.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("synthetic-smoke")
    assert (trials.state == "COMPLETE").sum() == 6
    assert trials.node_id.nunique() == 2  # both nodes ran trials
