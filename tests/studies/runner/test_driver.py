"""The driver against real Ray (in this process, 2 CPUs) and a real SQLite storage."""

from __future__ import annotations

import dataclasses
import tempfile
import time

import optuna
import pytest

from studies._runner import ray_backend
from studies._runner.driver import Driver, RunSettings
from studies._runner.machine import cpu_model
from studies._runner.progress import Progress
from studies._runner.results import ResultsWriter, trial_record
from studies._runner.storage import open_storage
from studies.synthetic import SPEC


@pytest.fixture(scope="module")
def local_ray():
    with tempfile.TemporaryDirectory(prefix="ray-", dir="/tmp") as ray_tmp:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RAY_TMPDIR", ray_tmp)
            patch.delenv("RAY_ADDRESS", raising=False)
            ray_backend.start_ray(None, num_cpus=2)
            try:
                yield
            finally:
                ray_backend.stop_ray()


def _torch_threads(config, params: dict, seed: int):
    import torch

    yield {"epoch": 1, "threads": torch.get_num_threads()}


@pytest.mark.parametrize("order", [(2.0, 1.0), (1.0, 2.0)])
def test_torch_in_a_task_uses_the_task_cpus(local_ray, order):
    """Whether or not the worker imported torch before, the trial's torch has as many
    threads as its seed has CPUs."""
    for cpus in order:
        workers = ray_backend.SeedWorkers(cpus, 0.0, slots=1, seeds=1)
        run = workers.submit(_torch_threads, None, {}, [0])[0]
        placement, metrics, end = run.next(), run.next(), run.next()
        workers.release([run])
        workers.close()
        assert placement["device"] == "cpu" and end is None
        assert placement["cpu_model"] == cpu_model()  # the node's CPU, for the results
        assert metrics["threads"] == placement["threads"] == int(cpus)


def _epochs_of_a_tenth_second(config, params: dict, seed: int):
    for epoch in range(1, int(params["epochs"]) + 1):
        time.sleep(0.1)
        yield {"epoch": epoch, "seed": seed}


def test_a_stopped_seed_frees_its_worker_within_an_epoch(local_ray):
    """A pruned trial's seed stops at its next epoch: the next trial on its worker starts then,
    not after the 5 s the seed had left."""
    workers = ray_backend.SeedWorkers(1.0, 0.0, slots=1, seeds=1)
    run = workers.submit(_epochs_of_a_tenth_second, None, {"epochs": 50}, [0])[0]
    assert run.next()["threads"] == 1 and run.next()["epoch"] == 1
    workers.release([run])
    began = time.perf_counter()
    following = workers.submit(_epochs_of_a_tenth_second, None, {"epochs": 1}, [0])[0]
    assert following.worker is run.worker
    assert following.next() is not None and following.next()["epoch"] == 1
    assert time.perf_counter() - began < 2.0
    workers.release([following])
    workers.close()


def _run_driver(spec, config, tmp_path, name: str, jobs: int, sampler=None):
    """``config`` run by a Driver on a new SQLite study; the study, the driver, its exit code."""
    study = optuna.create_study(study_name=name, sampler=sampler,
                                storage=open_storage(f"sqlite:///{tmp_path / 'o.db'}"))
    settings = RunSettings(name, spec.objectives, tmp_path / name, jobs=jobs)
    with ResultsWriter(study, list(spec.objectives), settings.results_dir) as results, \
            Progress(name, config.n_trials, 0, spec.objectives[0], quiet=True) as progress:
        driver = Driver(spec, config, settings, study, progress, results, "run0")
        code = driver.run()
    return study, driver, code


def test_more_seeds_than_fit_run_in_turn(local_ray, tmp_path):
    """Three seeds of 1 CPU on a 2-CPU Ray: two at once, the third after on one of their
    workers; every trial completes with all three."""
    config = dataclasses.replace(SPEC.presets["smoke"], n_trials=3, seeds=(1, 2, 3),
                                 cpus_per_trial=1.0, sleep_s=0.0)
    study, driver, code = _run_driver(SPEC, config, tmp_path, "seeds", jobs=1)
    assert driver.workers.per_trial == 2
    assert code == 0
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert all(set(trial_record(t)["final_metrics"]) == {"1", "2", "3"} for t in study.trials)


def _search_space_that_fails_at_run_time(trial: optuna.Trial, config) -> dict:
    x = trial.suggest_float("x", -1.0, 1.0)
    if trial.number >= 1:  # passes the plan's sample (trial 0 of an in-memory study)
        raise KeyError("no such parameter")
    return {"x": x}


def test_a_failing_search_space_is_a_counted_failure(local_ray, tmp_path):
    """What fails between ``ask`` and the seeds' start is a FAIL trial, and the budget stops it."""
    spec = dataclasses.replace(SPEC, search_space=_search_space_that_fails_at_run_time)
    config = dataclasses.replace(spec.presets["smoke"], n_trials=50, max_failures=2,
                                 sleep_s=0.0)
    jobs = 2
    study, _, code = _run_driver(spec, config, tmp_path, "fails", jobs)
    assert code == 1
    states = [t.state for t in study.trials]
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    # the budget of 2 is passed at the third failure; trials already asked may fail too
    assert 3 <= len(failed) <= 3 + jobs
    assert len(states) <= 1 + len(failed)
    assert all(trial_record(t)["error"] == "KeyError: 'no such parameter'" for t in failed)
    assert all(t.user_attrs["error"] == "KeyError: 'no such parameter'" for t in failed)
    assert all(t.user_attrs["result"].endswith("error: KeyError: 'no such parameter'")
               for t in failed)


def test_a_grid_runs_each_point_once_with_more_threads_than_points(local_ray, tmp_path):
    """Optuna's grid sampler repeats points once all are taken; the driver asks for no more."""
    config = dataclasses.replace(SPEC.presets["smoke"], n_trials=10, sleep_s=0.05,
                                 grid_x=(-0.5, 0.0, 0.5))
    sampler = optuna.samplers.GridSampler(SPEC.grid(config), seed=0)
    study, _, code = _run_driver(SPEC, config, tmp_path, "grid", jobs=4, sampler=sampler)
    assert code == 0
    assert sorted(t.params["x"] for t in study.trials) == [-0.5, 0.0, 0.5]
