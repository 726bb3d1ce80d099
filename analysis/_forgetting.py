"""Continual-learning figures: the best trial's accuracy matrix and per-task curves, and final
accuracy, backward transfer and forgetting against beta_output."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis import metrics
from analysis._figures import SIZE  # also selects the Agg backend and the seaborn theme
from analysis._load import StudyResults

BETA = "final_beta_output"
MEASURES = {"acc": "final accuracy ACC (%)", "bwt": "backward transfer BWT (points)",
            "forgetting": "forgetting (points)"}


def mean_matrix(acc: pd.DataFrame, trial: int) -> pd.DataFrame:
    """Trial ``trial``'s accuracy matrix ``R[i, j]``, averaged over its seeds."""
    rows = acc[acc.trial == trial]
    mean = rows.groupby(["trained_through", "eval_task"], as_index=False)["accuracy"].mean()
    return metrics.accuracy_matrix(mean)


def accuracy_heatmap(matrix: pd.DataFrame, title: str) -> Figure:
    """``R[i, j]`` as a heatmap: rows the last task learned, columns the task evaluated."""
    t = matrix.shape[1]
    fig, ax = plt.subplots(figsize=(1.6 + 0.6 * t, 1.2 + 0.5 * matrix.shape[0]))
    sns.heatmap(matrix, annot=True, fmt=".1f", cmap="viridis", ax=ax, annot_kws={"size": 7},
                cbar_kws={"label": "test accuracy (%)"}, mask=matrix.isna())
    ax.grid(False)
    ax.set_xlabel("task evaluated j")
    ax.set_ylabel("after learning task i")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def task_curves(matrix: pd.DataFrame, title: str) -> Figure:
    """Each task's accuracy from when it is learned to the end of the sequence."""
    fig, ax = plt.subplots(figsize=SIZE)
    for task in matrix.columns:
        column = matrix[task].dropna()
        ax.plot(column.index, column.to_numpy(), marker="o", ms=3, label=f"task {task}")
    ax.set_xlabel("after learning task i")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(list(matrix.index))
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


#: Beyond this many tasks the matrix is drawn as :func:`lifetime_figure` (a heatmap of 100
#: tasks would be unreadable).
LONG_SEQUENCE = 20


def lifetime_figure(matrix: pd.DataFrame, title: str) -> Figure:
    """Memory lifetime: each task's accuracy right after it is learned (``R[j, j]``) and after
    the last task (``R[T-1, j]``), against the task's place in the sequence."""
    fig, ax = plt.subplots(figsize=SIZE)
    tasks = matrix.columns.to_numpy()
    diagonal = [matrix.loc[j, j] if j in matrix.index else np.nan for j in tasks]
    ax.plot(tasks, diagonal, color="0.6", lw=1, marker=".", ms=3,
            label="right after learning it")
    ax.plot(tasks, matrix.iloc[-1].to_numpy(), color="C0", lw=1.2, marker=".", ms=3,
            label=f"after the last task ({matrix.index[-1] + 1} learned)")
    ax.set_xlabel("task j (in the order learned)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def runs_by_beta(results: StudyResults) -> pd.DataFrame:
    """ACC, BWT and forgetting of every complete run (trial, seed) with its beta_output;
    runs that record no beta_output (baselines) are left out."""
    trials = results.trials
    if results.acc_matrix.empty or BETA not in trials.columns:
        return pd.DataFrame(columns=["trial", "seed", "beta_output", *MEASURES])
    summary = metrics.summarize(results.acc_matrix)
    done = trials[trials.state == "COMPLETE"][["trial", "seed", BETA]]
    runs = summary.merge(done, on=["trial", "seed"]).rename(columns={BETA: "beta_output"})
    return runs[runs.beta_output.notna()].reset_index(drop=True)


def beta_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count of each measure per beta_output value."""
    if runs.empty:
        return pd.DataFrame()
    table = runs.groupby("beta_output")[list(MEASURES)].agg(["mean", "std", "count"])
    table.columns = [f"{m}_{s}" for m, s in table.columns]
    return table.reset_index()


def beta_figure(table: pd.DataFrame, title: str) -> Figure:
    """ACC, BWT and forgetting against beta_output, mean ± std over trials and seeds (x on a
    symmetric log scale, so beta_output = 0 has its place)."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    positive = table.beta_output[table.beta_output > 0]
    linthresh = float(positive.min()) if len(positive) else 1e-3
    for ax, (measure, label) in zip(axes, MEASURES.items(), strict=True):
        ax.plot(table.beta_output, table[f"{measure}_mean"], "o-", ms=4)
        ax.errorbar(table.beta_output, table[f"{measure}_mean"],
                    yerr=table[f"{measure}_std"].fillna(0), fmt="none", capsize=3)
        for x, y, n in zip(table.beta_output, table[f"{measure}_mean"],
                           table[f"{measure}_count"], strict=True):
            ax.annotate(f"n={n}", (x, y), textcoords="offset points", xytext=(3, 4),
                        fontsize=6)
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_xlim(left=-0.1 * linthresh if np.all(table.beta_output >= 0) else None)
        ax.set_xlabel("beta_output")
        ax.set_ylabel(label)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
