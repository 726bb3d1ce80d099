"""``python -m analysis.report`` on real smoke studies (``smoke_results``: every registered
study's smoke preset through the real runner, Ray, the journal and Parquet), each report read
back as a person would: the files, and what each figure draws."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import analysis
from analysis.references import references_for
from analysis.report import build_report, main
from studies._runner.registry import load_study, study_names
from tests.smoke_studies import EXAMPLE, FAILING


def _figure(report, name: str) -> dict:
    axes = report.figures[name]
    assert len(axes) >= 1
    for suffix in (".png", ".svg"):
        assert (report.folder / "figures" / f"{name}{suffix}").stat().st_size > 1000
    return axes[0]


@pytest.mark.needs_data
@pytest.mark.parametrize("name", study_names())
def test_report_of_every_smoke_study(smoke_results, name, tmp_path):
    spec = load_study(name)
    report = build_report(f"{name}-smoke", smoke_results, tmp_path / "report")
    trials = pd.read_parquet(smoke_results / f"{name}-smoke" / "trials.parquet")
    complete = trials[trials.state == "COMPLETE"].groupby("trial").first()
    page = report.html.read_text()
    assert f"{name}-smoke: study report" in page and "data:image/png;base64," in page
    assert page.count("<figure>") == len(report.figures)
    for table in report.tables.values():
        assert table.is_file() and table.with_suffix(".md").is_file()
    assert json.loads((report.folder / "report.json").read_text())["figures"] == report.figures

    efficiency = _figure(report, "parameter_efficiency")
    refs = references_for(name, spec.objectives[0])
    assert efficiency["xscale"] == "log" and efficiency["xlabel"] == "trainable parameters"
    assert efficiency["ylabel"].startswith(spec.objectives[0].replace("_", " "))
    assert efficiency["points"] == len(complete) + len(refs)
    if name == "static_hnet_mnist":  # the paper's figure is at early stopping, and says so
        assert spec.objectives[0] == "test_error_at_best_valid" and len(refs) == 2
        assert "at early stopping" in page
    assert set(pd.read_csv(report.tables["best_trials"]).trial) <= set(complete.index)

    curves = _figure(report, "learning_curves")
    assert curves["xlabel"] == "epoch" and curves["lines"] == min(5, len(complete))
    assert all(n == spec.presets["smoke"].epochs for n in curves["line_points"])
    if "importance" in report.figures:
        assert _figure(report, "importance")["xlabel"].startswith("fANOVA importance")
    else:
        assert any(n.startswith("Not computed") for n in report.notes)
    if spec.family == "continual":
        _check_forgetting(report, spec.presets["smoke"].num_tasks,
                          spec.presets["smoke"].eval_during)
    if name == "hyperlstm_ablation":  # two seeds per cell: bars with their n
        bars = pd.read_csv(report.tables["ablation"])
        assert (bars.n == 2).all() and (bars.trials == 1).all() and len(bars) == len(complete)
        ablation = _figure(report, "ablation")
        assert ablation["points"] == len(bars) and ablation["bars"] == 0  # points, not bars
        assert ablation["xlabel"].endswith("mean ± std over seeds")
        assert "over seeds of one configuration" in page
    if name == "hypercl_scenarios":  # 3 scenarios x 5 methods, the paper's Table 1 beside
        cells = pd.read_csv(report.tables["scenarios"])
        assert len(cells) == 15 and set(cells.scenario) == {1, 2, 3}
        assert set(cells.method) == {"HNET", "HNET+ENT", "HNET+R", "HNET+TIR", "fine-tuning",
                                     "online EWC"}
        assert cells.paper.notna().any()
        assert _figure(report, "scenarios")["points"] >= 15
        _check_diagnostics(report)
    assert '<div class="scroll"><table' in page  # wide tables scroll


def _check_diagnostics(report) -> None:
    """Two tasks: task 0's decoder drift, every task's inference (the methods that infer it,
    CL2 and CL3) and the replay accuracy of task 0 (the last task has no decoder)."""
    table = pd.read_csv(report.tables["diagnostics"]).set_index(["scenario", "method",
                                                                 "diagnostic"])
    replaying = {(s, m) for s in (1, 2, 3) for m in ("HNET+R", "HNET+TIR") if (s, m) != (1,
                                                                                     "HNET+TIR")}
    for cell in replaying:
        assert 0 <= table.loc[(*cell, "decoder_drift"), "task 0"] < 1
        assert 0 <= table.loc[(*cell, "replay_acc"), "task 0"] <= 100
        assert math.isnan(table.loc[(*cell, "decoder_drift"), "task 1"])
    inferring = {(s, m) for s in (2, 3) for m in ("HNET+ENT", "HNET+TIR")}
    inferred = table.xs("task_inference_acc", level="diagnostic")
    assert set(inferred.index) == inferring
    assert inferred[["task 0", "task 1"]].notna().all().all()
    assert (table.runs == 1).all()
    drift = report.figures["decoder_drift"]
    assert len(drift) == len(replaying) and all(a["lines"] == 1 for a in drift)
    assert [a["ylabel"] for a in report.figures["task_inference"]] == [
        "task inferred right (%)", "final learner on replay (%)"]


def _check_forgetting(report, tasks: int, every_row: bool) -> None:
    heatmap = _figure(report, "accuracy_matrix")
    assert (heatmap["xlabel"], heatmap["ylabel"]) == ("task evaluated j", "after learning task i")
    curves = _figure(report, "task_accuracy")
    if every_row:  # task j is seen T - j times
        assert curves["line_points"] == list(range(tasks, 0, -1))
    else:  # when learned and after the last task
        assert curves["line_points"] == [2] * (tasks - 1) + [1]
    runs = pd.read_csv(report.tables["continual_metrics"])
    if "beta_output" in report.figures:
        betas = runs.beta_output.nunique()
        assert [a["line_points"] for a in report.figures["beta_output"]] == [[betas]] * 3
        assert report.figures["beta_output"][1]["ylabel"].startswith("backward transfer")


@pytest.mark.needs_data
def test_a_study_without_complete_trials_reports_what_there_is(smoke_results, tmp_path):
    report = build_report(FAILING, smoke_results, tmp_path / "report")
    assert "No trial has completed yet" in report.notes[0]
    every = pd.read_csv(report.tables["trials"])
    assert set(every.state) == {"FAIL"} and every.error.str.contains("synthetic failure").all()
    assert "parameter_efficiency" not in report.figures
    assert "No trial has completed yet" in report.html.read_text()


def test_a_flag_of_the_other_kind_of_report_is_refused(tmp_path, capsys):
    assert main(["a", "--metric", "final_acc", "--results-dir", str(tmp_path)]) == 2
    assert main(["a", "b", "--storage", "sqlite:///x.db", "--results-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --metric applies to a report of several studies",
        "error: --storage applies to a report of one study"]


def test_unknown_study_or_empty_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["nope", "--results-dir", str(tmp_path)]) == 2
    assert main(["nope", "--results-dir", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("error: no results for 'nope'")
    assert err[1] == f"error: no results folder {tmp_path / 'missing'}"


@pytest.mark.needs_data
def test_studies_side_by_side(smoke_results, tmp_path, capsys):
    """A user's study against ours on one figure: the metric both report, each study's
    points and front, one best-trials table, the best trials' curves on shared axes."""
    names = [f"{EXAMPLE}-smoke", "static_hnet_mnist-smoke"]
    assert main([*names, "--results-dir", str(smoke_results), "--out", str(tmp_path / "c")]) == 0
    manifest = json.loads((tmp_path / "c" / "report.json").read_text())
    assert manifest["metric"] == "valid_error"  # the first study's objective; both report it
    both = analysis.load(names, smoke_results)
    assert list(both.trials.study.unique()) == names
    complete = both.trials[both.trials.state == "COMPLETE"].groupby(["study", "trial"])
    efficiency = manifest["figures"]["parameter_efficiency"][0]
    assert efficiency["points"] == complete.ngroups and efficiency["xscale"] == "log"
    best = pd.read_csv(tmp_path / "c" / "tables" / "best_trials.csv")
    assert list(best.study.unique()) == names and set(best.columns) >= {
        "trial", "valid_error", "trainable_params", "seeds", "parameters"}
    for _, rows in best.groupby("study"):
        assert rows.valid_error.is_monotonic_increasing  # best first, lower is better
    curves = manifest["figures"]["learning_curves"][0]
    assert curves["lines"] == 2 and curves["xlabel"] == "epoch"
    page = (tmp_path / "c" / "index.html").read_text()
    assert " vs ".join(names) in page and page.count("<figure>") == 2
    assert "file " in page  # the user's study says where it came from


