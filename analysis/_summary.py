"""Per-trial tables derived from a study's results: the numbers behind the report's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._load import StudyInfo, StudyResults


def param_columns(trials: pd.DataFrame) -> list[str]:
    return [c for c in trials.columns if c.startswith("param_")]


def trial_table(results: StudyResults) -> pd.DataFrame:
    """One row per trial: state, ``param_*``, ``value_*``, trainable parameters (mean over
    seeds), seeds run, wall time and error."""
    trials = results.trials
    if trials.empty:
        return pd.DataFrame(columns=["trial", "state", "trainable_params", "seeds"])
    keep = ["state", *param_columns(trials),
            *[c for c in trials.columns if c.startswith("value_")], "wall_time_s", "error"]
    grouped = trials.groupby("trial", sort=True)
    table = grouped[[c for c in keep if c in trials.columns]].first()
    table["trainable_params"] = grouped["trainable_params"].mean()
    table["seeds"] = grouped["seed"].nunique()
    return table.reset_index()


def pareto_mask(x: pd.Series, y: pd.Series, maximize: bool) -> np.ndarray:
    """Points no other point beats on both fewer parameters ``x`` and a better ``y``."""
    score = -y.to_numpy(float) if maximize else y.to_numpy(float)
    xs = x.to_numpy(float)
    mask = np.ones(len(xs), dtype=bool)
    for i in range(len(xs)):
        better = (xs <= xs[i]) & (score <= score[i]) & ((xs < xs[i]) | (score < score[i]))
        mask[i] = not better.any()
    return mask


def best_trials(table: pd.DataFrame, info: StudyInfo, k: int = 10) -> pd.DataFrame:
    """The ``k`` best complete trials by the first objective (with several objectives, the
    Pareto front over them comes first)."""
    done = table[table.state == "COMPLETE"].copy()
    values = [f"value_{o}" for o in info.objectives if f"value_{o}" in done.columns]
    if done.empty or not values:
        return done.head(0)
    first = values[0]
    ascending = info.direction(info.objectives[0]) == "minimize"
    if len(values) > 1:
        scores = np.column_stack([done[v] * (1 if info.direction(v[6:]) == "minimize" else -1)
                                  for v in values])
        dominated = [(np.all(scores <= row, axis=1) & np.any(scores < row, axis=1)).any()
                     for row in scores]
        done["pareto_front"] = ~np.array(dominated)
        done = done.sort_values(["pareto_front", first], ascending=[False, ascending])
    else:
        done = done.sort_values(first, ascending=ascending)
    columns = ["trial", *param_columns(done), *values, "trainable_params", "seeds",
               "wall_time_s", *(["pareto_front"] if len(values) > 1 else [])]
    return done[columns].head(k).reset_index(drop=True)


def group_column(results: StudyResults) -> str | None:
    """The trials-table column naming a trial's model variant, if the study has one."""
    column = f"param_{results.info.group_by}" if results.info.group_by else None
    return column if column in results.trials.columns else None


def ablation_table(results: StudyResults) -> pd.DataFrame:
    """Mean, standard deviation and number of runs (``n``: trial-seed pairs) of the first
    objective per variant (the study's ``group_by`` parameter, else every parameter), over
    complete trials, and how many distinct ``trials`` they come from (1: the seeds of one
    configuration; more: a search's different configurations of that variant); empty unless
    some variant ran more than once."""
    metric = f"final_{results.info.objectives[0]}"
    trials = results.trials
    if trials.empty or metric not in trials.columns:
        return pd.DataFrame()
    runs = trials[trials.state == "COMPLETE"]
    by = [group_column(results)] if group_column(results) else param_columns(trials)
    if runs.empty or not by:
        return pd.DataFrame()
    variant = runs[by].astype(str).agg(
        lambda row: row.iloc[0] if len(by) == 1 else ", ".join(
            f"{k.removeprefix('param_')}={v}" for k, v in row.items()), axis=1)
    grouped = runs.assign(variant=variant).groupby("variant")
    table = (grouped[metric].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
             .join(grouped.trial.nunique().rename("trials")).reset_index())
    if table.n.max() < 2:
        return pd.DataFrame()
    ascending = results.info.direction(results.info.objectives[0]) == "minimize"
    return table.sort_values("mean", ascending=ascending).reset_index(drop=True)


def split_metric(name: str) -> tuple[str, str]:
    """``valid_bpc`` -> ``("valid", "bpc")``, as the epochs table stores it; ``params`` ->
    ``("", "params")``."""
    split, _, metric = name.partition("_")
    if split not in ("train", "valid", "test") or not metric:
        return "", name
    return split, metric


def objective_curves(results: StudyResults, trials: list[int]) -> tuple[str, pd.DataFrame]:
    """The first objective's per-epoch values of ``trials`` (mean over seeds): its name and
    a frame of trial, epoch, value."""
    objective = results.info.objectives[0]
    split, metric = split_metric(objective)
    epochs = results.epochs
    rows = epochs[(epochs.split == split) & (epochs.metric == metric)
                  & epochs.trial.isin(trials)]
    curves = rows.groupby(["trial", "epoch"], as_index=False)["value"].mean()
    return objective, curves
