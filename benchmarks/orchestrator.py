"""Overhead of the study runner: 40 synthetic trials (5 epochs of 0.1 s each) on 2 slots.

    python benchmarks/orchestrator.py [--trials 40] [--slots 2] [--sleep 0.1] [--epochs 5]

The runner's own machinery (Optuna in SQLite/WAL, Ray tasks, per-epoch reports, Parquet rewrites
after every trial) runs for real; only the trial's work is a sleep. Prints JSON: the wall time of
the optimize loop (Ray's start-up and the first import of torch in each worker reported apart),
the ideal time ``trials x epochs x sleep /
slots``, overhead per trial ``(wall - ideal) x slots / trials`` in ms, and parallel efficiency
``ideal / wall``. Targets (issue #4): overhead < 50 ms per trial, efficiency >= 0.9.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import optuna
import ray

from studies._runner import driver as _driver
from studies._runner import ray_backend as _ray_backend
from studies._runner.progress import Progress
from studies._runner.results import ResultsWriter
from studies._runner.storage import default_storage_url, open_storage
from studies.synthetic import SPEC


def warm_up_workers(slots: int) -> None:
    """Start one Ray worker per slot and let it import torch, as the first trials would: a
    one-time cost per worker process, reported apart from the per-trial overhead."""
    tasks = [_ray_backend.submit_seed(SPEC.trial, SPEC.presets["smoke"], {"x": 0.0}, 0, 1.0, 0.0)
             for _ in range(slots)]
    for task in tasks:
        for ref in task:
            ray.get(ref)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--sleep", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sampler", default="tpe", choices=("tpe", "random"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    config = dataclasses.replace(SPEC.presets["quick"], n_trials=args.trials, epochs=args.epochs,
                                 sleep_s=args.sleep)
    with tempfile.TemporaryDirectory(prefix="hnet-bench-") as tmp:
        results = Path(tmp)
        os.environ["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
        storage = open_storage(default_storage_url(results))
        sampler = _driver.make_sampler(args.sampler, SPEC, config, seed=0)
        study = optuna.create_study(study_name="bench", storage=storage, sampler=sampler,
                                    pruner=_driver.make_pruner("none", config))
        study.set_user_attr("identity", _driver.study_identity(config, SPEC.objectives))
        results = ResultsWriter(study, list(SPEC.objectives), results_dir := results / "bench")
        began = time.perf_counter()
        _ray_backend.start_ray(None, num_cpus=args.slots)
        startup = time.perf_counter() - began
        began = time.perf_counter()
        warm_up_workers(args.slots)
        worker_startup = time.perf_counter() - began
        settings = _driver.RunSettings("bench", SPEC.objectives, results_dir, jobs=args.slots)
        try:
            with results, Progress("bench", config.n_trials, 0, SPEC.objectives[0],
                                   quiet=True) as p:
                p.trial_finished = lambda trial, best: None  # no per-trial printing
                driver = _driver.Driver(SPEC, config, settings, study, p, results,
                                        _driver.start_run(study))
                began = time.perf_counter()
                driver.run()
                wall = time.perf_counter() - began
        finally:
            _ray_backend.stop_ray()
    ideal = args.trials * args.epochs * args.sleep / args.slots
    print(json.dumps({
        "benchmark": "orchestrator", "sampler": args.sampler, "trials": args.trials,
        "slots": args.slots, "epochs": args.epochs, "sleep_per_epoch_s": args.sleep,
        "ray_startup_s": round(startup, 2), "worker_startup_s": round(worker_startup, 2),
        "wall_s": round(wall, 2), "ideal_s": round(ideal, 2),
        "overhead_per_trial_ms": round((wall - ideal) * args.slots / args.trials * 1000, 1),
        "parallel_efficiency": round(ideal / wall, 3),
        "complete": len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))),
    }, indent=2))


if __name__ == "__main__":
    main()
