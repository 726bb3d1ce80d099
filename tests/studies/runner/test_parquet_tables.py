"""Result tables as folders of Parquet parts: what a reader sees after each kind of write."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from studies._runner import parquet_tables
from studies._runner.parquet_tables import COMPACTED, PartitionedTable

META = {b"hnet_studies.schema_version": b"3"}


def _rows(number: int, **extra) -> list[dict]:
    return [{"trial": number, "seed": seed, "value": number + seed / 10, **extra}
            for seed in (0, 1)]


def test_parts_then_compaction_read_whole(tmp_path):
    table = PartitionedTable(tmp_path, "trials", None, META)
    rows = {0: _rows(0, param_lr=0.1)}
    table.compact(rows)
    for number in (1, 2):  # the same columns: one part file each
        rows[number] = _rows(number, param_lr=0.2)
        table.add(number, rows[number], lambda: dict(rows))
    files = sorted(p.name for p in table.path.iterdir())
    assert files == [COMPACTED, "part-000000001.parquet", "part-000000002.parquet"]
    frame = pd.read_parquet(table.path)
    assert sorted(frame.trial) == [0, 0, 1, 1, 2, 2] and frame.param_lr.notna().all()
    assert pq.read_schema(table.path / files[1]).metadata[b"hnet_studies.schema_version"] == b"3"
    # a new column cannot be a part (readers take the schema from the first file): compacted
    rows[3] = _rows(3, param_lr=0.3, param_hidden=16)
    table.add(3, rows[3], lambda: dict(rows))
    assert sorted(p.name for p in table.path.iterdir()) == [COMPACTED]
    frame = pd.read_parquet(table.path)
    assert len(frame) == 8 and frame.set_index("trial").param_hidden.loc[3].tolist() == [16, 16]
    # an int where the folder holds floats, a None where it holds strings: parts again
    rows[4] = _rows(4, param_lr=1, param_hidden=None)
    table.add(4, rows[4], lambda: dict(rows))
    assert len(list(table.path.iterdir())) == 2
    assert pd.read_parquet(table.path).trial.value_counts().to_dict() == dict.fromkeys(
        range(5), 2)


def test_compaction_bounds_the_parts_and_clears_a_killed_swap(tmp_path, monkeypatch):
    monkeypatch.setattr(parquet_tables, "MIN_PARTS_BEFORE_COMPACTION", 3)
    table = PartitionedTable(tmp_path, "epochs", ["trial", "seed", "value"], META)
    leftover = tmp_path / ".epochs.parquet.999.new"  # a compaction killed midway
    leftover.mkdir()
    (leftover / COMPACTED).write_bytes(b"half")
    rows: dict[int, list[dict]] = {}
    table.compact(rows)
    assert not leftover.exists()
    counts = []
    for number in range(8):
        rows[number] = _rows(number)
        table.add(number, rows[number], lambda: dict(rows))
        counts.append(len(list(table.path.iterdir())))
    # the empty table's columns have no type yet, so the first trial compacts; then parts
    # accumulate to max(3, trials compacted) and fold into the compacted file
    assert counts == [1, 2, 3, 4, 1, 2, 3, 4]
    assert sorted(pd.read_parquet(table.path).trial) == sorted(list(range(8)) * 2)


def test_a_single_file_table_of_version_2_is_replaced(tmp_path):
    pd.DataFrame({"trial": [0]}).to_parquet(tmp_path / "trials.parquet")
    table = PartitionedTable(tmp_path, "trials", None, META)
    table.compact({0: _rows(0), 1: _rows(1)})
    assert table.path.is_dir() and len(pd.read_parquet(table.path)) == 4


def test_parts_of_a_steady_study_never_compact(tmp_path):
    """Rows like the runner's (strings, ints, floats, None) go to parts after the first
    compaction: the folder's compacted schema (written through pandas) holds them."""
    table = PartitionedTable(tmp_path, "trials", None, META)
    rows = {0: _rows(0, state="COMPLETE", error=None, device="cpu", param_lr=0.1)}
    table.compact(rows)
    for number in range(1, 6):
        rows[number] = _rows(number, state="FAIL", error="boom", device="cpu", param_lr=0.2)
        table.add(number, rows[number], lambda: dict(rows))
    # the first error string cannot go where the compacted folder has only nulls: that trial
    # compacts, the four after it are parts
    assert len(list(table.path.iterdir())) == 5
    errors = pd.read_parquet(table.path).error
    assert errors.isna().sum() == 2 and (errors.dropna() == "boom").sum() == 10
