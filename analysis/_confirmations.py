"""A search's winners confirmed under seeds (``python -m studies.confirm``): the statistics.

``confirmations.parquet`` has one row per configuration and seed. Per configuration:

- n, mean and sample std (ddof 1) over seeds, and the 95% confidence interval of the mean,
  ``mean ± t(0.975, n-1) · std / sqrt(n)`` (Student's t);
- the difference of its mean to the reference's, with Welch's t-test (unequal variances,
  two-sided) p-value, and across the candidates the Holm-corrected p-value (step-down:
  the i-th smallest of m p-values times m - i + 1, made monotone, at most 1);
- the winner's curse: the search's value of the configuration minus its confirmed mean
  (for a metric to maximise, positive means the search overstated it; to minimise, negative).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis._figures import SIZE, axis_label

TABLE_COLUMNS = ["study", "configuration", "role", "search_trial", "search_rank",
                 "search_value", "n_seeds", "mean", "std", "ci95_low", "ci95_high",
                 "diff_to_reference", "p_welch", "p_holm", "winners_curse"]


def holm(p_values: pd.Series) -> pd.Series:
    """Holm's step-down adjustment of ``p_values`` (NaN stays NaN and does not count)."""
    known = p_values.dropna().sort_values()
    m = len(known)
    scaled = np.array([(m - i) * p for i, p in enumerate(known.to_numpy(float))])
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled)) if m else scaled
    return pd.Series(adjusted, index=known.index, dtype=float).reindex(p_values.index)


def _interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, std (ddof 1) and the 95% t interval of the mean (NaN below two values)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * std / math.sqrt(len(values))
    return mean, std, mean - half, mean + half


def _welch(values: np.ndarray, reference: np.ndarray | None) -> float:
    if reference is None or len(values) < 2 or len(reference) < 2:
        return math.nan
    return float(stats.ttest_ind(values, reference, equal_var=False).pvalue)


def confirmation_table(confirmations: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per configuration of each confirmation (columns :data:`TABLE_COLUMNS`), the
    candidates by their rank in the search, the reference last; ``metric`` names a metric the
    trials report (``final_acc``, ``valid_bpc``): the column ``final_<metric>``."""
    column = f"final_{metric}"
    if confirmations.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    if column not in confirmations.columns:
        raise KeyError(f"the confirmations report no metric {metric!r}")
    tables = [_one_table(study, rows, metric)
              for study, rows in confirmations.groupby("study", sort=True)]
    return pd.concat(tables, ignore_index=True)


def _one_table(study: str, rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    column = f"final_{metric}"
    ref_rows = rows[rows.role == "reference"]
    reference = ref_rows[column].to_numpy(float) if not ref_rows.empty else None
    ref_mean = float(np.mean(reference)) if reference is not None else math.nan
    out = []
    for label, group in rows.groupby("configuration", sort=False):
        values = group[column].to_numpy(float)
        mean, std, low, high = _interval(values)
        first = group.iloc[0]
        candidate = first.role == "candidate"
        search = first.get(f"search_{metric}", math.nan) if candidate else math.nan
        out.append({"study": study, "configuration": label, "role": first.role,
                    "search_trial": first.search_trial, "search_rank": first.search_rank,
                    "search_value": float(search) if pd.notna(search) else math.nan,
                    "n_seeds": len(values), "mean": mean, "std": std, "ci95_low": low,
                    "ci95_high": high,
                    "diff_to_reference": mean - ref_mean if candidate else math.nan,
                    "p_welch": _welch(values, reference) if candidate else math.nan,
                    "winners_curse": float(search) - mean if candidate else math.nan})
    table = pd.DataFrame(out)
    for column in ("search_trial", "search_rank"):  # integers, missing for the reference
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    table["p_holm"] = holm(table.p_welch.where(table.role == "candidate"))
    order = table.search_rank.astype(float).fillna(math.inf)
    return table.iloc[np.argsort(order.to_numpy(float), kind="stable")][TABLE_COLUMNS]


def mean_winners_curse(table: pd.DataFrame) -> float:
    """The winner's curse averaged over the candidates of a :func:`confirmation_table`."""
    return float(table.loc[table.role == "candidate", "winners_curse"].mean())


def confirmation_figure(confirmations: pd.DataFrame, table: pd.DataFrame, metric: str,
                        maximize: bool, title: str) -> Figure:
    """Each candidate's seeds as points with its 95% interval, and the search's value as a
    cross, sorted by the search's value (best left); the reference's interval as a band and
    its mean as a line."""
    fig, ax = plt.subplots(figsize=SIZE)
    candidates = table[table.role == "candidate"].reset_index(drop=True)
    for x, row in candidates.iterrows():
        seeds = confirmations[(confirmations.study == row.study)
                              & (confirmations.configuration == row.configuration)]
        values = seeds[f"final_{metric}"].to_numpy(float)
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
        ax.scatter(np.asarray(x, float) + jitter, values, s=18, color="C0", alpha=0.7,
                   label="seeds" if x == 0 else None, zorder=3)
        if pd.notna(row.ci95_low):
            ax.errorbar([x], [row["mean"]], yerr=[[row["mean"] - row.ci95_low],
                                                 [row.ci95_high - row["mean"]]],
                        fmt="o", color="black", capsize=4, ms=5, zorder=4,
                        label="mean, 95% interval" if x == 0 else None)
        if pd.notna(row.search_value):
            ax.scatter([x], [row.search_value], marker="x", s=50, color="C3", zorder=5,
                       label="the search's value" if x == 0 else None)
    reference = table[table.role == "reference"]
    if not reference.empty:
        ref = reference.iloc[0]
        ax.axhline(ref["mean"], color="0.35", lw=1,
                   label=f"reference ({ref.configuration}): mean")
        if pd.notna(ref.ci95_low):
            ax.axhspan(ref.ci95_low, ref.ci95_high, color="0.6", alpha=0.25, lw=0,
                       label="reference: 95% interval")
    ax.set_xticks(range(len(candidates)), [str(c) for c in candidates.configuration])
    ax.set_xlim(-0.6, max(len(candidates), 1) - 0.4)
    ax.set_xlabel("configuration, best in the search first")
    better = " (higher is better)" if maximize else " (lower is better)"
    ax.set_ylabel(axis_label(metric) + better)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
