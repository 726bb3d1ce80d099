"""ACC, BWT and forgetting on small accuracy matrices worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.metrics import (
    accuracy_matrix,
    backward_transfer,
    final_accuracy,
    forgetting,
    summarize,
)

# R[i, j]: after learning task i, accuracy on task j
R = {(0, 0): 90.0,
     (1, 0): 80.0, (1, 1): 95.0,
     (2, 0): 70.0, (2, 1): 97.0, (2, 2): 85.0}


def _rows(matrix: dict, trial: int = 0, seed: int = 0, study: str = "s") -> list[dict]:
    return [{"study": study, "trial": trial, "seed": seed, "trained_through": i,
             "eval_task": j, "accuracy": a} for (i, j), a in matrix.items()]


def test_the_three_metrics_by_hand():
    matrix = accuracy_matrix(pd.DataFrame(_rows(R)))
    assert matrix.shape == (3, 3) and math.isnan(matrix.loc[0, 2])
    # ACC = (70 + 97 + 85) / 3
    assert final_accuracy(matrix) == pytest.approx(84.0)
    # BWT = ((70 - 90) + (97 - 95)) / 2
    assert backward_transfer(matrix) == pytest.approx(-9.0)
    # forgetting: task 0 best 90 -> 70 (20), task 1 best 95 (rows 0..1) -> 97 (-2)
    assert forgetting(matrix) == pytest.approx(9.0)


def test_forgetting_uses_the_best_earlier_accuracy_not_the_first():
    r = {(0, 0): 60.0, (1, 0): 90.0, (1, 1): 80.0, (2, 0): 75.0, (2, 1): 80.0, (2, 2): 99.0}
    matrix = accuracy_matrix(pd.DataFrame(_rows(r)))
    assert forgetting(matrix) == pytest.approx(((90 - 75) + (80 - 80)) / 2)
    assert backward_transfer(matrix) == pytest.approx(((75 - 60) + (80 - 80)) / 2)


def test_one_task_has_no_transfer():
    matrix = accuracy_matrix(pd.DataFrame(_rows({(0, 0): 88.0})))
    assert final_accuracy(matrix) == 88.0
    assert math.isnan(backward_transfer(matrix)) and math.isnan(forgetting(matrix))


def test_summarize_gives_one_row_per_finished_run():
    unfinished = {(0, 0): 50.0, (1, 0): 40.0, (1, 1): 60.0}
    acc = pd.DataFrame(_rows(R) + _rows(R, seed=1) + _rows(unfinished, trial=1))
    table = summarize(acc)
    assert table[["trial", "seed"]].values.tolist() == [[0, 0], [0, 1]]
    assert table.acc.tolist() == pytest.approx([84.0, 84.0])
    assert table.bwt.tolist() == pytest.approx([-9.0, -9.0])
