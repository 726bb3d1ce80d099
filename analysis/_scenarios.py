"""The scenario x method table of a continual-learning study that varies both
(``hypercl_scenarios``): final accuracy per cell, mean ± std over runs, beside the paper's
Table 1 where it reports the cell, and its figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from analysis._load import StudyResults
from analysis.references import table_1

#: How the paper names each method in a scenario (its "HNET" infers the task where it is not
#: given: HNET+ENT).
_LABELS = {"hnet_r": "HNET+R", "hnet_tir": "HNET+TIR", "finetune": "fine-tuning",
           "ewc": "online EWC"}


def method_label(method: str, scenario: int) -> str:
    if method in ("hnet", "hnet_ent"):
        return "HNET" if scenario == 1 else "HNET+ENT"
    return _LABELS.get(method, method)


def _slot(label: str) -> int:
    """Where a method sits within its scenario: the hypernetwork (HNET, HNET+ENT) first, then
    the replay methods and the baselines."""
    order = ["HNET", "HNET+R", "HNET+TIR", "fine-tuning", "online EWC"]
    label = "HNET" if label == "HNET+ENT" else label
    return order.index(label) if label in order else len(order)


def scenario_table(results: StudyResults) -> pd.DataFrame:
    """One row per (scenario, method): the mean, standard deviation and number of complete
    runs (trial-seed pairs) of the final average accuracy, and the paper's figure (NaN where
    it reports none); empty unless the trials vary ``scenario`` and ``method``."""
    trials = results.trials
    needed = {"param_scenario", "param_method", "final_final_acc", "state"}
    if trials.empty or not needed <= set(trials.columns):
        return pd.DataFrame()
    runs = trials[trials.state == "COMPLETE"].copy()
    if runs.empty:
        return pd.DataFrame()
    runs["scenario"] = runs.param_scenario.astype(int)
    runs["method"] = [method_label(m, s) for m, s in zip(runs.param_method, runs.scenario,
                                                         strict=True)]
    grouped = runs.groupby(["scenario", "method"], sort=True).final_final_acc
    table = grouped.agg(["mean", "std", "count"]).rename(columns={"count": "n"}).reset_index()
    benchmark = results.info.extra.get("config", {}).get("benchmark", "splitmnist")
    paper = table_1(benchmark)
    return table.merge(paper, on=["scenario", "method"], how="left")


def scenario_figure(table: pd.DataFrame, title: str) -> Figure:
    """Final accuracy per scenario, one colour per method: ours as points with their
    standard deviation, the paper's as black crosses just left of ours."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    methods = sorted(dict.fromkeys(table.method), key=_slot)
    slots = sorted({_slot(m) for m in methods})
    width = 0.7 / max(len(slots), 1)
    for i, method in enumerate(methods):
        rows = table[table.method == method]
        x = rows.scenario + (slots.index(_slot(method)) - (len(slots) - 1) / 2) * width
        ax.errorbar(x, rows["mean"], yerr=rows["std"].fillna(0), fmt="none", capsize=3,
                    ecolor=f"C{i}")
        ax.scatter(x, rows["mean"], color=f"C{i}", label=method, zorder=2)
        known = rows.paper.notna()   # just left of ours, so neither hides the other
        ax.scatter(x[known] - width / 3, rows.paper[known], marker="x", s=40, color="black",
                   linewidths=1.5, zorder=3, label="paper (Table 1)" if i == 0 else None)
    ax.set_xticks(sorted(table.scenario.unique()),
                  [f"CL{s}" for s in sorted(table.scenario.unique())])
    ax.set_xlabel("scenario (CL1: task given; CL2: not given; CL3: class-incremental)")
    ax.set_ylabel("final average accuracy (%): mean ± std")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
