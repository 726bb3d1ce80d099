"""The study report: ``python -m analysis.report <study> [--results-dir DIR] [--out DIR]``.

    python -m analysis.report hypercl_splitmnist-quick      # results/<name>/report/index.html
    python -m analysis.report static_hnet_mnist --out paper/figures
    python -m analysis.report static_hnet_mnist-quick static_hnet_mnist-paper   # side by side

Reads the study's Parquet tables (and its Optuna storage, for fANOVA importance, where it can
be opened) and writes ``index.html`` (self-contained: figures embedded), every figure as PNG
and SVG under ``figures/``, every table as CSV and Markdown under ``tables/``, and
``report.json`` (what each figure shows: axes, labels, point and line counts).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from analysis import _figures, _forgetting
from analysis._compare import NothingToCompare, build_comparison
from analysis._confirmations import (
    confirmation_figure,
    confirmation_table,
    mean_winners_curse,
)
from analysis._html import Section, render
from analysis._importance import param_importance
from analysis._load import ResultsNotFound, SchemaVersionError, StudyResults, load
from analysis._output import Output, Report
from analysis._replay import diagnostics, drift_figure, final_figure, final_table
from analysis._scenarios import scenario_figure, scenario_table
from analysis._summary import (
    ablation_table,
    best_trials,
    group_column,
    objective_curves,
    trial_table,
)
from analysis.references import references_for

TOP_CURVES = 5
BEST_SHOWN = 10


#: What a figure's metric is, where its name alone leaves it open (which epoch a test figure
#: comes from: the papers report some at early stopping, some at the end).
METRIC_MEANINGS = {
    "test_error_at_best_valid": "test error in % at the epoch of the best validation error, "
                                "i.e. at early stopping, as Ha et al. report MNIST",
    "test_error": "test error in % at the last epoch",
    "valid_error": "validation error in % at the last epoch",
    "test_bpc": "test bits per character at the last epoch",
    "valid_bpc": "validation bits per character at the last epoch",
    "final_acc": "mean test accuracy in % over all tasks after the last one, in the trial's "
                 "scenario (CL1: the task given; CL2, CL3: not given)",
}


def _title(results: StudyResults, what: str) -> str:
    return f"{results.name}: {what}"


def _efficiency(results: StudyResults, table, best, out: Output) -> Section:
    section = Section("Parameter efficiency and best trials")
    info = results.info
    objective = info.objectives[0]
    if not (table.state == "COMPLETE").any():
        section.notes.append("No complete trial yet: nothing to plot.")
        return section
    refs = references_for(info.study, objective)
    fig = _figures.parameter_efficiency(
        table, objective, info.direction(objective) == "maximize", group_column(results),
        refs, _title(results, f"{objective} vs trainable parameters"))
    meaning = f" ({METRIC_MEANINGS[objective]})" if objective in METRIC_MEANINGS else ""
    out.figure(section, "parameter_efficiency", fig,
               f"{objective}{meaning} of each complete trial (mean over seeds) against its "
               "trainable parameters; dashed: Pareto front; crosses: the papers' published "
               "points, at the same measure")
    if not refs.empty:
        out.table(section, "references", refs[["label", "metric", "value", "params", "source",
                                                "note"]], "Published points on the figure")
    out.table(section, "best_trials", best.head(BEST_SHOWN), "Best trials")
    return section


def _forgetting_section(results: StudyResults, best: int | None, out: Output) -> Section:
    section = Section("Forgetting")
    acc = results.acc_matrix
    if best is None or acc[acc.trial == best].empty:
        section.notes.append("No complete trial with an accuracy matrix yet.")
        return section
    matrix = _forgetting.mean_matrix(acc, best)
    if matrix.shape[1] > _forgetting.LONG_SEQUENCE:
        out.figure(section, "memory_lifetime", _forgetting.lifetime_figure(
            matrix, _title(results, f"each task's accuracy, trial {best}")),
            f"Best trial {best}: each of the {matrix.shape[1]} tasks' test accuracy right "
            "after it was learned and after the last task (mean over seeds)")
    else:
        out.figure(section, "accuracy_matrix", _forgetting.accuracy_heatmap(
            matrix, _title(results, f"accuracy matrix of trial {best}")),
            f"Best trial {best}: test accuracy on task j after learning task i (mean over "
            "seeds)")
        out.figure(section, "task_accuracy", _forgetting.task_curves(
            matrix, _title(results, f"each task's accuracy, trial {best}")),
            f"Best trial {best}: each task's accuracy across the task sequence")
    runs = _forgetting.runs_by_beta(results)
    out.table(section, "continual_metrics", runs, "ACC, BWT and forgetting of every run")
    by_beta = _forgetting.beta_table(runs)
    if by_beta.empty:
        section.notes.append("No run records beta_output: no figure against it.")
        return section
    out.figure(section, "beta_output", _forgetting.beta_figure(
        by_beta, _title(results, "ACC, BWT and forgetting vs beta_output")),
        "Mean ± std over trials and seeds at each beta_output (n: runs)")
    out.table(section, "beta_output", by_beta, "ACC, BWT and forgetting per beta_output")
    return section


def _scenarios(results: StudyResults, out: Output) -> Section | None:
    table = scenario_table(results)
    if table.empty:
        return None
    section = Section("Scenarios")
    out.figure(section, "scenarios", scenario_figure(
        table, _title(results, "final accuracy per scenario and method")),
        "Final average accuracy (after the last task) per continual-learning scenario and "
        "method: mean ± std over runs (n in the table); crosses: the paper's Table 1")
    out.table(section, "scenarios", table, "Final accuracy per scenario and method, and the "
              "paper's (Table 1; NaN where it reports none)")
    return section


def _curves(results: StudyResults, best, out: Output) -> Section:
    section = Section("Learning curves")
    top = best.trial.head(TOP_CURVES).tolist()
    objective, curves = objective_curves(results, top)
    if curves.empty:
        section.notes.append("No per-epoch values of the objective for complete trials yet.")
        return section
    out.figure(section, "learning_curves", _figures.learning_curves(
        curves, objective, _title(results, f"{objective} per epoch, top trials")),
        f"{objective} per epoch of the {len(top)} best trials (mean over seeds)")
    return section


def _ablation(results: StudyResults, out: Output) -> Section | None:
    table = ablation_table(results)
    if table.empty:
        return None
    section = Section("Ablation")
    objective = results.info.objectives[0]
    group = results.info.group_by or "configuration"
    one_config = bool((table.trials == 1).all())
    averaged = ("seeds of one configuration" if one_config
                else "trials (different configurations) and their seeds")
    out.figure(section, "ablation", _figures.ablation_bars(
        table, group, objective, _title(results, f"{objective} per {group}"),
        "seeds" if one_config else "trials"),
        f"{objective} per {group}: mean ± standard deviation over {averaged}; n counts the "
        "runs (trial and seed pairs) averaged, trials the distinct configurations")
    out.table(section, "ablation", table, f"{objective} per {group}")
    return section


def _importance(results: StudyResults, storage: str | None, out: Output) -> Section:
    section = Section("Hyperparameter importance")
    importance, reason = param_importance(results.info, storage)
    if reason:
        section.notes.append(f"Not computed: {reason}.")
        return section
    objective = results.info.objectives[0]
    out.figure(section, "importance", _figures.importance_bars(
        importance, objective, _title(results, "fANOVA importance")),
        f"fANOVA importance of each parameter for {objective} (Optuna, from the storage)")
    out.table(section, "importance", importance, "fANOVA importance")
    return section


def _diagnostics(results: StudyResults, out: Output) -> Section | None:
    rows = diagnostics(results)
    if rows.empty:
        return None
    section = Section("Replay and task-inference diagnostics")
    drift = drift_figure(rows, _title(results, "replay decoder drift"))
    if drift is not None:
        out.figure(section, "decoder_drift", drift,
                   "How far each earlier task's replay decoder moved since it was learned "
                   "(||f_h(e_j, Θ) - f_h(e_j, Θ*_j)|| / ||f_h(e_j, Θ*_j)||), after each task; "
                   "mean over runs")
    table = final_table(rows)
    final = final_figure(table, _title(results, "after the last task"))
    if final is not None:
        out.figure(section, "task_inference", final,
                   "After the last task, per task: the share of its test inputs given their "
                   "own task, and the final learner on replay of it (HNET+TIR: assigned to "
                   "it; HNET+R: labelled as right after it was learned); mean over runs")
    out.table(section, "diagnostics", table, "After the last task: each diagnostic per task, "
              "mean over runs")
    return section


def _confirmation(results: StudyResults, out: Output) -> Section | None:
    confirmations = results.confirmations
    if confirmations.empty:
        return None
    section = Section("Confirmation under seeds")
    objective = results.info.objectives[0]
    maximize = results.info.direction(objective) == "maximize"
    table = confirmation_table(confirmations, objective)
    for study, rows in table.groupby("study", sort=True):
        seeds = confirmations[confirmations.study == study]
        name = "confirmation" if table.study.nunique() == 1 else f"confirmation-{study}"
        out.figure(section, name, confirmation_figure(
            seeds, rows, objective, maximize, f"{study}: {objective} under seeds"),
            f"{study}: {objective} of each confirmed configuration under "
            f"{seeds.seed.nunique()} seeds (points), its mean and 95% t interval, and the "
            "search's single value (cross), best in the search first; band: the reference's "
            "95% interval")
        curse = mean_winners_curse(rows)
        if pd.notna(curse):
            side = "overstated" if (curse > 0) == maximize else "understated"
            section.notes.append(f"{study}: on average the search {side} its winners' "
                                 f"{objective} by {abs(curse):.4g} (search value minus the "
                                 "mean over seeds)")
        reused = _reused_seeds(seeds)
        if reused:
            section.notes.append(f"{study}: seed(s) {reused} also ran in the search, so the "
                                 "means keep part of the winner's curse")
    out.table(section, "confirmation", table, f"{objective} per configuration: mean, std and "
              "95% t interval over seeds; difference to the reference with Welch's t-test "
              "p-value and its Holm correction across the candidates; winner's curse: the "
              "search's value minus the mean")
    return section


def _reused_seeds(seeds: pd.DataFrame) -> str:
    """The confirmation's seeds that the search also ran its candidates under."""
    searched = {int(s) for text in seeds.search_seeds.dropna() for s in str(text).split(",")
                if s.strip()}
    return ", ".join(str(s) for s in sorted(searched & set(seeds.seed.astype(int))))


