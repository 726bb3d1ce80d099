"""Parquet results, written from the Optuna storage so both always agree.

Under ``<results>/<study name>/``:

- ``trials.parquet``: one row per finished trial and seed: study, trial, state, ``param_*``,
  seed, trainable-parameter count, ``value_*`` (the trial's objective values), ``final_*`` (that
  seed's last-epoch metrics), error, wall time, device, git commit and package versions.
- ``epochs.parquet``: long format, one row per (trial, seed, epoch, metric): study, trial, seed,
  epoch, split (train/valid/test, or empty), metric, value.

A trial's per-epoch metrics live in its ``epochs`` user attribute, so the tables are a function of
the storage: they are rewritten (temporary file, then rename) after every finished trial and when
a run starts, and a finished trial is neither lost nor duplicated when a driver dies.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)
SPLITS = ("train", "valid", "test")
_lock = threading.Lock()


def _split_metric(name: str) -> tuple[str, str]:
    split, _, metric = name.partition("_")
    return (split, metric) if split in SPLITS and metric else ("", name)


def trial_rows(study_name: str, trial: optuna.trial.FrozenTrial,
               objectives: list[str]) -> list[dict[str, Any]]:
    """The trials-table rows of one finished trial, one per seed it ran."""
    attrs = trial.user_attrs
    base: dict[str, Any] = {"study": study_name, "trial": trial.number, "state": trial.state.name}
    base.update({f"param_{k}": v for k, v in trial.params.items()})
    values = trial.values or [None] * len(objectives)
    base.update({f"value_{name}": v for name, v in zip(objectives, values, strict=True)})
    error = attrs.get("error")
    if error is None and trial.state == optuna.trial.TrialState.FAIL:
        error = "no error from its task: its driver stopped or was interrupted (re-queued)"
    base.update({"error": error, "wall_time_s": attrs.get("wall_time_s"),
                 "device": attrs.get("device"), "git_commit": attrs.get("git_commit")})
    base.update({f"version_{k}": v for k, v in attrs.get("versions", {}).items()})
    finals = attrs.get("final_metrics", {})
    rows = []
    for seed in attrs.get("seeds", [None]):
        final = finals.get(str(seed), {})
        row = dict(base, seed=seed, trainable_params=final.get("params"))
        row.update({f"final_{k}": v for k, v in final.items() if k not in ("epoch", "params")})
        rows.append(row)
    return rows


def epoch_rows(study_name: str, trial: optuna.trial.FrozenTrial) -> list[dict[str, Any]]:
    """The epochs-table rows of one trial, long format."""
    rows = []
    for record in trial.user_attrs.get("epochs", []):
        for name, value in record.items():
            if name in ("seed", "epoch"):
                continue
            split, metric = _split_metric(name)
            rows.append({"study": study_name, "trial": trial.number, "seed": record["seed"],
                         "epoch": record["epoch"], "split": split, "metric": metric,
                         "value": float(value)})
    return rows


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    frame.to_parquet(part, index=False)
    os.replace(part, path)


def write_results(study: optuna.Study, objectives: list[str], folder: Path) -> int:
    """Rewrite ``trials.parquet`` and ``epochs.parquet`` from every finished trial.

    Returns:
        The number of finished trials written.
    """
    with _lock:
        trials = study.get_trials(deepcopy=False, states=FINISHED)
        trial_table = [r for t in trials for r in trial_rows(study.study_name, t, objectives)]
        epoch_table = [r for t in trials for r in epoch_rows(study.study_name, t)]
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(pd.DataFrame(trial_table), folder / "trials.parquet")
        columns = ["study", "trial", "seed", "epoch", "split", "metric", "value"]
        _write_atomic(pd.DataFrame(epoch_table, columns=columns), folder / "epochs.parquet")
        return len(trials)
