"""``analysis.load`` on Parquet tables laid out as the runner writes them."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import analysis
from analysis._load import SCHEMA_KEY


def _parquet(frame: pd.DataFrame, path, version: str | None = "1") -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if version is not None:
        table = table.replace_schema_metadata({**table.schema.metadata,
                                               SCHEMA_KEY: version.encode()})
    pq.write_table(table, path)


def _write_study(root, name: str, acc: bool, version: str | None = "1") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    _parquet(pd.DataFrame({"study": [name], "trial": [0], "state": ["COMPLETE"]}),
             folder / "trials.parquet", version)
    _parquet(pd.DataFrame({"study": [name], "trial": [0], "seed": [0], "epoch": [1],
                           "split": ["valid"], "metric": ["loss"], "value": [1.0]}),
             folder / "epochs.parquet", version)
    if acc:
        _parquet(pd.DataFrame({"study": [name], "trial": [0], "seed": [0],
                               "trained_through": [0], "eval_task": [0], "accuracy": [99.0]}),
                 folder / "acc_matrix.parquet", version)


def test_load_by_stored_or_bare_name(tmp_path):
    _write_study(tmp_path, "hypercl_splitmnist-quick", acc=True)
    _write_study(tmp_path, "synthetic-smoke", acc=False)
    _write_study(tmp_path, "synthetic-quick", acc=False)
    results = analysis.load("hypercl_splitmnist", tmp_path)
    assert results.name == "hypercl_splitmnist-quick"
    assert len(results.trials) == 1 and results.acc_matrix.accuracy.tolist() == [99.0]
    assert results.acc_matrix.scenario.tolist() == [1]  # an older matrix: the task given
    plain = analysis.load("synthetic-smoke", tmp_path)
    assert plain.acc_matrix.empty and "eval_task" in plain.acc_matrix.columns
    with pytest.raises(analysis.ResultsNotFound, match="matches synthetic-quick, synthetic-smoke"):
        analysis.load("synthetic", tmp_path)
    with pytest.raises(analysis.ResultsNotFound, match="no results for 'nope'.*stored: hypercl"):
        analysis.load("nope", tmp_path)


@pytest.mark.parametrize("version,shown", [("7", "7"), (None, "none")])
def test_another_schema_version_is_refused_naming_both(tmp_path, version, shown):
    _write_study(tmp_path, "synthetic-smoke", acc=False, version=version)
    with pytest.raises(analysis.SchemaVersionError,
                       match=f"schema version {shown}; this analysis reads version 4"):
        analysis.load("synthetic-smoke", tmp_path)


def test_version_1_files_are_read_with_the_study_inferred(tmp_path):
    _write_study(tmp_path, "synthetic-smoke", acc=False, version="1")
    trials = tmp_path / "synthetic-smoke" / "trials.parquet"
    _parquet(pd.DataFrame({"study": ["synthetic-smoke"], "trial": [0], "state": ["COMPLETE"],
                           "value_valid_loss": [0.5], "value_final_acc": [90.0]}), trials, "1")
    info = analysis.load("synthetic-smoke", tmp_path).info
    assert (info.study, info.stored_name, info.preset) == ("synthetic", "synthetic-smoke", None)
    assert info.objectives == ["valid_loss", "final_acc"]
    assert (info.direction("valid_loss"), info.direction("final_acc")) == ("minimize",
                                                                          "maximize")
