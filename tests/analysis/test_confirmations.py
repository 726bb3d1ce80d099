"""The confirmation statistics against hand computations with scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import analysis
from analysis._confirmations import confirmation_figure
from analysis._output import describe

SEEDS = [1, 2, 3, 4, 5]
VALUES = {  # configuration -> (role, search rank, search value, one value per seed)
    "trial 7": ("candidate", 1, 99.88, [99.83, 99.77, 99.81, 99.74, 99.78]),
    "trial 21": ("candidate", 2, 99.85, [99.70, 99.79, 99.66, 99.81, 99.72]),
    "trial 9": ("candidate", 3, 99.82, [99.69, 99.58, 99.74, 99.65, 99.61]),
    "paper": ("reference", None, None, [99.75, 99.73, 99.45, 99.70, 99.80]),
}


def _confirmations(study: str = "s-confirm") -> pd.DataFrame:
    rows = []
    for label, (role, rank, search, values) in VALUES.items():
        for seed, value in zip(SEEDS, values, strict=True):
            rows.append({"study": study, "search_study": "s", "configuration": label,
                         "role": role, "search_trial": None if rank is None else int(label[6:]),
                         "search_rank": rank, "search_final_acc": search, "seed": seed,
                         "final_final_acc": value})
    return pd.DataFrame(rows)


def test_intervals_welch_and_holm_match_scipy():
    table = analysis.confirmation_table(_confirmations(), "final_acc").set_index("configuration")
    reference = np.array(VALUES["paper"][3])
    p_values = {}
    for label in ("trial 7", "trial 21", "trial 9"):
        values = np.array(VALUES[label][3])
        row = table.loc[label]
        low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                     scale=stats.sem(values))
        assert (row["mean"], row["std"]) == pytest.approx((values.mean(), values.std(ddof=1)))
        assert (row.ci95_low, row.ci95_high) == pytest.approx((low, high))
        assert row.diff_to_reference == pytest.approx(values.mean() - reference.mean())
        p_values[label] = stats.ttest_ind(values, reference, equal_var=False).pvalue
        assert row.p_welch == pytest.approx(p_values[label])
        assert row.winners_curse == pytest.approx(VALUES[label][2] - values.mean())
    # Holm by hand: the i-th smallest of m p-values times (m - i + 1), running max, cap 1
    ordered = sorted(p_values, key=p_values.get)
    running = 0.0
    for i, label in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - i) * p_values[label]))
        assert table.loc[label].p_holm == pytest.approx(running)
    assert math.isnan(table.loc["paper"].p_welch) and math.isnan(table.loc["paper"].p_holm)
    assert table.index.tolist() == ["trial 7", "trial 21", "trial 9", "paper"]
    curse = np.mean([VALUES[k][2] - np.mean(VALUES[k][3]) for k in ordered])
    assert analysis.mean_winners_curse(table.reset_index()) == pytest.approx(curse)


def test_holm_keeps_nan_and_caps_at_one():
    adjusted = analysis.holm(pd.Series([0.01, math.nan, 0.04, 0.03, 0.6]))
    assert adjusted.tolist()[:1] == pytest.approx([0.04])
    assert math.isnan(adjusted[1])
    assert adjusted[[3, 2, 4]].tolist() == pytest.approx([0.09, 0.09, 0.6])


def test_one_seed_has_no_interval_and_no_reference_no_test():
    one = _confirmations()
    one = one[(one.seed == 1) & (one.role == "candidate")]
    table = analysis.confirmation_table(one, "final_acc")
    assert table[["std", "ci95_low", "p_welch", "diff_to_reference"]].isna().all().all()
    assert table.n_seeds.tolist() == [1, 1, 1]


def test_several_confirmations_are_kept_apart_and_a_missing_metric_is_named():
    both = pd.concat([_confirmations("a"), _confirmations("b")], ignore_index=True)
    table = analysis.confirmation_table(both, "final_acc")
    assert table.groupby("study").size().tolist() == [4, 4]
    with pytest.raises(KeyError, match="no metric 'valid_bpc'"):
        analysis.confirmation_table(both, "valid_bpc")
    assert analysis.confirmation_table(pd.DataFrame(), "final_acc").empty


def test_the_figure_draws_each_seed_each_search_value_and_the_reference_band():
    confirmations = _confirmations()
    table = analysis.confirmation_table(confirmations, "final_acc")
    fig = confirmation_figure(confirmations, table, "final_acc", True, "t")
    (shown,) = describe(fig)
    assert shown["points"] == 3 * len(SEEDS) + 3
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "trial 7", "trial 21", "trial 9"]
    assert shown["lines"] >= 1  # the reference's mean
