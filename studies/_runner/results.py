"""Parquet results, written from the Optuna storage so both always agree.

Under ``<results>/<study name>/``:

- ``trials.parquet``: one row per finished trial and seed: study, trial, state, ``param_*``,
  seed, trainable-parameter count, ``value_*`` (the trial's objective values), ``final_*`` (that
  seed's last-epoch metrics; a metric whose value is a string describes the run, e.g.
  ``final_rnn_impl``, the recurrent path that ran, and is kept out of the epochs table), error,
  wall time, device, CPU model (``cpu_model``: ``AMD EPYC,
  2 cores``) and Ray node of the seed's task, the epoch its checkpoint resumed it after
  (``resumed_from``: 0 for a fresh start), when it started and ended (``started_at``,
  ``ended_at``: the driver's clock, UTC), git commit (and ``git_dirty``: tracked files differed
  from it) and package versions.
- ``epochs.parquet``: long format, one row per (trial, seed, epoch, metric): study, trial, seed,
  epoch, split (train/valid/test, or empty), metric, value.
- ``acc_matrix.parquet`` (continual-learning studies, whose epochs report ``acc_task_<j>``):
  study, trial, seed, trained_through (the last task learned, 0-based), eval_task, accuracy;
  one row per entry of each trial's accuracy matrix.

Every file's Parquet metadata carries ``hnet_studies.schema_version`` and
``hnet_studies.study``: JSON of what the report needs to know of the study without importing
it (study and stored name, preset, model family, the parameter naming a model variant, the
objectives and every metric's direction, sampler, epochs, seeds, storage URL sans password).

A trial's per-epoch metrics live in its ``hnet_studies:record`` system attribute (kept out of
the dashboard's view; storages written before it have a ``record`` user attribute) and each
run's provenance in a ``run_<id>`` attribute of the study, so the tables are a function of the
storage: each table is a folder, compacted from the storage when a run starts and ends, with
one part file per trial finished in between (:mod:`studies._runner.parquet_tables`), and a
finished trial is neither lost nor duplicated when a driver dies. ``pd.read_parquet(folder)``
reads a table whole.
"""

from __future__ import annotations

import datetime
import functools
import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

import optuna

from studies._runner.parquet_tables import PartitionedTable

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)
SPLITS = ("train", "valid", "test")
#: Written into every table's Parquet metadata under SCHEMA_KEY; ``analysis`` checks it.
SCHEMA_VERSION = "4"
SCHEMA_KEY = b"hnet_studies.schema_version"
STUDY_KEY = b"hnet_studies.study"
ACC_PREFIX = "acc_task_"
RECORD_KEY = "hnet_studies:record"
#: A part holds the trials finished within this many seconds of the first of them: at dozens
#: of trials a second, one part per trial would cost the driver more than the trials' records.
BATCH_WINDOW_S = 0.5
BATCH_MAX_TRIALS = 1024
EPOCH_COLUMNS = ["study", "trial", "seed", "epoch", "split", "metric", "value"]
ACC_COLUMNS = ["study", "trial", "seed", "scenario", "trained_through", "eval_task",
               "accuracy"]


def _split_metric(name: str) -> tuple[str, str]:
    split, _, metric = name.partition("_")
    return (split, metric) if split in SPLITS and metric else ("", name)


