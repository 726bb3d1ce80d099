"""``analysis.load`` on Parquet tables laid out as the runner writes them."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis


def _write_study(root, name: str, acc: bool) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    pd.DataFrame({"study": [name], "trial": [0], "state": ["COMPLETE"]}).to_parquet(
        folder / "trials.parquet")
    pd.DataFrame({"study": [name], "trial": [0], "seed": [0], "epoch": [1], "split": ["valid"],
                  "metric": ["loss"], "value": [1.0]}).to_parquet(folder / "epochs.parquet")
    if acc:
        pd.DataFrame({"study": [name], "trial": [0], "seed": [0], "trained_through": [0],
                      "eval_task": [0], "accuracy": [99.0]}).to_parquet(
            folder / "acc_matrix.parquet")


def test_load_by_stored_or_bare_name(tmp_path):
    _write_study(tmp_path, "hypercl_splitmnist-quick", acc=True)
    _write_study(tmp_path, "synthetic-smoke", acc=False)
    _write_study(tmp_path, "synthetic-quick", acc=False)
    results = analysis.load("hypercl_splitmnist", tmp_path)
    assert results.name == "hypercl_splitmnist-quick"
    assert len(results.trials) == 1 and results.acc_matrix.accuracy.tolist() == [99.0]
    plain = analysis.load("synthetic-smoke", tmp_path)
    assert plain.acc_matrix.empty and "eval_task" in plain.acc_matrix.columns
    with pytest.raises(analysis.ResultsNotFound, match="matches synthetic-quick, synthetic-smoke"):
        analysis.load("synthetic", tmp_path)
    with pytest.raises(analysis.ResultsNotFound, match="no results for 'nope'.*stored: hypercl"):
        analysis.load("nope", tmp_path)
