"""``python -m studies.confirm``: a stored search's best configurations re-run under seeds,
with a reference, on real Ray and a real journal; and its bad input, refused before anything
is written."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import time

import optuna
import pandas as pd
import pytest

import analysis
from analysis.report import build_report
from studies._runner.config import ConfigError
from studies._runner.confirmation import candidates, reference
from studies.confirm import main
from studies.synthetic import SPEC as SYNTHETIC
from tests.studies.conftest import REPO

STUDY = "tests/studies/files/noisy_quadratic.py"
SEARCH = "noisy_quadratic-smoke"


def _search(runner) -> pd.DataFrame:
    done = runner.run(STUDY, "--preset", "smoke")
    assert done.returncode == 0, done.stderr
    return runner.trials(SEARCH)


def test_confirms_the_best_under_seeds_against_the_reference(runner, tmp_path):
    runner.env["NOISY_QUADRATIC_MARKERS"] = str(tmp_path)  # seed 2's first run fails
    trials = _search(runner)
    done = runner.confirm(STUDY, "--preset", "smoke", "--top", "2", "--seeds", "1,2,3",
                          "--against", "smoke")
    assert done.returncode == 0, done.stderr
    best = trials[trials.state == "COMPLETE"].sort_values("value_score", ascending=False)
    rows = pd.read_parquet(runner.results / f"{SEARCH}-confirm" / "confirmations.parquet")
    assert len(rows) == 3 * 3  # two candidates and the reference, three seeds each
    candidates = rows[rows.role == "candidate"].drop_duplicates("configuration")
    assert candidates.search_trial.astype(int).tolist() == best.trial.head(2).tolist()
    assert candidates.search_score.tolist() == pytest.approx(best.value_score.head(2).tolist())
    reference = rows[rows.role == "reference"]
    assert set(reference.configuration) == {"smoke"} and set(reference.param_x) == {0.0}
    assert set(rows.seed) == {1, 2, 3}
    # seed 2's first run failed: its trial was queued again with its configuration, so each
    # configuration ran once to completion and the failed attempt is on record
    confirm_trials = runner.trials(f"{SEARCH}-confirm")
    assert (confirm_trials.state == "FAIL").any()
    assert (confirm_trials[confirm_trials.state == "COMPLETE"].groupby("trial").size() == 3).all()
    assert confirm_trials[confirm_trials.state == "COMPLETE"].trial.nunique() == 3

    results = analysis.load(SEARCH, runner.results)  # the search finds its confirmation
    table = analysis.confirmation_table(results.confirmations, "score")
    assert table.role.tolist() == ["candidate", "candidate", "reference"]
    assert table.search_rank.head(2).tolist() == [1, 2]

    again = runner.confirm(STUDY, "--preset", "smoke", "--top", "2", "--seeds", "1,2,3",
                           "--against", "smoke")
    assert again.returncode == 0, again.stderr  # continues: nothing left to run
    study = runner.load_study(f"{SEARCH}-confirm")
    assert sum(t.state.name == "COMPLETE" for t in study.trials) == 3

    other = runner.confirm(STUDY, "--preset", "smoke", "--top", "1", "--seeds", "1,2,3",
                           "--against", "smoke")
    assert other.returncode == 2 and "--confirm-name" in other.stderr


def test_the_report_has_the_confirmation_section(runner):
    _search(runner)
    done = runner.confirm(STUDY, "--preset", "smoke", "--top", "3", "--seeds", "4,5",
                          "--against", "none")
    assert done.returncode == 0, done.stderr
    report = build_report(SEARCH, runner.results)
    assert "confirmation" in report.tables
    shown = report.figures["confirmation"][0]
    assert shown["points"] == 3 * 2 + 3  # each seed, and each search value
    assert "Confirmation under seeds" in report.html.read_text()


def test_a_stopped_confirmation_continues_where_it_stopped(runner):
    done = runner.run(STUDY, "--preset", "smoke", "--set", "sleep_s=0.4")
    assert done.returncode == 0, done.stderr
    args = (STUDY, "--preset", "smoke", "--top", "3", "--seeds", "1,2", "--against", "none")
    driver = subprocess.Popen(runner.command(*args, module="studies.confirm"), env=runner.env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    lines = []
    for line in driver.stdout:  # --quiet: one line per finished trial
        lines.append(line)
        if " COMPLETE " in line:
            break
    time.sleep(0.5)  # the next configuration is mid-way
    driver.send_signal(signal.SIGTERM)
    output = "".join(lines) + driver.communicate(timeout=60)[0]
    assert driver.returncode == 143, output
    folder = runner.results / f"{SEARCH}-confirm"
    stopped = pd.read_parquet(folder / "confirmations.parquet")  # written when it stopped
    assert stopped.configuration.nunique() == 1 and len(stopped) == 2
    again = runner.confirm(*args)
    assert again.returncode == 0, again.stderr
    rows = pd.read_parquet(folder / "confirmations.parquet")
    assert rows.groupby("configuration").seed.apply(sorted).tolist() == [[1, 2]] * 3
    first = rows[rows.configuration == stopped.configuration.iloc[0]]
    assert first.final_score.tolist() == stopped.final_score.tolist()  # not run again
    trials = runner.trials(f"{SEARCH}-confirm")
    assert (trials.error.dropna() == "stopped by SIGTERM; queued again for the next run").all()
    assert trials[trials.state == "COMPLETE"].trial.nunique() == 3


def _journal_bytes(runner) -> bytes:
    return (runner.results / "optuna.journal").read_bytes()


@pytest.mark.parametrize("args, says", [
    (["--top", "7"], "fewer than --top 7"),
    (["--seeds", "1,2,1"], "1 named more than once"),
    (["--against", "nope"], "has no preset 'nope'"),
    (["--study-name", "missing"], "no study 'missing' in the storage"),
    (["--top", "0"], "--top must be >= 1"),
])
def test_bad_input_is_one_line_and_writes_nothing(runner, capsys, args, says):
    _search(runner)
    before = _journal_bytes(runner)
    argv = [STUDY, "--preset", "smoke", "--seeds", "1,2", "--results-dir",
            str(runner.results), *args]
    if "--seeds" in args:
        argv[3:5] = []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert _journal_bytes(runner) == before
    assert not (runner.results / f"{SEARCH}-confirm").exists()


def test_a_storage_that_does_not_exist_is_not_created(tmp_path, capsys):
    assert main([STUDY, "--preset", "smoke", "--seeds", "1,2", "--results-dir",
                 str(tmp_path)]) == 2
    assert "no Optuna storage at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _stored(directions: list[str], trials: list[tuple[float, list[float]]]) -> optuna.Study:
    study = optuna.create_study(directions=directions)
    for x, values in trials:
        study.add_trial(optuna.trial.create_trial(
            params={"x": x}, distributions={"x": optuna.distributions.FloatDistribution(-1, 1)},
            values=values))
    return study


def test_candidates_are_the_best_distinct_configurations_best_first():
    study = _stored(["minimize"], [(0.1, [0.5]), (0.2, [0.2]), (0.2, [0.1]), (0.3, [0.3])])
    found = candidates(study, SYNTHETIC, ["valid_loss"], 2)
    assert [(c.search_trial, c.rank, c.params) for c in found] == [
        (2, 1, {"x": 0.2}), (3, 2, {"x": 0.3})]  # trial 1 repeats trial 2's x
    assert found[0].search_metrics["valid_loss"] == 0.1
    with pytest.raises(ConfigError, match="3 complete trials .distinct configurations., "
                                          "fewer than --top 4"):
        candidates(study, SYNTHETIC, ["valid_loss"], 4)


def test_several_objectives_confirm_the_pareto_front_by_the_first():
    study = _stored(["minimize", "minimize"], [
        (0.1, [0.3, 100.0]), (0.2, [0.1, 300.0]), (0.3, [0.4, 400.0]), (0.4, [0.2, 200.0])])
    front = candidates(study, SYNTHETIC, ["valid_loss", "params"], None)
    assert [c.search_trial for c in front] == [1, 3, 0]  # trial 2 is dominated
    assert [c.search_trial for c in candidates(study, SYNTHETIC, ["valid_loss", "params"],
                                               2)] == [1, 3]


def test_the_default_reference_is_left_out_with_a_note_where_it_cannot_run():
    notes: list[str] = []
    config = SYNTHETIC.presets["smoke"]
    assert reference(SYNTHETIC, config, "paper", False, notes) is None  # a grid of 5 points
    assert notes == ["no reference: synthetic's paper preset names a grid of several points, "
                     "not one configuration"]
    with pytest.raises(ConfigError, match="--against paper: .* pass --against none"):
        reference(SYNTHETIC, config, "paper", True, [])
    one = dataclasses.replace(config, grid_x=(0.5,))
    moved = dataclasses.replace(one, sleep_s=1.0)  # a fixed field the preset sets otherwise
    spec = dataclasses.replace(SYNTHETIC, presets={**SYNTHETIC.presets, "smoke": one})
    found = reference(spec, one, "smoke", True, [])
    assert found is not None and found.params == {"x": 0.5} and found.role == "reference"
    notes = []
    assert reference(spec, moved, "smoke", False, notes) is None
    assert "differs from the smoke preset in what it fixes" in notes[0]