def trial_record(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """What the driver recorded of a trial: run id, seeds, per-epoch metrics, final metrics
    per seed, task placement, error, wall time."""
    return trial.system_attrs.get(RECORD_KEY) or trial.user_attrs.get("record", {})


def _when(seconds: float | None) -> datetime.datetime | None:
    """A driver-clock time (seconds since the epoch) as a UTC datetime."""
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def trial_rows(study_name: str, trial: optuna.trial.FrozenTrial, objectives: list[str],
               runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The trials-table rows of one finished trial, one per seed it ran.

    ``runs`` maps a run id to that run's provenance (git commit, package versions).
    """
    record = trial_record(trial)
    provenance = runs.get(record.get("run", ""), {})
    base: dict[str, Any] = {"study": study_name, "trial": trial.number, "state": trial.state.name}
    base.update({f"param_{k}": v for k, v in trial.params.items()})
    values = trial.values or [None] * len(objectives)
    base.update({f"value_{name}": v for name, v in zip(objectives, values, strict=True)})
    error = record.get("error")
    if error is None and trial.state == optuna.trial.TrialState.FAIL:
        error = "no error from its task: its driver stopped or was interrupted (re-queued)"
    base.update({"error": error, "wall_time_s": record.get("wall_time_s"),
                 "git_commit": provenance.get("git_commit"),
                 "git_dirty": provenance.get("git_dirty")})
    base.update({f"version_{k}": v for k, v in provenance.get("versions", {}).items()})
    finals = record.get("final_metrics", {})
    rows = []
    for seed in record.get("seeds", [None]):
        final = finals.get(str(seed), {})
        task = record.get("tasks", {}).get(str(seed), {})
        row = dict(base, seed=seed, trainable_params=final.get("params"),
                   device=task.get("device"), cpu_model=task.get("cpu_model"),
                   node_id=task.get("node_id"), resumed_from=task.get("resumed_from"),
                   started_at=_when(task.get("started_at")), ended_at=_when(task.get("ended_at")))
        row.update({f"final_{k}": v for k, v in final.items() if k not in ("epoch", "params")})
        rows.append(row)
    return rows


def epoch_rows(study_name: str, trial: optuna.trial.FrozenTrial) -> list[dict[str, Any]]:
    """The epochs-table rows of one trial, long format."""
    rows = []
    for record in trial_record(trial).get("epochs", []):
        for name, value in record.items():
            if name in ("seed", "epoch") or name.startswith(ACC_PREFIX) or isinstance(value, str):
                continue  # a string describes the run (e.g. rnn_impl): trials.parquet has it
            split, metric = _split_metric(name)
            rows.append({"study": study_name, "trial": trial.number, "seed": record["seed"],
                         "epoch": record["epoch"], "split": split, "metric": metric,
                         "value": float(value)})
    return rows


def acc_matrix_rows(study_name: str, trial: optuna.trial.FrozenTrial) -> list[dict[str, Any]]:
    """The accuracy-matrix rows of one trial: epoch ``e`` reports the accuracies after learning
    task ``e - 1``, in the continual-learning scenario the epoch names (1: task given, the
    default of trials that name none)."""
    rows = []
    for record in trial_record(trial).get("epochs", []):
        for name, value in record.items():
            if name.startswith(ACC_PREFIX):
                rows.append({"study": study_name, "trial": trial.number, "seed": record["seed"],
                             "scenario": int(record.get("scenario", 1)),
                             "trained_through": int(record["epoch"]) - 1,
                             "eval_task": int(name.removeprefix(ACC_PREFIX)),
                             "accuracy": float(value)})
    return rows


class ResultsWriter:
    """Keeps the rows of every finished trial and writes each finished trial's rows as it comes.

    Built from the storage when a run starts (every table compacted from it, so a dead
    driver's finished trials are written and nothing is duplicated), then fed each trial as it
    finishes: its rows go to part files on a thread of their own, off the trials' path, at a
    cost that does not grow with the study (:mod:`studies._runner.parquet_tables`).
    :meth:`close` writes what is queued and compacts every table.
    """

    def __init__(self, study: optuna.Study, objectives: list[str], folder: Path,
                 study_info: dict[str, Any] | None = None) -> None:
        self.study_name, self.objectives, self.folder = study.study_name, objectives, folder
        self.study_info = {"stored_name": study.study_name, "objectives": objectives,
                           **(study_info or {})}
        self.runs = {key.removeprefix("run_"): value for key, value in study.user_attrs.items()
                     if key.startswith("run_")}
        metadata = {SCHEMA_KEY: SCHEMA_VERSION.encode(),
                    STUDY_KEY: json.dumps(self.study_info).encode()}
        self._tables = {
            "trials": PartitionedTable(folder, "trials", None, metadata),
            "epochs": PartitionedTable(folder, "epochs", EPOCH_COLUMNS, metadata),
            "acc_matrix": PartitionedTable(folder, "acc_matrix", ACC_COLUMNS, metadata)}
        self._rows: dict[str, dict[int, list[dict[str, Any]]]] = {t: {} for t in self._tables}
        self._lock = threading.Lock()
        self._queue: queue.Queue[int | None] = queue.Queue()
        for trial in study.get_trials(deepcopy=False, states=FINISHED):
            self._keep(trial)
        self._compact()
        self._thread = threading.Thread(target=self._write_as_trials_finish, daemon=True,
                                        name="parquet-writer")
        self._thread.start()

    def _keep(self, trial: optuna.trial.FrozenTrial) -> None:
        rows = {"trials": trial_rows(self.study_name, trial, self.objectives, self.runs),
                "epochs": epoch_rows(self.study_name, trial),
                "acc_matrix": acc_matrix_rows(self.study_name, trial)}
        with self._lock:
            for name, table_rows in rows.items():
                self._rows[name][trial.number] = table_rows

    def _compact(self) -> None:
        """Every table from the rows kept; ``acc_matrix`` once a trial has reported
        accuracies per task."""
        with self._lock:
            rows = {name: dict(by_trial) for name, by_trial in self._rows.items()}
        for name, table in self._tables.items():
            if name != "acc_matrix" or any(rows[name].values()):
                table.compact(rows[name])

    def add(self, trial: optuna.trial.FrozenTrial) -> None:
        """Record one finished trial; its rows are written shortly after."""
        self._keep(trial)
        self._queue.put(trial.number)

    def _write_as_trials_finish(self) -> None:
        """One part per table for the trials finished within :data:`BATCH_WINDOW_S` of each
        other, until :meth:`close` (a trial's rows are on disk at most that long after the
        trial; a killed driver's are rebuilt from the storage by the next run)."""
        while True:
            numbers = [self._queue.get()]
            deadline = time.monotonic() + BATCH_WINDOW_S
            while numbers[-1] is not None and len(numbers) < BATCH_MAX_TRIALS:
                try:
                    numbers.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            batch = sorted(n for n in numbers if n is not None)
            for name, table in self._tables.items() if batch else ():
                with self._lock:
                    rows = [row for n in batch for row in self._rows[name][n]]
                if name == "acc_matrix" and not rows and table.schema is None:
                    continue  # not a continual-learning study (yet)
                table.add(batch[0], rows, functools.partial(self._snapshot, name))
            if numbers[-1] is None:
                return

    def _snapshot(self, name: str) -> dict[int, list[dict[str, Any]]]:
        with self._lock:
            return dict(self._rows[name])

    def close(self) -> None:
        """Write what is queued, stop the writer thread and compact every table."""
        self._queue.put(None)
        self._thread.join()
        self._compact()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
