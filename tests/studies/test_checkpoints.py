"""Trials that resume from their checkpoints: SIGTERM to the driver, a killed worker, a corrupt
or foreign checkpoint, a checkpoint folder that cannot be written; on the real runner (Ray,
the journal, Parquet) with the real continual-learning trainer at tiny sizes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from studies._runner.checkpoints import TrialCheckpoint
from tests.studies.conftest import REPO

#: A SplitMNIST trial of three tasks, long enough a task to stop it between two.
TRIAL = ["hypercl_splitmnist", "--preset", "smoke", "--sampler", "grid", "--pruner", "none",
         "--n-trials", "1", "--seeds", "0", "--cpus-per-trial", "1", "--set", "num_tasks=3",
         "--set", "iterations=600", "--set", "max_eval_examples=300"]
#: Metrics that describe when and how fast, not what was learned.
TIMING = ("task_time_s", "examples_per_s")


def _args(data_dir, name: str, *extra: str) -> list[str]:
    return [*TRIAL, "--data-dir", str(data_dir), "--study-name", name, *extra]


def _finals(trials: pd.DataFrame) -> pd.Series:
    row = trials[trials.state == "COMPLETE"].iloc[0]
    return row[sorted(c for c in trials.columns if c.startswith("final_")
                      and not c.endswith(TIMING))].astype(float)


def _checkpoint(runner, name: str, trial: int = 0):
    return runner.results / name / "checkpoints" / f"trial-{trial}" / "seed-0.ckpt"


def _wait_for(path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"no checkpoint {path}"
        time.sleep(0.1)


@pytest.mark.needs_data
def test_sigterm_then_the_same_command_resumes_the_trial_from_its_checkpoint(runner,
                                                                             data_dir):
    """The driver stopped after the first task: the trial is queued again with its
    checkpoint kept, and the same command resumes it after that task, to the metrics of an
    uninterrupted run (same thread count: bit for bit); the finished trial's checkpoints go."""
    straight = runner.run(*_args(data_dir, "straight"))
    assert straight.returncode == 0, straight.stderr
    driver = runner.start(*_args(data_dir, "resumed"))
    path = _checkpoint(runner, "resumed")
    _wait_for(path, driver)
    driver.send_signal(signal.SIGTERM)
    output = driver.communicate(timeout=120)[0]
    assert driver.returncode == 143, output
    assert path.exists() and TrialCheckpoint(str(path)).history()  # kept for the next run
    again = runner.run(*_args(data_dir, "resumed"))
    assert again.returncode == 0, again.stderr
    trials = runner.trials("resumed")
    done = trials[trials.state == "COMPLETE"]
    assert len(done) == 1 and 1 <= int(done.resumed_from.iloc[0]) < 3
    assert (trials[trials.state == "FAIL"].error == "stopped by SIGTERM; queued again for the "
            "next run").all()
    pd.testing.assert_series_equal(_finals(trials), _finals(runner.trials("straight")),
                                   check_names=False)
    epochs = runner.epochs("resumed")
    mine = epochs[(epochs.trial == done.trial.iloc[0]) & (epochs.metric == "final_acc")]
    assert sorted(mine.epoch) == [1, 2, 3]            # each task once in the finished trial
    assert not (runner.results / "resumed" / "checkpoints" / "trial-0").exists()


