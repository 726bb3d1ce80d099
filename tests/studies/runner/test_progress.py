"""The live view as a terminal shows it, and the quiet mode's one line per trial."""

from __future__ import annotations

import optuna
from rich.console import Console

from studies._runner.progress import Progress


def _finished(number: int, value: float, x: float, state=optuna.trial.TrialState.COMPLETE,
              error: str | None = None) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(
        state=state, value=value if state == optuna.trial.TrialState.COMPLETE else None,
        params={"x": x, "cell": "hyperlstm"},
        distributions={"x": optuna.distributions.FloatDistribution(-1, 1),
                       "cell": optuna.distributions.CategoricalDistribution(["hyperlstm"])},
        user_attrs={"error": error} if error else {})
    trial.number = number
    return trial


def _screen(progress: Progress, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(progress._render())
    return console.export_text().splitlines()


def test_live_view_shows_bar_best_and_running_trials():
    progress = Progress("hyperlstm_ptb-quick", target=10, already=2, objective="valid_bpc",
                        quiet=True, epochs=5)
    best = _finished(3, 1.61803, 0.123456)
    progress.trial_finished(best, best)
    progress.trial_finished(_finished(4, 0, 0.9, optuna.trial.TrialState.FAIL), best)
    progress.trial_started(7, {"cell": "ln_hyperlstm", "lr": 0.00123456})
    progress.trial_epoch(7, 2, 2.5)
    screen = _screen(progress, width=80)
    assert screen[0].startswith("hyperlstm_ptb-quick ")
    assert "3/10 trials" in screen[0] and "ETA" in screen[0]  # one line at 80 columns
    assert screen[1].startswith("0 pruned, 1 failed; best: trial 3, valid_bpc 1.618")
    assert "x=0.123, cell=hyperlstm" in screen[1]
    (row,) = [line for line in screen if line.strip().startswith("7 ")]
    assert row.split()[:4] == ["7", "│", "2/5", "│"]
    assert "2.5" in row and "cell=ln_hyperlstm, lr=0.00123" in row


def test_quiet_mode_prints_one_line_per_trial_with_its_error(capsys):
    progress = Progress("synthetic-smoke", target=4, already=0, objective="valid_loss",
                        quiet=True)
    progress.trial_finished(_finished(0, 0.5, 0.1), None)
    progress.trial_finished(_finished(1, 0, 0.9, optuna.trial.TrialState.FAIL,
                                      "RuntimeError: boom"), None)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[synthetic-smoke] trial 0 COMPLETE valid_loss=0.5 (1/4 done")
    assert lines[1].startswith("[synthetic-smoke] trial 1 FAIL valid_loss=- error: "
                               "RuntimeError: boom (1/4 done, 0 pruned, 1 failed")
