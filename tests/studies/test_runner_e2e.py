"""The runner end to end: real Ray (2 CPUs), real storages (the default journal file, SQLite in
WAL mode), real Parquet files."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest

from tests.studies.gpu_packing import check_packed

SMOKE = ("synthetic", "--preset", "smoke")


def _storage_states(runner, study_name: str, url: str | None = None) -> dict[int, str]:
    return {t.number: t.state.name for t in runner.load_study(study_name, url).trials}


def test_smoke_study_end_to_end(runner):
    done = runner.run(*SMOKE, "--seeds", "1,2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # the runner's lines only: no start-up notice of Ray's
    trials = runner.trials("synthetic-smoke")
    assert (trials.drop_duplicates("trial").state == "COMPLETE").sum() == 4
    assert sorted(trials.seed.unique()) == [1, 2] and len(trials) == 8
    assert {"param_x", "value_valid_loss", "trainable_params", "final_valid_loss", "git_commit",
            "git_dirty",
            "version_torch", "wall_time_s", "device", "cpu_model"} <= set(trials.columns)
    assert trials.cpu_model.str.endswith(f", {os.cpu_count()} cores").all()
    epochs = runner.epochs("synthetic-smoke")
    assert len(epochs) == 4 * 2 * 3 * 3  # trials x seeds x epochs x metrics
    assert set(epochs.split) == {"train", "valid", ""}
    states = _storage_states(runner, "synthetic-smoke")
    assert states == dict(zip(trials.trial, trials.state, strict=False))
    stored = runner.load_study("synthetic-smoke")
    assert stored.metric_names == ["valid_loss"]  # optuna-dashboard labels the axis with it
    assert (runner.results / "synthetic-smoke" / "trials.parquet").is_dir()  # a table's parts
    # the mean over seeds is the objective
    first = trials[trials.trial == trials.trial.min()]
    assert first.value_valid_loss.iloc[0] == first.final_valid_loss.mean()


def test_failures_become_fail_rows_and_the_study_finishes(runner):
    done = runner.run(*SMOKE, "--sampler", "grid", "--n-trials", "6", "--max-failures", "5",
                      "--set", "grid_x=-0.9,-0.5,0.0,0.5,0.8,0.9", "--set", "raise_x_above=0.7",
                      "--set", "kill_x_above=0.85", "--set", "nan_x_below=-0.7")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("synthetic-smoke").set_index("param_x")
    assert (trials.state == "COMPLETE").sum() == 3
    assert trials.loc[0.8, "state"] == "FAIL"
    assert trials.loc[0.8, "error"] == "RuntimeError: synthetic failure at x=0.8"
    assert trials.loc[-0.9, "error"] == "objective valid_loss is nan"
    # its worker died: queued again twice (--trial-retries 2), then left failed
    assert trials.loc[[0.9], "error"].str.startswith("ActorDiedError").tolist() == [True] * 3
    # the terminal: one quiet line per trial (the FAIL ones with their error), nothing of Ray's
    shown = done.stdout + done.stderr
    assert "(raylet)" not in shown and "Token authentication" not in shown
    lines = [line for line in shown.splitlines() if line.startswith("[synthetic-smoke] trial")]
    assert len(lines) == 8 and sum(" FAIL " in line and " error: " in line for line in lines) == 5


def test_failure_budget_stops_the_study(runner):
    done = runner.run(*SMOKE, "--max-failures", "0", "--set", "raise_x_above=-2")
    assert done.returncode == 1
    assert "more than --max-failures 0" in done.stderr
    trials = runner.trials("synthetic-smoke")
    assert (trials.state == "FAIL").sum() >= 1 and (trials.state == "COMPLETE").sum() == 0


def test_pruner_prunes(runner):
    done = runner.run(*SMOKE, "--sampler", "random", "--pruner", "median", "--jobs", "1",
                      "--n-trials", "10", "--set", "epochs=4", "--set", "sleep_s=0")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("synthetic-smoke")
    assert (trials.state == "PRUNED").sum() >= 1
    assert ((trials.state == "PRUNED") | (trials.state == "COMPLETE")).sum() == 10


def test_multi_objective_uses_nsga2_and_records_both(runner):
    done = runner.run(*SMOKE, "--objectives", "valid_loss,params")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Pareto front" in done.stdout
    trials = runner.trials("synthetic-smoke")
    assert trials[["value_valid_loss", "value_params"]].notna().all().all()


def test_samplers_and_pruners_by_name_with_a_sampler_seed(runner):
    done = runner.run(*SMOKE, "--sampler", "qmc", "--pruner", "percentile", "--sampler-seed",
                      "3", "--n-trials", "5", "--set", "epochs=4", "--jobs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("synthetic-smoke")
    assert trials.state.isin(["COMPLETE", "PRUNED"]).sum() == 5
    bad = runner.run(*SMOKE, "--sampler", "cmaes", "--objectives", "valid_loss,params")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --sampler cmaes handles one objective; this study has 2"


def test_sqlite_storage_runs_in_wal_mode(runner):
    done = runner.run(*SMOKE, "--storage", runner.sqlite_url)
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(runner.results / "optuna.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not (runner.results / "optuna.journal").exists()
    assert _storage_states(runner, "synthetic-smoke", runner.sqlite_url) == dict.fromkeys(
        range(4), "COMPLETE")


def _wait_for_complete_trials(runner, name: str, count: int) -> None:
    parquet = runner.results / name / "trials.parquet"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        table = runner.trials(name) if parquet.exists() else None
        if table is not None and "state" in table and (table.state == "COMPLETE").sum() >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} trials of {name} completed within 120 s")


@pytest.mark.parametrize("signum,code,sends", [(signal.SIGTERM, 143, 1), (signal.SIGINT, 130, 1),
                                               (signal.SIGTERM, 143, 2)])
def test_sigterm_stops_running_trials_and_the_next_run_takes_them(runner, signum, code, sends):
    """What a cluster scheduler sends before it preempts (SIGTERM), or Ctrl-C: one line, exit
    128 + signal, the running trials queued again; the next run loses and repeats nothing. The
    same signal twice at once (SLURM signals the driver and the job script forwards it) is one
    stop."""
    args = (*SMOKE, "--n-trials", "8", "--set", "epochs=20", "--set", "sleep_s=0.2")
    driver = runner.start(*args)
    _wait_for_complete_trials(runner, "synthetic-smoke", 2)
    time.sleep(1.0)  # the next trials are mid-way
    began = time.monotonic()
    for _ in range(sends):
        driver.send_signal(signum)
    output, _ = driver.communicate(timeout=60)
    assert time.monotonic() - began < 20  # running trials were stopped, not waited for
    assert driver.returncode == code, output
    name = signal.Signals(signum).name
    assert output.splitlines()[-1].startswith(f"synthetic-smoke: stopped by {name}; ")
    assert "SIGTERM received" not in output and "Traceback" not in output
    assert "trial(s) queued again" in output.splitlines()[-1]
    before = runner.trials("synthetic-smoke")
    interrupted = before[before.state == "FAIL"]
    assert len(interrupted) >= 1 and (
        interrupted.error == f"stopped by {name}; queued again for the next run").all()
    done = runner.run(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    after = runner.trials("synthetic-smoke")
    assert after.trial.is_unique and (after.state == "COMPLETE").sum() == 8
    finished_before = before[before.state == "COMPLETE"].set_index("trial")
    assert (after.set_index("trial").loc[finished_before.index, "value_valid_loss"]
            == finished_before.value_valid_loss).all()
    retried = after[after.state == "COMPLETE"].param_x
    assert set(interrupted.param_x) <= set(retried)  # each stopped trial ran again, once
    assert _storage_states(runner, "synthetic-smoke") == dict(
        zip(after.trial, after.state, strict=True))


def kill_and_resume(runner, *storage: str, name: str = "synthetic-smoke") -> None:
    """SIGKILL a driver (and its Ray) once some trials are done, run the same command again,
    and check that no finished trial was lost or duplicated; ``storage``: the flag, if any."""
    args = (*SMOKE, "--n-trials", "8", "--set", "epochs=5", "--set", "sleep_s=0.3",
            "--study-name", name, *storage)
    driver = runner.start(*args)
    parquet = runner.results / name / "trials.parquet"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        table = runner.trials(name) if parquet.exists() else None
        if table is not None and "state" in table and (table.state == "COMPLETE").sum() >= 2:
            break
        time.sleep(0.2)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    os.killpg(driver.pid, signal.SIGKILL)  # Ray's own processes of that session
    before = runner.trials(name)
    done = runner.run(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    after = runner.trials(name)
    assert after.trial.is_unique
    assert ((after.state == "COMPLETE") | (after.state == "PRUNED")).sum() == 8
    finished_before = before[before.state == "COMPLETE"].set_index("trial")
    assert (after.set_index("trial").loc[finished_before.index, "value_valid_loss"]
            == finished_before.value_valid_loss).all()
    url = storage[1] if storage else None
    assert _storage_states(runner, name, url) == dict(
        zip(after.trial, after.state, strict=True))


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_killed_driver_resumes_without_losing_or_duplicating(runner, storage):
    kill_and_resume(runner, *(["--storage", runner.sqlite_url] if storage == "sqlite" else []))


def test_quarter_gpus_run_four_trials_at_once_on_a_declared_gpu(runner):
    """A local Ray that declares one GPU it does not have (``--ray-gpus 1``): trials of 0.25 GPU
    (and 0.5 CPU) run four at once, each told CUDA_VISIBLE_DEVICES=0; no CUDA is loaded."""
    done = runner.run(*SMOKE, "--ray-gpus", "1", "--gpus-per-trial", "0.25",
                      "--cpus-per-trial", "0.5", "--n-trials", "8", "--set", "epochs=4",
                      "--set", "sleep_s=0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    check_packed(runner.trials("synthetic-smoke"), trials_run=8, at_once=4)


def test_more_resources_than_the_cluster_has_is_bad_input(runner):
    done = runner.run(*SMOKE, "--gpus-per-trial", "1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: a trial needs 1 CPUs and 1 GPUs; the Ray cluster has 2 and 0"]  # nothing of Ray
    assert done.stdout == "" and not runner.results.exists()


def test_a_char_lm_study_compiles_its_steps_and_records_the_path(runner, data_dir):
    """With ``impl="auto"`` left to itself (the variable the other tests set removed), a
    HyperLSTM trial compiles its steps in the Ray worker and trials.parquet says so."""
    runner.env.pop("HNET_RECURRENT_IMPL", None)
    done = runner.run("hyperlstm_ptb", "--preset", "smoke", "--n-trials", "1",
                      "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    trials = runner.trials("hyperlstm_ptb-smoke")
    assert trials.state.tolist() == ["COMPLETE"]
    assert trials.final_rnn_impl.tolist() == ["fused"]
    assert "rnn_impl" not in set(runner.epochs("hyperlstm_ptb-smoke").metric)