def _cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def _seed_worker_pids(ray_tmp: str) -> list[int]:
    """The SeedWorker processes of this test's Ray (every SeedWorker whose environment names
    ``ray_tmp``, the test's own Ray folder)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
            environ = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if "SeedWorker" in cmdline and ray_tmp in environ:
            found.append(int(pid))
    return found


@pytest.mark.needs_data
def test_a_killed_worker_is_tried_again_from_its_checkpoint(runner, data_dir):
    """SIGKILL to the worker running the trial after its first task: the attempt fails, is
    queued again within the failure budget, and the next attempt resumes on a new worker."""
    driver = runner.start(*_args(data_dir, "killed", "--max-failures", "1"))
    _wait_for(_checkpoint(runner, "killed"), driver)
    pids = _seed_worker_pids(runner.env["RAY_TMPDIR"])
    assert pids
    os.kill(max(pids, key=_cpu_ticks), signal.SIGKILL)   # the one training, not an idle one
    output = driver.communicate(timeout=240)[0]
    assert driver.returncode == 0, output
    trials = runner.trials("killed")
    assert list(trials.state) == ["FAIL", "COMPLETE"]
    assert int(trials.resumed_from.iloc[1]) >= 1


@pytest.mark.needs_data
def test_a_corrupt_or_foreign_checkpoint_starts_the_seed_over(runner, data_dir):
    """Bytes that are not a checkpoint, or one of another configuration: one line, the
    checkpoint removed, the seed run from its first task."""
    kept = runner.run(*_args(data_dir, "other", "--set", "lr=0.01", "--keep-checkpoints"))
    assert kept.returncode == 0, kept.stderr
    assert _checkpoint(runner, "other").exists()
    for content, says in ((b"HNETCKP1 torn", "not a checkpoint"),
                          (None, "another configuration")):
        name = "corrupt" if content else "foreign"
        path = _checkpoint(runner, name)
        path.parent.mkdir(parents=True)
        if content is None:
            shutil.copy(_checkpoint(runner, "other"), path)
        else:
            path.write_bytes(content)
        done = runner.run(*_args(data_dir, name))
        assert done.returncode == 0, done.stderr
        assert says in done.stdout + done.stderr
        trials = runner.trials(name)
        assert list(trials.state) == ["COMPLETE"] and int(trials.resumed_from.iloc[0]) == 0


@pytest.mark.parametrize("flag, says", [
    (["--checkpoint-dir", "/etc/hostname/checkpoints"], "checkpoint folder "
     "/etc/hostname/checkpoints/x is not writable"),
    (["--storage", "sqlite:////etc/hostname/dir/x.db"], "cannot create the SQLite "
     "database's folder /etc/hostname/dir: Not a directory"),
])
def test_a_path_that_cannot_be_written_is_one_line_before_ray_starts(runner, flag, says):
    began = time.monotonic()
    done = runner.run("synthetic", "--preset", "smoke", "--study-name", "x", *flag)
    assert done.returncode == 2 and done.stderr.startswith(f"error: {says}"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert time.monotonic() - began < 20   # no Ray started


def _start_node(ray_bin: str, env: dict, sid_file, *args: str) -> int:
    """``ray start --block`` in a session of its own; returns the session id."""
    subprocess.Popen(["setsid", "bash", "-c", 'echo $$ > "$0"; exec "$@" >/dev/null 2>&1',
                      str(sid_file), ray_bin, "start", "--block", "--disable-usage-stats",
                      "--node-ip-address", "127.0.0.1", *args], env=env)
    deadline = time.monotonic() + 30
    while not (sid_file.exists() and sid_file.read_text().strip()):
        assert time.monotonic() < deadline, f"ray start {args} did not start"
        time.sleep(0.1)
    return int(sid_file.read_text())


def _nodes(ray_bin: str, env: dict, address: str) -> int:
    """The cluster's active nodes, as ``ray status`` lists them."""
    done = subprocess.run([ray_bin, "status", "--address", address], env=env,
                          capture_output=True, text=True, timeout=60)
    active = done.stdout.partition("Active:")[2].partition("Pending:")[0]
    return sum(line.strip().startswith("1 node_") for line in active.splitlines())


def _wait_nodes(ray_bin: str, env: dict, address: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while _nodes(ray_bin, env, address) != count:
        assert time.monotonic() < deadline, f"the cluster did not reach {count} nodes"
        time.sleep(1)


@pytest.mark.needs_data
def test_a_lost_node_s_trial_resumes_on_another_node_from_its_checkpoint(runner, data_dir,
                                                                         tmp_path):
    """A loopback cluster of a head (1 CPU) and a node declaring the one GPU the trial asks
    for: that node is stopped mid-trial, another joins, and the trial resumes there from the
    checkpoint its first attempt left (the folder every node reaches). Until Ray notices the
    lost node, an attempt may be placed on it and fail too: the budget allows for that."""
    ray_bin = str(Path(sys.executable).parent / "ray")
    env = dict(runner.env, RAY_AUTH_MODE="token")
    subprocess.run([ray_bin, "get-auth-token", "--generate"], env=env, capture_output=True,
                   timeout=60)
    port = "46391"
    address = f"127.0.0.1:{port}"
    sessions = [_start_node(ray_bin, env, tmp_path / "head.sid", "--head", "--port", port,
                            "--num-cpus", "1", "--include-dashboard", "false")]
    try:
        _wait_nodes(ray_bin, env, address, 1)
        gpu = ("--address", address, "--num-cpus", "1", "--num-gpus", "1")
        sessions.append(_start_node(ray_bin, env, tmp_path / "node1.sid", *gpu))
        _wait_nodes(ray_bin, env, address, 2)
        command = runner.command(*_args(data_dir, "lost", "--ray-address", address,
                                        "--gpus-per-trial", "1", "--max-failures", "3",
                                        "--checkpoint-dir", str(tmp_path / "shared")))
        driver = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, start_new_session=True)
        _wait_for(tmp_path / "shared" / "lost" / "trial-0" / "seed-0.ckpt", driver)
        subprocess.run(["pkill", "-KILL", "-s", str(sessions[1])], check=False)
        sessions.append(_start_node(ray_bin, env, tmp_path / "node2.sid", *gpu))
        output = driver.communicate(timeout=300)[0]
        assert driver.returncode == 0, output
    finally:
        for sid in sessions:
            subprocess.run(["pkill", "-KILL", "-s", str(sid)], check=False)
    trials = runner.trials("lost")
    assert list(trials.state)[-1] == "COMPLETE" and set(trials.state[:-1]) == {"FAIL"}
    assert trials.node_id.iloc[0] != trials.node_id.iloc[-1]
    assert int(trials.resumed_from.iloc[-1]) >= 1
