"""``examples/slurm/study.sbatch`` against a real SLURM: the single-node cluster `.ci/run` starts
(Debian's slurm-wlm, munged, slurmctld, slurmd; ``$SLURM_CONF``).

Skipped without it, unless HNET_REQUIRE_SERVERS=1 (CI sets it).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.studies.conftest import REPO

TEMPLATE = REPO / "examples" / "slurm" / "study.sbatch"


@pytest.fixture
def slurm() -> None:
    if os.environ.get("HNET_TEST_SLURM") != "1":
        message = "HNET_TEST_SLURM is not set (.ci/run starts SLURM and sets it)"
        if os.environ.get("HNET_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _submit(shared: Path, study_args: str, *sbatch: str) -> subprocess.CompletedProcess:
    """The template on this machine's one node with its CPUs, the synthetic smoke study."""
    env = dict(os.environ, STUDY="synthetic", PRESET="smoke", SHARED=str(shared),
               STUDY_ARGS=study_args, VENV=str(REPO / ".venv"))
    env.pop("RAY_ADDRESS", None)
    cpus = f"--cpus-per-task={os.cpu_count()}"
    return subprocess.run(["sbatch", "--parsable", "--nodes=1", cpus,
                           f"--output={shared}/job-%j.out", "--export=ALL", *sbatch,
                           str(TEMPLATE)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def _ray_of_job(job: str) -> list[str]:
    """Processes of the job's Ray (its temp folder is in their command lines)."""
    found = subprocess.run(["pgrep", "-af", f"ray-hnet-{job}"], capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


def _job_state(job: str) -> tuple[str, int]:
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True,
                           timeout=30).stdout
    state = re.search(r"JobState=(\w+)", shown)
    restarts = re.search(r"Restarts=(\d+)", shown)
    return (state.group(1) if state else "GONE", int(restarts.group(1)) if restarts else 0)


def test_a_study_runs_in_one_sbatch_and_ray_is_stopped(slurm, tmp_path):
    done = _submit(tmp_path, "--n-trials 6", "--wait")
    job = done.stdout.strip().split(";")[0]
    log = (tmp_path / f"job-{job}.out").read_text()
    assert done.returncode == 0, done.stderr + log
    assert "the driver exited with 0" in log and "Traceback" not in log
    trials = pd.read_parquet(tmp_path / "results" / "synthetic-smoke" / "trials.parquet")
    assert (trials.state == "COMPLETE").sum() == 6 and trials.trial.is_unique
    assert _ray_of_job(job) == [] and not Path(f"/tmp/ray-hnet-{job}").exists()


def _complete_trials(shared: Path) -> int:
    folder = shared / "results" / "synthetic-smoke" / "trials.parquet"
    if not folder.exists():
        return 0
    try:
        trials = pd.read_parquet(folder)
    except (OSError, ValueError):  # a part being renamed into place
        return 0
    return int((trials.state == "COMPLETE").sum()) if "state" in trials else 0


def _stop_once_then_finish(shared: Path, *stop: str) -> str:
    """Submit an 8-trial study, run ``stop`` with the job's id once 2 trials are done, and
    check the job ran twice and its second run finished the study, each trial once; the job's
    log."""
    submitted = _submit(shared, "--n-trials 8 --set epochs=10 --set sleep_s=0.4")
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip().split(";")[0]
    deadline = time.monotonic() + 240
    while _complete_trials(shared) < 2:
        assert time.monotonic() < deadline, "fewer than 2 trials completed within 240 s"
        time.sleep(0.5)
    stopped_job = subprocess.run([*stop, job], capture_output=True, text=True)
    assert stopped_job.returncode == 0, stopped_job.stderr
    deadline = time.monotonic() + 480
    while _job_state(job) != ("COMPLETED", 1):
        assert time.monotonic() < deadline, f"job {job}: {_job_state(job)} after 480 s"
        time.sleep(2)
    log = (shared / f"job-{job}.out").read_text()
    assert "(restart 1)" in log and "Traceback" not in log, log
    trials = pd.read_parquet(shared / "results" / "synthetic-smoke" / "trials.parquet")
    assert trials.trial.is_unique and (trials.state == "COMPLETE").sum() == 8, log
    stopped = trials[trials.state == "FAIL"]
    assert len(stopped) >= 1, log  # the trials running when the job was stopped
    assert (stopped.error == "stopped by SIGTERM; queued again for the next run").all(), (
        stopped.error.tolist(), log)
    assert set(stopped.param_x) <= set(trials[trials.state == "COMPLETE"].param_x)
    assert _ray_of_job(job) == []
    return log


def test_a_requeued_job_continues_the_study_and_runs_each_trial_once(slurm, tmp_path):
    _stop_once_then_finish(tmp_path, "scontrol", "requeue")


def test_the_time_limit_warning_requeues_the_job_which_finishes_the_study(slurm, tmp_path):
    """``--signal=B:USR1@180``: SLURM's warning before the time limit, sent here at once with
    ``scancel --signal=USR1 --batch`` (to the job's script, as ``B:`` does); the script stops
    the driver cleanly and requeues the job itself, and the next run finishes the study."""
    log = _stop_once_then_finish(tmp_path, "scancel", "--signal=USR1", "--batch")
    assert "the driver exited with 143" in log, log  # the first run, stopped by the warning
