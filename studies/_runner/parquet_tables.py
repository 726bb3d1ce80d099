"""A result table as a folder of Parquet files whose per-trial write cost does not grow with
the study: ``<table>.parquet/00-compacted.parquet`` plus one ``part-<trial>.parquet`` per trial
finished since, read whole by ``pd.read_parquet(folder)``.

Readers infer a folder's schema from its first file, the compacted one; a part whose columns or
types that schema cannot hold (a new column, a string where numbers were) is therefore never
written as a part: the table is compacted instead. Compaction writes every row into a new
folder and swaps it in (rename, rename, delete), so a reader sees the old table or the new one;
a kill mid-swap leaves no table, which the next run rebuilds from the storage. Compaction runs
when a run starts and ends, on such a schema change, and when the parts outnumber
``max(1000, trials compacted)``, so its cost per trial stays bounded as the study grows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

COMPACTED = "00-compacted.parquet"
MIN_PARTS_BEFORE_COMPACTION = 1000


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _holds(schema: pa.Schema, part: pa.Schema) -> bool:
    """Whether a folder read with ``schema`` holds every column of ``part`` without loss."""
    for field in part:
        index = schema.get_field_index(field.name)
        if index < 0:
            return False
        target = schema.field(index).type
        if field.type == target or pa.types.is_null(field.type):
            continue
        if pa.types.is_integer(field.type) and pa.types.is_floating(target):
            continue
        if _is_text(field.type) and _is_text(target):  # pandas writes large_string
            continue
        return False
    return True


class PartitionedTable:
    """One result table under ``folder/<name>.parquet/``; see the module docstring."""

    def __init__(self, folder: Path, name: str, columns: list[str] | None,
                 metadata: dict[bytes, bytes]) -> None:
        self.path = folder / f"{name}.parquet"
        self.name, self.columns, self.metadata = name, columns, metadata
        self.schema: pa.Schema | None = None
        self.parts = 0
        self.compacted_trials = 0

    def _arrow(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Every row (a compaction) through pandas, which unifies the rows' columns."""
        table = pa.Table.from_pandas(pd.DataFrame(rows, columns=self.columns),
                                     preserve_index=False)
        return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                              **self.metadata})

    def _arrow_part(self, rows: list[dict[str, Any]]) -> pa.Table:
        """A few trials' rows, straight to Arrow (a part is written per trial: keep it cheap)."""
        names = self.columns or list(dict.fromkeys(name for row in rows for name in row))
        table = pa.table({name: pa.array([row.get(name) for row in rows]) for name in names})
        return table.replace_schema_metadata(self.metadata)

    def compact(self, rows_by_trial: dict[int, list[dict[str, Any]]]) -> None:
        """Write every trial's rows as one file in a fresh folder and swap it in."""
        rows = [row for number in sorted(rows_by_trial) for row in rows_by_trial[number]]
        table = self._arrow(rows)
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        for stale in parent.glob(f".{self.name}.parquet.*"):  # a killed compaction's
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
        fresh = parent / f".{self.name}.parquet.{os.getpid()}.new"
        fresh.mkdir()
        pq.write_table(table, fresh / COMPACTED)
        old = parent / f".{self.name}.parquet.{os.getpid()}.old"
        if self.path.exists() or self.path.is_symlink():
            os.replace(self.path, old)
        os.replace(fresh, self.path)
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()  # a single-file table of schema version 2
        self.schema, self.parts, self.compacted_trials = table.schema, 0, len(rows_by_trial)

    def add(self, number: int, rows: list[dict[str, Any]],
            every_trial: Callable[[], dict[int, list[dict[str, Any]]]]) -> None:
        """Write the rows of trial ``number`` (or of several trials finished together, the
        lowest-numbered first) as a part, or compact (``every_trial()`` gives the rows of every
        finished trial, these included)."""
        if not rows and self.schema is not None:
            return
        table = self._arrow_part(rows)
        if (self.schema is None or not _holds(self.schema, table.schema)
                or self.parts >= max(MIN_PARTS_BEFORE_COMPACTION, self.compacted_trials)):
            self.compact(every_trial())
            return
        staged = self.path / f".part-{number:09d}.parquet.tmp"
        pq.write_table(table, staged)
        os.replace(staged, self.path / f"part-{number:09d}.parquet")
        self.parts += 1

