"""The report's general figures: parameter efficiency, learning curves, ablation bars,
hyperparameter importance. Each function returns a matplotlib Figure (nothing is shown)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis._summary import pareto_mask  # noqa: E402

sns.set_theme(style="whitegrid", context="paper")
SIZE = (6.4, 4.2)


def _label(name: str) -> str:
    return name.removeprefix("param_").removeprefix("value_").replace("_", " ")


def parameter_efficiency(table: pd.DataFrame, objective: str, maximize: bool,
                         hue: str | None, references: pd.DataFrame, title: str) -> Figure:
    """``objective`` against trainable parameters (log x), one point per complete trial,
    coloured by ``hue``; the Pareto front as a step line; the papers' points as black
    crosses labelled ``paper: <label>``."""
    fig, ax = plt.subplots(figsize=SIZE)
    done = table[(table.state == "COMPLETE") & table.trainable_params.notna()].copy()
    column = f"value_{objective}"
    if hue is not None:
        done[hue] = done[hue].astype(str)
    sns.scatterplot(data=done, x="trainable_params", y=column, hue=hue, ax=ax, s=40,
                    legend="auto" if hue else False)
    front = done[pareto_mask(done.trainable_params, done[column], maximize)]
    front = front.sort_values("trainable_params")
    ax.step(front.trainable_params, front[column], where="post", color="0.3", lw=1,
            ls="--", label="Pareto front", zorder=1)
    for ref in references.itertuples():
        ax.scatter([ref.params], [ref.value], marker="X", s=70, color="black", zorder=3)
        ax.annotate(f"paper: {ref.label} ({_label(ref.metric)})", (ref.params, ref.value),
                    textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel(_label(objective) + (" (higher is better)" if maximize
                                       else " (lower is better)"))
    ax.set_title(title)
    ax.legend(fontsize=7, title=_label(hue) if hue else None)
    fig.tight_layout()
    return fig


def learning_curves(curves: pd.DataFrame, objective: str, title: str) -> Figure:
    """The objective per epoch of the top trials (mean over seeds), one line per trial."""
    fig, ax = plt.subplots(figsize=SIZE)
    for trial, rows in curves.groupby("trial", sort=False):
        ax.plot(rows.epoch, rows.value, marker="o", ms=3, label=f"trial {trial}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(_label(objective))
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def ablation_bars(table: pd.DataFrame, group: str, objective: str, title: str) -> Figure:
    """Mean and standard deviation of the objective per ``variant`` (named by ``group``),
    with the number of seed runs written beside each bar."""
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.8 + 0.35 * len(table)))
    labels = table["variant"]
    positions = range(len(table))
    ax.barh(positions, table["mean"], xerr=table["std"].fillna(0), color="C0", alpha=0.8,
            capsize=3)
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    low = (table["mean"] - table["std"].fillna(0)).min()
    high = (table["mean"] + table["std"].fillna(0)).max()
    pad = 0.15 * (high - low or abs(high) or 1)
    ax.set_xlim(low - pad, high + pad)
    for y, (mean, n) in enumerate(zip(table["mean"], table["n"], strict=True)):
        ax.annotate(f"{mean:.4g} (n={n})", (low - pad, y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_xlabel(f"{_label(objective)}: mean ± std over seeds")
    ax.set_ylabel(_label(group))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def importance_bars(importance: pd.DataFrame, objective: str, title: str) -> Figure:
    """fANOVA importance of each searched parameter for the objective."""
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.8 + 0.35 * len(importance)))
    sns.barplot(data=importance, x="importance", y="parameter", ax=ax, color="C2",
                errorbar=None)
    ax.set_xlabel(f"fANOVA importance for {_label(objective)}")
    ax.set_ylabel("parameter")
    ax.set_title(title)
    fig.tight_layout()
    return fig
