"""Finding and reading a study's Parquet tables and what their metadata says of the study."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import pandas as pd
import pyarrow.parquet as pq

#: The result-table layout this code reads (``studies`` writes it into each file's metadata).
SCHEMA_VERSION = "4"
#: Layouts read: 4 (the accuracy matrix names its scenario), 3 (each table a folder of Parquet
#: files), 2 (one file each), 1 (one file each, no study metadata: it is inferred). An older
#: accuracy matrix is of scenario 1 (task given), the only one written then.
READABLE_VERSIONS = ("1", "2", "3", "4")
SCHEMA_KEY = b"hnet_studies.schema_version"
STUDY_KEY = b"hnet_studies.study"
CONFIRMATIONS = "confirmations.parquet"
ACC_COLUMNS = ["study", "trial", "seed", "scenario", "trained_through", "eval_task",
               "accuracy"]


class ResultsNotFound(LookupError):
    """No (or more than one) stored study matches the name; the message is one line."""


class SchemaVersionError(ValueError):
    """A result table was written in a layout this code does not read; names both versions."""


def _metadata(path: Path) -> dict[bytes, bytes]:
    """A table's metadata: its file's, or a folder's first file's (the one readers take the
    schema from)."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.parquet") if p.is_file())
        if not files:
            return {}
        path = files[0]
    return pq.read_schema(path).metadata or {}


def read_table(path: Path) -> pd.DataFrame:
    """One result table, after checking the schema version in its metadata."""
    version = _metadata(path).get(SCHEMA_KEY, b"").decode() or "none"
    if version not in READABLE_VERSIONS:
        raise SchemaVersionError(f"{path} has result schema version {version}; this analysis "
                                 f"reads version {SCHEMA_VERSION}")
    return pd.read_parquet(path)


def find_confirmations(folder: Path, stored_name: str) -> pd.DataFrame:
    """The confirmations of study ``stored_name``: its own folder's ``confirmations.parquet``
    (a confirmation study's), else every sibling folder's that confirms it (a search's), in one
    frame (``study`` names the confirmation)."""
    own = folder / CONFIRMATIONS
    if own.is_file():
        return read_table(own)
    frames = []
    for path in sorted(folder.parent.glob(f"*/{CONFIRMATIONS}")):
        frame = read_table(path)
        if not frame.empty and (frame.search_study == stored_name).all():
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass(frozen=True)
class StudyInfo:
    """What the result files say of their study (``hnet_studies.study`` metadata).

    Attributes:
        study: the study's name (``hyperlstm_ptb``); ``stored_name`` adds the preset.
        preset: ``smoke``, ``quick``, ``paper`` (or None when not recorded).
        family: ``char-lm``, ``cnn``, ``continual``, ``synthetic`` or ``other``.
        group_by: the parameter naming a trial's model variant (colours, groups), if any.
        objectives: the objective metrics, in order.
        directions: every metric's ``minimize`` / ``maximize``.
        storage: the Optuna storage URL (password hidden), if recorded.
        extra: the rest (sampler, target_trials, epochs, seeds).
    """

    study: str
    stored_name: str
    preset: str | None
    family: str
    group_by: str | None
    objectives: list[str]
    directions: dict[str, str]
    storage: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def direction(self, metric: str) -> str:
        return self.directions.get(metric, "maximize" if "acc" in metric else "minimize")

    @classmethod
    def from_metadata(cls, raw: dict[str, Any], folder: Path,
                      trials: pd.DataFrame) -> StudyInfo:
        stored = raw.get("stored_name", folder.name)
        known = ("study", "stored_name", "preset", "family", "group_by", "objectives",
                 "directions", "storage")
        objectives = raw.get("objectives") or [c.removeprefix("value_") for c in trials.columns
                                               if c.startswith("value_")]
        return cls(study=raw.get("study", stored.rsplit("-", 1)[0]), stored_name=stored,
                   preset=raw.get("preset"), family=raw.get("family", "synthetic"),
                   group_by=raw.get("group_by"), objectives=list(objectives),
                   directions=dict(raw.get("directions", {})), storage=raw.get("storage"),
                   extra={k: v for k, v in raw.items() if k not in known})


@dataclass(frozen=True)
class StudyResults:
    """A study's tables: ``trials`` (one row per trial and seed), ``epochs`` (long format),
    ``acc_matrix`` (continual-learning studies; empty otherwise) and ``confirmations`` (one
    row per configuration and seed of ``studies.confirm`` runs of this search, found beside
    it, or of this confirmation study; empty otherwise), and its ``info``."""

    name: str
    folder: Path
    trials: pd.DataFrame
    epochs: pd.DataFrame
    acc_matrix: pd.DataFrame
    info: StudyInfo
    confirmations: pd.DataFrame = field(default_factory=pd.DataFrame)


def find_study(study: str, results_dir: str | Path = "results") -> Path:
    """The folder of ``study``: the stored name (``hyperlstm_ptb-quick``), or a bare study name
    when exactly one stored study of it exists."""
    root = Path(results_dir)
    if not root.is_dir():
        raise ResultsNotFound(f"no results folder {root}")
    if (root / study / "trials.parquet").exists():
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


@dataclass(frozen=True)
class ComparedResults:
    """Several studies' tables in one frame each, their ``study`` column the stored name
    (``static_hnet_mnist-quick``), and each study's own :class:`StudyResults`."""

    studies: list[StudyResults]
    trials: pd.DataFrame
    epochs: pd.DataFrame
    acc_matrix: pd.DataFrame
    confirmations: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.studies]


@overload
def load(study: str, results_dir: str | Path = "results") -> StudyResults: ...


@overload
def load(study: list[str] | tuple[str, ...], results_dir: str | Path = "results"
         ) -> ComparedResults: ...


def load(study: str | list[str] | tuple[str, ...], results_dir: str | Path = "results"
         ) -> StudyResults | ComparedResults:
    """Read a study's tables (see :func:`find_study` for the name), or several studies' as
    one frame per table with a ``study`` column (a list of names; each named once)."""
    if isinstance(study, str):
        return _load_one(study, results_dir)
    every = [_load_one(name, results_dir) for name in study]
    names = [s.name for s in every]
    if not every or len(set(names)) != len(names):
        raise ResultsNotFound(f"name each stored study once, got {', '.join(names) or 'none'}")

    def joined(table: str) -> pd.DataFrame:
        frames = [getattr(s, table).assign(study=s.name) for s in every]
        frames = [f for f in frames if not f.empty] or frames[:1]
        return pd.concat(frames, ignore_index=True)

    confirmations = [s.confirmations for s in every if not s.confirmations.empty]
    return ComparedResults(every, joined("trials"), joined("epochs"), joined("acc_matrix"),
                           pd.concat(confirmations, ignore_index=True) if confirmations
                           else pd.DataFrame())


def _load_one(study: str, results_dir: str | Path) -> StudyResults:
    folder = find_study(study, results_dir)
    acc_path = folder / "acc_matrix.parquet"
    acc = read_table(acc_path) if acc_path.exists() else pd.DataFrame(columns=ACC_COLUMNS)
    if "scenario" not in acc.columns:
        acc.insert(3, "scenario", 1)
    trials = read_table(folder / "trials.parquet")
    raw = json.loads(_metadata(folder / "trials.parquet").get(STUDY_KEY, b"{}"))
    info = StudyInfo.from_metadata(raw, folder, trials)
    return StudyResults(folder.name, folder, trials, read_table(folder / "epochs.parquet"),
                        acc, info, find_confirmations(folder, info.stored_name))
