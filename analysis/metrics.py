"""Continual-learning metrics from an accuracy matrix.

``R[i, j]`` is the test accuracy on task ``j`` after learning task ``i`` (``i >= j``; the rows of
``acc_matrix.parquet``: ``trained_through = i``, ``eval_task = j``), for ``T`` tasks:

- ACC, the final average accuracy: ``1/T sum_j R[T-1, j]``;
- BWT, backward transfer (Lopez-Paz & Ranzato 2017): ``1/(T-1) sum_{j<T-1} R[T-1, j] - R[j, j]``
  (negative: forgetting);
- forgetting (Chaudhry et al. 2018): ``1/(T-1) sum_{j<T-1} max_{l<T-1} R[l, j] - R[T-1, j]``.

BWT and forgetting are NaN for a single task.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["study", "trial", "seed"]


def accuracy_matrix(acc: pd.DataFrame) -> pd.DataFrame:
    """One run's rows (``trained_through``, ``eval_task``, ``accuracy``) as ``R``: rows are
    ``trained_through``, columns ``eval_task``, NaN above the diagonal."""
    return acc.pivot(index="trained_through", columns="eval_task", values="accuracy").sort_index(
        axis=0).sort_index(axis=1)


def final_accuracy(matrix: pd.DataFrame) -> float:
    """ACC: the mean of the last row."""
    return float(matrix.iloc[-1].mean())


def backward_transfer(matrix: pd.DataFrame) -> float:
    """BWT: the mean change of each earlier task's accuracy from right after it to the end."""
    r = matrix.to_numpy()
    t = r.shape[0]
    if t < 2:
        return float("nan")
    return float(np.mean([r[t - 1, j] - r[j, j] for j in range(t - 1)]))


def forgetting(matrix: pd.DataFrame) -> float:
    """Forgetting: the mean drop of each earlier task from its best accuracy to the end; NaN
    where the matrix has gaps below its diagonal (each task evaluated only when learned and
    at the end: its best accuracy in between is not known)."""
    r = matrix.to_numpy()
    t = r.shape[0]
    if t < 2 or np.isnan(r[np.tril_indices(t)]).any():
        return float("nan")
    return float(np.mean([np.nanmax(r[j:t - 1, j]) - r[t - 1, j] for j in range(t - 1)]))


def summarize(acc: pd.DataFrame) -> pd.DataFrame:
    """ACC, BWT and forgetting of every run (study, trial, seed) in an ``acc_matrix`` table;
    a run counts only once it has learned every task any run of its study has."""
    rows = []
    for key, run in acc.groupby(KEYS, sort=True):
        matrix = accuracy_matrix(run)
        rows.append(dict(zip(KEYS, key, strict=True), tasks=matrix.shape[0],
                         acc=final_accuracy(matrix), bwt=backward_transfer(matrix),
                         forgetting=forgetting(matrix)))
    table = pd.DataFrame(rows, columns=[*KEYS, "tasks", "acc", "bwt", "forgetting"])
    complete = table.tasks == table.groupby("study").tasks.transform("max")
    return table[complete].reset_index(drop=True)
