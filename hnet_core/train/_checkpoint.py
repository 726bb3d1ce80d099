"""Checkpoints the trainers write at each report boundary (an epoch, or a task in continual
learning) and resume from.

A checkpoint lives in a *store*: anything with ``read() -> bytes | None`` (None: no checkpoint
yet) and ``write(data: bytes)`` that replaces the whole checkpoint at once, so a reader never
sees a torn one. :class:`FileCheckpoint` is a local file written to a temporary name and
renamed into place; a caller may pass its own store (the study runner writes through
``pyarrow.fs``, so a checkpoint can sit on shared or object storage). A trainer given a plain
path wraps it in a :class:`FileCheckpoint`.

Every checkpoint carries the identity of the run it belongs to (the configs, as a dict): a
trainer refuses one of another identity (:class:`CheckpointMismatch`) and one that does not
load (:class:`CorruptCheckpoint`); what to do then (start over) is the caller's choice.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, Protocol

import torch


class CheckpointStore(Protocol):
    """Where one checkpoint is kept."""

    def read(self) -> bytes | None: ...

    def write(self, data: bytes) -> None: ...


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint belongs to another configuration."""


class CorruptCheckpoint(CheckpointError):
    """The checkpoint's bytes do not load (torn, truncated, or of an incompatible version)."""


class FileCheckpoint:
    """A checkpoint in a local file, replaced atomically (write, then rename)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def read(self) -> bytes | None:
        return self.path.read_bytes() if self.path.is_file() else None

    def write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_name(f"{self.path.name}.part-{os.getpid()}")
        part.write_bytes(data)
        os.replace(part, self.path)

    def __str__(self) -> str:
        return str(self.path)


def as_store(checkpoint: str | os.PathLike | CheckpointStore | None) -> CheckpointStore | None:
    """A store for ``checkpoint``: a path becomes a :class:`FileCheckpoint`."""
    if checkpoint is None or isinstance(checkpoint, (str, os.PathLike)):
        return None if checkpoint is None else FileCheckpoint(checkpoint)
    return checkpoint


def save(store: CheckpointStore, payload: dict[str, Any]) -> None:
    """Serialise ``payload`` (tensors, numbers, strings and containers of them) into
    ``store``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    store.write(buffer.getvalue())


def load(store: CheckpointStore | None, identity: dict, device: torch.device
         ) -> dict[str, Any] | None:
    """The checkpoint in ``store`` (None when there is none), checked against ``identity``.

    Raises:
        CorruptCheckpoint: its bytes do not load.
        CheckpointMismatch: it was written for another identity.
    """
    data = store.read() if store is not None else None
    if data is None:
        return None
    try:
        saved = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except (RuntimeError, EOFError, ValueError, KeyError, pickle.UnpicklingError,
            zipfile.BadZipFile) as err:
        raise CorruptCheckpoint(f"checkpoint {store} does not load "
                                f"({type(err).__name__})") from err
    if not isinstance(saved, dict) or "identity" not in saved:
        raise CorruptCheckpoint(f"checkpoint {store} holds no identity")
    if saved["identity"] != identity:
        raise CheckpointMismatch(f"checkpoint {store} was written for another configuration")
    return saved