@pytest.mark.needs_data
def test_studies_without_the_metric_are_refused_in_one_line(smoke_results, capsys):
    argv = ["synthetic-smoke", "hypercl_splitmnist-smoke", "--results-dir", str(smoke_results)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "error: no 'valid_loss' in hypercl_splitmnist-smoke; metrics all of them report:")
    assert main([*argv, "--metric", "nope"]) == 2
    assert main(["synthetic-smoke", "synthetic-smoke", "--results-dir", str(smoke_results)]) == 2
    assert "name each stored study once" in capsys.readouterr().err


def test_a_long_sequence_is_drawn_as_each_tasks_accuracy():
    """Thirty tasks, each evaluated when learned and after the last (``eval_during`` off):
    the memory-lifetime figure has both curves over every task; ACC and BWT come from the
    diagonal and the last row, and forgetting (which needs the rows between) is NaN."""
    from analysis import _forgetting, metrics
    from analysis._output import describe

    tasks = 30
    rows = [(j, j, 98.0) for j in range(tasks)] + [(tasks - 1, j, 98.0 - j / 10)
                                                   for j in range(tasks - 1)]
    acc = pd.DataFrame([{"study": "s", "trial": 0, "seed": 0, "scenario": 1,
                         "trained_through": i, "eval_task": j, "accuracy": a}
                        for i, j, a in rows])
    matrix = _forgetting.mean_matrix(acc, 0)
    shown = describe(_forgetting.lifetime_figure(matrix, "t"))[0]
    assert shown["lines"] == 2 and shown["line_points"] == [tasks, tasks]
    (summary,) = metrics.summarize(acc).to_dict("records")
    assert summary["bwt"] == pytest.approx(-sum(j / 10 for j in range(tasks - 1)) / (tasks - 1))
    assert math.isnan(summary["forgetting"])  # its best in between is not known
