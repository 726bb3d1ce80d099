"""Capacity of the study driver: synthetic trials on 2, 16 and 64 slots of a local Ray.

    python benchmarks/orchestrator.py                          # the curve (about 10 min)
    python benchmarks/orchestrator.py --runs 16:1000 --storage sqlite
    python benchmarks/orchestrator.py --runs 64:1000 --sleep 0.4    # 2-s trials

Each run is ``slots:trials`` of the built-in ``synthetic`` study (random sampler, ``--epochs``
epochs of ``--sleep`` seconds, so 0.5-s trials by default) with ``--cpus / slots`` CPUs per
trial on a local Ray of ``--cpus`` CPUs. Everything but the trial's work is real: the storage
(a journal file by default), the driver's pool of Ray actors (a worker per slot), a report and
prune check per epoch, the trial's record, Parquet written as trials finish. Ray's start and
the workers' start are timed apart. Per run: wall time, ideal time ``trials x epochs x sleep /
slots``, efficiency ``ideal / wall`` and finished trials per second. Prints JSON with
``slots<N>`` entries (the last run of each slot count), ``slots16.efficiency`` and
``capacity_trials_per_s`` (the highest finishing rate of any run: the driver's capacity when
that run was driver-bound). Targets (issue #12): ``slots16.efficiency >= 0.9`` and
``capacity_trials_per_s >= 50``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import optuna

from studies._runner import driver as _driver
from studies._runner import ray_backend as _ray_backend
from studies._runner.journal import journal_url
from studies._runner.progress import Progress
from studies._runner.results import ResultsWriter
from studies._runner.storage import fail_stale_trials, open_storage
from studies.synthetic import SPEC


def _storage_url(kind: str, folder: Path) -> str:
    """``journal`` or ``sqlite`` in the run's folder, else ``kind`` is a database URL."""
    if kind == "journal":
        return journal_url(folder / "optuna.journal")
    if kind == "sqlite":
        return f"sqlite:///{folder / 'optuna.db'}"
    return kind


def measure(slots: int, trials: int, storage: str, sleep: float, epochs: int,
            cpus: int) -> dict:
    """One run of ``trials`` synthetic trials on ``slots`` slots; see the module docstring."""
    config = dataclasses.replace(SPEC.presets["quick"], n_trials=trials, epochs=epochs,
                                 sleep_s=sleep, cpus_per_trial=cpus / slots)
    with tempfile.TemporaryDirectory(prefix="hnet-bench-") as tmp:
        folder = Path(tmp)
        os.environ["RAY_TMPDIR"] = str(folder / "ray")
        began = time.perf_counter()
        _ray_backend.start_ray(None, num_cpus=cpus)
        ray_start = time.perf_counter() - began
        try:
            study = optuna.create_study(
                study_name=f"bench-{uuid.uuid4().hex[:8]}",
                storage=open_storage(_storage_url(storage, folder)),
                sampler=optuna.samplers.RandomSampler(seed=0),
                pruner=optuna.pruners.NopPruner())
            fail_stale_trials(study)
            settings = _driver.RunSettings("bench", SPEC.objectives, folder / "bench", slots)
            with ResultsWriter(study, list(SPEC.objectives), settings.results_dir) as results, \
                    Progress("bench", trials, 0, SPEC.objectives[0], quiet=True) as progress:
                progress.trial_finished = lambda trial, best: None  # no per-trial lines
                driver = _driver.Driver(SPEC, config, settings, study, progress, results,
                                        _driver.start_run(study))
                began = time.perf_counter()
                driver.workers.start(slots)
                workers_start = time.perf_counter() - began
                began = time.perf_counter()
                driver.run()
                wall = time.perf_counter() - began
            complete = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
            failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
        finally:
            _ray_backend.stop_ray()
    ideal = trials * epochs * sleep / slots
    return {"slots": slots, "trials": trials, "storage": storage.split("://")[0],
            "complete": complete,
            "failed": len(failed), "first_error": failed[0].user_attrs.get("error") if failed
            else None,
            "ray_start_s": round(ray_start, 2), "workers_start_s": round(workers_start, 2),
            "wall_s": round(wall, 2), "ideal_s": round(ideal, 2),
            "efficiency": round(ideal / wall, 3), "trials_per_s": round(trials / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default="2:1000,16:1000,64:1000,64:10000",
                        help="slots:trials, comma-separated")
    parser.add_argument("--storage", default="journal",
                        help="journal, sqlite (a file in a temporary folder) or a database URL")
    parser.add_argument("--sleep", type=float, default=0.1, help="seconds per epoch")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    runs = []
    for item in args.runs.split(","):
        slots, trials = (int(part) for part in item.split(":"))
        runs.append(measure(slots, trials, args.storage, args.sleep, args.epochs, args.cpus))
        print(json.dumps(runs[-1]), flush=True)
    summary = {"benchmark": "orchestrator", "storage": args.storage.split("://")[0],
               "trial_s": args.sleep * args.epochs, "cpus": args.cpus, "runs": runs,
               **{f"slots{r['slots']}": r for r in runs},
               "capacity_trials_per_s": max(r["trials_per_s"] for r in runs)}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