def _meta(results: StudyResults, table) -> dict[str, str]:
    info = results.info
    counts = Counter(table.state) if not table.empty else Counter()
    objectives = ", ".join(f"{o} ({info.direction(o)})" for o in info.objectives)
    extra = {k: str(v) for k, v in info.extra.items() if k not in ("directions", "config")}
    return {"study": info.study, "preset": info.preset or "?", "model family": info.family,
            "objectives": objectives, **extra,
            "trials": ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
            or "none", "results": str(results.folder)}


def build_report(study: str, results_dir: str | Path = "results", out: str | Path | None = None,
                 storage: str | None = None) -> Report:
    """Write the report of ``study`` (stored or bare name) and return what was written."""
    results = load(study, results_dir)
    output = Output(Path(out) if out else results.folder / "report")
    table = trial_table(results)
    best = best_trials(table, results.info, k=len(table))
    notes = [] if not best.empty else [
        "No trial has completed yet: this report shows what there is."]
    sections = [_efficiency(results, table, best, output)]
    if results.info.family == "continual":
        sections.append(_forgetting_section(
            results, int(best.trial.iloc[0]) if not best.empty else None, output))
    sections += [s for s in [_scenarios(results, output), _diagnostics(results, output)]
                 if s is not None]
    sections += [s for s in [_confirmation(results, output)] if s is not None]
    sections.append(_curves(results, best, output))
    sections += [s for s in [_ablation(results, output)] if s is not None]
    sections.append(_importance(results, storage, output))
    everything = Section("All trials")
    output.table(everything, "trials", table, "Every trial (errors of failed ones included)")
    config = results.info.extra.get("config")
    if config:
        output.table(everything, "config", pd.DataFrame(
            {"field": list(config), "value": [str(v) for v in config.values()]}),
            "The study's configuration (preset, --set and flags; the runner's own fields "
            "aside)")
    sections.append(everything)
    report = output.report
    report.notes = notes + [n for s in sections for n in s.notes]
    report.html.write_text(render(f"{results.name}: study report", _meta(results, table),
                                  notes, sections))
    manifest = {"study": results.name, "figures": report.figures,
                "tables": {k: str(v) for k, v in report.tables.items()}, "notes": report.notes}
    (report.folder / "report.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", nargs="+", help="stored name (hyperlstm_ptb-quick) or a bare "
                        "study name; several: one report comparing them")
    parser.add_argument("--results-dir", default="results", type=Path)
    parser.add_argument("--out", type=Path, help="report folder (default: <study>/report; "
                        "several studies: <results-dir>/comparisons/<A>__<B>)")
    parser.add_argument("--storage", help="Optuna storage URL for importance (default: the "
                        "one the results name)")
    parser.add_argument("--metric", help="several studies: the metric compared (default: the "
                        "first study's first objective)")
    args = parser.parse_args(argv)
    several = len(args.study) > 1
    if args.metric and not several:
        print("error: --metric applies to a report of several studies", file=sys.stderr)
        return 2
    if args.storage and several:
        print("error: --storage applies to a report of one study", file=sys.stderr)
        return 2
    try:
        if not several:
            report = build_report(args.study[0], args.results_dir, args.out, args.storage)
        else:
            report = build_comparison(args.study, args.results_dir, args.out, args.metric)
    except (ResultsNotFound, SchemaVersionError, NothingToCompare) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot write the report: {err.strerror or err} "
              f"({err.filename or args.out})", file=sys.stderr)
        return 2
    print(f"report: {report.html} ({len(report.figures)} figures, {len(report.tables)} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
