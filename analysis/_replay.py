"""What a low continual-learning figure comes from: the replay and task-inference diagnostics
that ``hnet_core`` records per task (von Oswald et al. 2020, HNET+R, HNET+TIR, HNET+ENT).

- ``decoder_drift_<j>``: after each later task, how far the replay decoder of task ``j`` moved
  since it was learned (``||f_h(e_j, Θ) - f_h(e_j, Θ*_j)|| / ||f_h(e_j, Θ*_j)||``).
- ``task_inference_acc_<j>``: the share of task ``j``'s test inputs given task ``j``.
- ``replay_acc_<j>`` (after the last task): the final learner on replayed inputs of ``j``
  (HNET+TIR: assigned to ``j``; HNET+R: labelled as right after ``j`` was learned).

They land in the epochs table (one metric per task); this module gathers them per run and per
cell (scenario and method) and draws them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from analysis._load import StudyResults
from analysis._scenarios import method_label

DIAGNOSTICS = {"decoder_drift": "decoder drift (relative)",
               "task_inference_acc": "task inferred right (%)",
               "replay_acc": "final learner on replay (%)"}
_PATTERN = r"^(" + "|".join(DIAGNOSTICS) + r")_(\d+)$"


def _cells(results: StudyResults) -> pd.DataFrame:
    """Each trial's cell: ``trial``, ``scenario``, ``method`` (the paper's label), from its
    params where the study varies them, else from the study's config."""
    trials = results.trials
    config = results.info.extra.get("config", {})
    cells = trials[["trial"]].drop_duplicates("trial").copy()
    first = trials.drop_duplicates("trial").set_index("trial")
    scenario = (first.param_scenario if "param_scenario" in first
                else pd.Series(config.get("scenario", 1), index=first.index))
    method = (first.param_method if "param_method" in first
              else pd.Series(config.get("method", "hnet"), index=first.index))
    cells["scenario"] = [int(scenario[t]) for t in cells.trial]
    cells["method"] = [method_label(str(method[t]), int(scenario[t])) for t in cells.trial]
    return cells


def diagnostics(results: StudyResults) -> pd.DataFrame:
    """One row per (trial, seed, task learned, diagnostic, task ``j``) of the complete trials:
    ``scenario``, ``method``, ``trained_through`` (0-based), ``diagnostic``, ``task``,
    ``value``; empty where no trial recorded any."""
    epochs, trials = results.epochs, results.trials
    if epochs.empty or trials.empty or "state" not in trials:
        return pd.DataFrame()
    found = epochs.metric.str.extract(_PATTERN)
    rows = epochs[found[0].notna()].assign(diagnostic=found[0], task=found[1])
    complete = set(trials.trial[trials.state == "COMPLETE"])
    rows = rows[rows.trial.isin(complete)]
    if rows.empty:
        return pd.DataFrame()
    rows = rows.assign(task=rows.task.astype(int), trained_through=rows.epoch.astype(int) - 1)
    rows = rows.merge(_cells(results), on="trial")
    return rows[["trial", "seed", "scenario", "method", "trained_through", "diagnostic",
                 "task", "value"]].reset_index(drop=True)


def final_table(rows: pd.DataFrame) -> pd.DataFrame:
    """After the last task, per cell and diagnostic: the mean over runs of each task's value
    (columns ``task 0``, ``task 1``, ...) and ``runs``."""
    if rows.empty:
        return pd.DataFrame()
    last = rows.groupby(["trial", "seed"]).trained_through.transform("max")
    final = rows[rows.trained_through == last]
    keys = ["scenario", "method", "diagnostic"]
    table = final.pivot_table(index=keys, columns="task", values="value", aggfunc="mean")
    table.columns = [f"task {j}" for j in table.columns]
    runs = final.groupby(keys)[["trial", "seed"]].apply(lambda r: len(r.drop_duplicates()))
    return table.assign(runs=runs).reset_index()


def drift_figure(rows: pd.DataFrame, title: str) -> Figure | None:
    """Decoder drift of each earlier task (one line each) against the tasks learned, one panel
    per cell (mean over runs); None without drift."""
    drift = rows[rows.diagnostic == "decoder_drift"]
    if drift.empty:
        return None
    cells = sorted(drift.groupby(["scenario", "method"]).groups)
    fig, axes = plt.subplots(1, len(cells), figsize=(3.2 * len(cells), 3.2), squeeze=False,
                             sharey=True)
    for ax, (scenario, method) in zip(axes[0], cells, strict=True):
        cell = drift[(drift.scenario == scenario) & (drift.method == method)]
        mean = cell.groupby(["task", "trained_through"]).value.mean()
        for j, line in mean.groupby(level="task"):
            ax.plot(line.index.get_level_values("trained_through") + 1, line.values,
                    marker="o", label=f"task {j}")
        ax.set_title(f"CL{scenario} {method}")
        ax.set_xlabel("tasks learned")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("decoder drift (relative to when learned)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def final_figure(table: pd.DataFrame, title: str) -> Figure | None:
    """Task inference and replay accuracy per task after the last task, one panel per
    diagnostic, one line per cell; None without either."""
    shown = [d for d in ("task_inference_acc", "replay_acc") if d in set(table.diagnostic)]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.4), squeeze=False)
    tasks = [c for c in table.columns if c.startswith("task ")]
    for ax, diagnostic in zip(axes[0], shown, strict=True):
        for _, row in table[table.diagnostic == diagnostic].iterrows():
            values = row[tasks].astype(float)
            known = values.notna()
            ax.plot([int(c.split()[1]) for c in values.index[known]], values[known],
                    marker="o", label=f"CL{row.scenario} {row.method}")
        ax.set_xticks(range(len(tasks)))
        ax.set_xlabel("task")
        ax.set_ylabel(DIAGNOSTICS[diagnostic])
        ax.set_ylim(0, 101)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
