"""Studies side by side: ``python -m analysis.report A B [C ...]``.

One parameter-efficiency figure with every study's complete trials (each study its own colour
and its own Pareto front), one table of each study's best trials, and the best trial of each
study's learning curve on shared axes. The metric compared is ``--metric``, else the first
study's first objective; every study must report it. Each trial's value is the mean over its
seeds of the metric's last reported value (what ``final_<metric>`` holds), so studies with
different objectives compare on one measure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

from analysis._html import Section, render
from analysis._load import ComparedResults, load
from analysis._output import Output, Report
from analysis._summary import pareto_mask, split_metric

BEST_PER_STUDY = 3
SIZE = (7.2, 4.4)


class NothingToCompare(ValueError):
    """The studies share no metric (or not the one asked for); the message is one line."""


def _reported(compared: ComparedResults, name: str) -> set[str]:
    study = next(s for s in compared.studies if s.name == name)
    return {c.removeprefix("final_") for c in study.trials.columns if c.startswith("final_")
            and pd.api.types.is_numeric_dtype(study.trials[c])}  # not a run's description


def compared_metric(compared: ComparedResults, metric: str | None) -> str:
    """``metric``, or the first study's first objective, checked to be reported by all."""
    wanted = metric or compared.studies[0].info.objectives[0]
    missing = [n for n in compared.names if wanted not in _reported(compared, n)]
    if missing:
        common = set.intersection(*(_reported(compared, n) for n in compared.names))
        raise NothingToCompare(
            f"no {wanted!r} in {', '.join(missing)}; metrics all of them report: "
            f"{', '.join(sorted(common)) or 'none'} (pass --metric)")
    return wanted


def _parameters(row: pd.Series) -> str:
    return ", ".join(f"{k.removeprefix('param_')}={v}" for k, v in row.items() if pd.notna(v))


def per_trial(compared: ComparedResults, metric: str) -> pd.DataFrame:
    """One row per complete trial of every study: its mean ``metric`` over seeds, trainable
    parameters, seeds and parameters (as one text column, since studies differ in them)."""
    done = compared.trials[compared.trials.state == "COMPLETE"]
    grouped = done.groupby(["study", "trial"], sort=False)
    table = grouped.agg(value=(f"final_{metric}", "mean"),
                        trainable_params=("trainable_params", "mean"),
                        seeds=("seed", "nunique")).reset_index()
    params = [c for c in done.columns if c.startswith("param_")]
    firsts = grouped[params].first().reset_index(drop=True)
    table["parameters"] = firsts.apply(_parameters, axis=1) if params else ""
    return table.rename(columns={"value": metric})


def best_per_study(table: pd.DataFrame, metric: str, maximize: bool,
                   k: int = BEST_PER_STUDY) -> pd.DataFrame:
    """The ``k`` best trials of each study by ``metric``, studies in the order given."""
    ordered = table.sort_values(metric, ascending=not maximize, kind="stable")
    best = ordered.groupby("study", sort=False).head(k)
    order = {name: i for i, name in enumerate(table.study.unique())}
    return best.sort_values("study", key=lambda s: s.map(order), kind="stable"
                            ).reset_index(drop=True)


def best_curves(compared: ComparedResults, best: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The per-epoch ``metric`` (mean over seeds) of each study's best trial."""
    split, name = split_metric(metric)
    top = best.groupby("study", sort=False).head(1)[["study", "trial"]]
    epochs = compared.epochs
    rows = epochs[(epochs.split == split) & (epochs.metric == name)].merge(top)
    return rows.groupby(["study", "trial", "epoch"], as_index=False, sort=False)["value"].mean()


def efficiency_figure(table: pd.DataFrame, metric: str, maximize: bool) -> Figure:
    """``metric`` against trainable parameters (log x), a colour and a Pareto front per study."""
    fig, ax = plt.subplots(figsize=SIZE)
    for i, (study, rows) in enumerate(table.groupby("study", sort=False)):
        colour = f"C{i % 10}"
        rows = rows.dropna(subset=["trainable_params", metric])
        ax.scatter(rows.trainable_params, rows[metric], s=36, color=colour,
                   label=f"{study} ({len(rows)} trials)")
        front = rows[pareto_mask(rows.trainable_params, rows[metric], maximize)]
        front = front.sort_values("trainable_params")
        ax.step(front.trainable_params, front[metric], where="post", color=colour, lw=1,
                ls="--")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel(f"{metric} ({'higher' if maximize else 'lower'} is better)")
    ax.set_title(f"{metric} vs trainable parameters, by study")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def curves_figure(curves: pd.DataFrame, metric: str) -> Figure:
    """Each study's best trial: ``metric`` per epoch, on one pair of axes."""
    fig, ax = plt.subplots(figsize=SIZE)
    for i, ((study, trial), rows) in enumerate(curves.groupby(["study", "trial"], sort=False)):
        ax.plot(rows.epoch, rows.value, marker="o", ms=3, color=f"C{i % 10}",
                label=f"{study}, trial {trial}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per epoch, each study's best trial")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _studies_table(compared: ComparedResults) -> pd.DataFrame:
    return pd.DataFrame([{
        "study": s.name, "source": s.info.extra.get("source", "not recorded"),
        "preset": s.info.preset or "?", "objectives": ", ".join(s.info.objectives),
        "complete trials": int((s.trials.groupby("trial").state.first() == "COMPLETE").sum())
        if not s.trials.empty else 0, "results": str(s.folder)} for s in compared.studies])


def default_folder(names: Sequence[str], results_dir: str | Path) -> Path:
    return Path(results_dir) / "comparisons" / "__".join(names)


def build_comparison(names: Sequence[str], results_dir: str | Path = "results",
                     out: str | Path | None = None, metric: str | None = None) -> Report:
    """Write the side-by-side report of the stored studies ``names`` (two or more)."""
    compared = load(list(names), results_dir)
    metric = compared_metric(compared, metric)
    maximize = compared.studies[0].info.direction(metric) == "maximize"
    output = Output(Path(out) if out else default_folder(compared.names, results_dir))
    table = per_trial(compared, metric)
    best = best_per_study(table, metric, maximize)
    studies = Section("Studies")
    output.table(studies, "studies", _studies_table(compared), "The studies compared")
    efficiency = Section("Parameter efficiency")
    output.figure(efficiency, "parameter_efficiency", efficiency_figure(table, metric, maximize),
                  f"{metric} (mean over seeds of its last value) of every complete trial "
                  "against its trainable parameters; dashed: each study's Pareto front")
    output.table(efficiency, "best_trials", best,
                 f"The {BEST_PER_STUDY} best trials of each study by {metric}")
    curves = Section("Learning curves")
    rows = best_curves(compared, best, metric)
    if rows.empty:
        curves.notes.append(f"No per-epoch {metric} of a best trial.")
    else:
        output.figure(curves, "learning_curves", curves_figure(rows, metric),
                      f"{metric} per epoch of each study's best trial (mean over seeds)")
    sections = [studies, efficiency, curves]
    report = output.report
    report.notes = [n for s in sections for n in s.notes]
    title = f"{' vs '.join(compared.names)}: studies compared"
    report.html.write_text(render(title, {"metric": metric, "studies": ", ".join(compared.names)},
                                  [], sections))
    manifest = {"studies": compared.names, "metric": metric, "figures": report.figures,
                "tables": {k: str(v) for k, v in report.tables.items()}, "notes": report.notes}
    (report.folder / "report.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return report
