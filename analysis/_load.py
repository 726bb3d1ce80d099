"""Finding and reading a study's Parquet tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

#: The result-table layout this code reads (``studies`` writes it into each file's metadata).
SCHEMA_VERSION = "1"
SCHEMA_KEY = b"hnet_studies.schema_version"
ACC_COLUMNS = ["study", "trial", "seed", "trained_through", "eval_task", "accuracy"]


class ResultsNotFound(LookupError):
    """No (or more than one) stored study matches the name; the message is one line."""


class SchemaVersionError(ValueError):
    """A result table was written in a layout this code does not read; names both versions."""


def read_table(path: Path) -> pd.DataFrame:
    """One result table, after checking the schema version in its metadata."""
    metadata = pq.read_schema(path).metadata or {}
    version = metadata.get(SCHEMA_KEY, b"").decode() or "none"
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(f"{path} has result schema version {version}; this analysis "
                                 f"reads version {SCHEMA_VERSION}")
    return pd.read_parquet(path)


@dataclass(frozen=True)
class StudyResults:
    """A study's tables: ``trials`` (one row per trial and seed), ``epochs`` (long format) and
    ``acc_matrix`` (continual-learning studies; empty otherwise)."""

    name: str
    folder: Path
    trials: pd.DataFrame
    epochs: pd.DataFrame
    acc_matrix: pd.DataFrame


def find_study(study: str, results_dir: str | Path = "results") -> Path:
    """The folder of ``study``: the stored name (``hyperlstm_ptb-quick``), or a bare study name
    when exactly one stored study of it exists."""
    root = Path(results_dir)
    if (root / study / "trials.parquet").is_file():
        return root / study
    matches = sorted(p.parent for p in root.glob(f"{study}-*/trials.parquet"))
    if len(matches) == 1:
        return matches[0]
    stored = sorted(p.parent.name for p in root.glob("*/trials.parquet"))
    if not matches:
        raise ResultsNotFound(f"no results for {study!r} in {root}; stored: "
                              f"{', '.join(stored) or 'none'}")
    raise ResultsNotFound(f"{study!r} matches {', '.join(p.name for p in matches)} in {root}; "
                          "name one")


def load(study: str, results_dir: str | Path = "results") -> StudyResults:
    """Read a study's tables (see :func:`find_study` for the name)."""
    folder = find_study(study, results_dir)
    acc_path = folder / "acc_matrix.parquet"
    acc = read_table(acc_path) if acc_path.is_file() else pd.DataFrame(columns=ACC_COLUMNS)
    return StudyResults(folder.name, folder, read_table(folder / "trials.parquet"),
                        read_table(folder / "epochs.parquet"), acc)
