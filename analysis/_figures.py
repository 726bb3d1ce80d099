"""The report's general figures: parameter efficiency, learning curves, ablation bars,
hyperparameter importance. Each function returns a matplotlib Figure (nothing is shown)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    EngFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from analysis._summary import pareto_mask  # noqa: E402

sns.set_theme(style="whitegrid", context="paper")
SIZE = (6.4, 4.2)


def axis_label(name: str) -> str:
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
                    hue_order=sorted(done[hue].unique()) if hue else None,
                    legend="auto" if hue else False)
    front = done[pareto_mask(done.trainable_params, done[column], maximize)]
    front = front.sort_values("trainable_params")
    ax.step(front.trainable_params, front[column], where="post", color="0.3", lw=1,
            ls="--", label="Pareto front", zorder=1)
    ax.set_xscale("log")
    for ref in references.itertuples():
        ax.scatter([ref.params], [ref.value], marker="X", s=70, color="black", zorder=3)
    _label_references(ax, references, objective)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel(axis_label(objective) + (" (higher is better)" if maximize
                                       else " (lower is better)"))
    ax.set_title(title)
    many = hue is not None and done[hue].nunique() > 4
    if many:  # beside the axes, where it hides no point
        fig.set_size_inches(SIZE[0] + 2.4, SIZE[1])
    place: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1)} if many else {}
    ax.legend(fontsize=7, title=axis_label(hue) if hue else None, **place)
    fig.tight_layout()
    return fig


def _label_references(ax, references: pd.DataFrame, objective: str) -> None:
    """``paper: <label>`` beside each published point, on the side that keeps it inside."""
    ax.autoscale_view()
    low, high = (np.log10(v) for v in ax.get_xlim())
    for ref in references.itertuples():
        right_half = np.log10(ref.params) > (low + high) / 2
        metric = "" if ref.metric == objective else f" ({axis_label(ref.metric)})"
        ax.annotate(f"paper: {ref.label}{metric}", (ref.params, ref.value),
                    textcoords="offset points", xytext=(-6 if right_half else 6, 5),
                    ha="right" if right_half else "left", fontsize=7)


def learning_curves(curves: pd.DataFrame, objective: str, title: str) -> Figure:
    """The objective per epoch of the top trials (mean over seeds), one line per trial."""
    fig, ax = plt.subplots(figsize=SIZE)
    for trial, rows in curves.groupby("trial", sort=False):
        ax.plot(rows.epoch, rows.value, marker="o", ms=3, label=f"trial {trial}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(axis_label(objective))
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def ablation_bars(table: pd.DataFrame, group: str, objective: str, title: str,
                  averaged: str = "seeds") -> Figure:
    """Mean (a point) and standard deviation (its error bar) of the objective per ``variant``
    (named by ``group``), with the number of runs written beside each; points, not bars, since
    an axis that does not start at zero would make bar lengths mislead. ``averaged`` says over
    what (``seeds`` of one configuration, or ``trials``)."""
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.8 + 0.35 * len(table)))
    labels = table["variant"]
    positions = list(range(len(table)))
    ax.errorbar(table["mean"], positions, xerr=table["std"].fillna(0), fmt="none",
                ecolor="C0", capsize=3)
    ax.scatter(table["mean"], positions, color="C0", zorder=3)
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    spread = table["std"].fillna(0)
    low, high = (table["mean"] - spread).min(), (table["mean"] + spread).max()
    pad = 0.1 * (high - low or abs(high) or 1)
    ax.set_xlim(low - pad, high + 3 * pad)
    for y, (mean, end, n) in enumerate(zip(table["mean"], table["mean"] + spread, table["n"],
                                           strict=True)):
        ax.annotate(f"{mean:.4g} (n={n})", (end, y), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_xlabel(f"{axis_label(objective)}: mean ± std over {averaged}")
    ax.set_ylabel(axis_label(group))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def importance_bars(importance: pd.DataFrame, objective: str, title: str) -> Figure:
    """fANOVA importance of each searched parameter for the objective."""
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.8 + 0.35 * len(importance)))
    sns.barplot(data=importance, x="importance", y="parameter", ax=ax, color="C2",
                errorbar=None)
    ax.set_xlabel(f"fANOVA importance for {axis_label(objective)}")
    ax.set_ylabel("parameter")
    ax.set_title(title)
    fig.tight_layout()
    return fig
