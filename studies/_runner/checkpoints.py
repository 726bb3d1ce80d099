"""The runner's checkpoints: one per seed run of a trial, so an interrupted trial resumes from
its last report boundary (an epoch, or a task) on any node.

Where: ``<results-dir>/<study>/checkpoints/trial-<n>/seed-<s>.ckpt``, or under
``--checkpoint-dir`` (``<dir>/<study>/trial-<n>/seed-<s>.ckpt``), a local path or a
``pyarrow.fs`` URI (``s3://bucket/prefix``, ``gs://...``, ``hdfs://...``) that every node
reaches. ``n`` is the trial a queued-again trial retries (Optuna's ``failed_trial``), so every
attempt of a trial meets the same checkpoints.

A checkpoint file holds the trainer's state (the bytes it wrote through
:class:`TrialCheckpoint`, which is a ``hnet_core`` checkpoint store) and the metrics of every
epoch reported with it: the worker commits both after each report, in one file written to a
temporary name and moved into place, so a reader sees the last whole checkpoint or none. On
resuming, the worker replays the stored epochs (marked ``resumed``) before the trainer's own,
so the new attempt's record is whole and no epoch is trained twice.

A trial function opts in by passing :func:`trial_checkpoint` to its trainer; one that does not
never writes a checkpoint.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import json
import struct
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studies._runner.config import ConfigError
from studies._runner.paths import check_folder_writable
from studies._runner.spec import TrialFunction

#: Times a trial whose worker or node died is queued again (``--trial-retries``).
TRIAL_RETRIES = 2
_MAGIC = b"HNETCKP1"
_NOT_FOUND, _DIRECTORY = 0, 3  # pyarrow.fs.FileType values
_ACTIVE: contextvars.ContextVar[TrialCheckpoint | None] = contextvars.ContextVar(
    "hnet_studies_checkpoint", default=None)


class BadCheckpointFile(ValueError):
    """A checkpoint file that is not one of ours, or is torn."""


def trial_checkpoint() -> TrialCheckpoint | None:
    """The checkpoint store of the seed run in progress (None outside the runner, or when the
    runner keeps none): pass it to a trainer's ``checkpoint=``."""
    return _ACTIVE.get()


@contextlib.contextmanager
def active(checkpoint: TrialCheckpoint | None) -> Iterator[None]:
    token = _ACTIVE.set(checkpoint)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _filesystem(uri: str) -> tuple[Any, str]:
    """``pyarrow.fs`` for a URI or a local path, and the path within it (pyarrow is imported
    here, so a study file importing :mod:`studies` does not pay for it)."""
    import pyarrow.fs as pafs

    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), uri


def _encode(state: bytes, history: list[dict[str, Any]]) -> bytes:
    header = json.dumps({"history": history}).encode()
    return _MAGIC + struct.pack("<Q", len(header)) + header + state


def _decode(data: bytes) -> tuple[bytes, list[dict[str, Any]]]:
    if len(data) < 16 or not data.startswith(_MAGIC):
        raise BadCheckpointFile("not a checkpoint of this runner")
    (size,) = struct.unpack("<Q", data[8:16])
    if 16 + size > len(data):
        raise BadCheckpointFile("torn: shorter than its header says")
    try:
        header = json.loads(data[16:16 + size])
    except ValueError:
        raise BadCheckpointFile("its header is not JSON") from None
    return data[16 + size:], list(header["history"])


class TrialCheckpoint:
    """One seed run's checkpoint: a ``hnet_core`` checkpoint store (``read``, ``write``) whose
    writes the worker commits together with the epoch's metrics. Picklable (a URI), so the
    driver hands it to a Ray worker on any node."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._pending: bytes | None = None
        self._loaded: tuple[bytes, list[dict[str, Any]]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"uri": self.uri}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["uri"])  # type: ignore[misc]

    def __str__(self) -> str:
        return self.uri

    def _stored(self) -> tuple[bytes, list[dict[str, Any]]] | None:
        if self._loaded is None:
            fs, path = _filesystem(self.uri)
            if fs.get_file_info(path).type == _NOT_FOUND:
                return None
            with fs.open_input_stream(path) as stream:
                self._loaded = _decode(stream.readall())
        return self._loaded

    def history(self) -> list[dict[str, Any]]:
        """The metrics of every epoch the stored checkpoint covers (empty without one).
        Raises BadCheckpointFile for a file that does not decode."""
        stored = self._stored()
        return [] if stored is None else stored[1]

    def read(self) -> bytes | None:
        """The trainer's state as last committed (None: start from the first epoch)."""
        stored = self._stored()
        return None if stored is None else stored[0]

    def write(self, data: bytes) -> None:
        """Keep the trainer's state until :meth:`commit` writes it with its epoch."""
        self._pending = data

    def commit(self, metrics: dict[str, Any]) -> None:
        """Write the pending state with the history so far and ``metrics`` (the epoch it
        belongs to), atomically; nothing when the trainer wrote no state."""
        if self._pending is None:
            return
        history = [*self.history(), metrics]
        fs, path = _filesystem(self.uri)
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        part = f"{path}.part-{uuid.uuid4().hex[:8]}"
        data = _encode(self._pending, history)
        with fs.open_output_stream(part) as stream:
            stream.write(data)
        fs.move(part, path)
        self._loaded, self._pending = (self._pending, history), None

    def delete(self) -> None:
        """Remove the checkpoint (a fresh start)."""
        fs, path = _filesystem(self.uri)
        if fs.get_file_info(path).type != _NOT_FOUND:
            fs.delete_file(path)
        self._loaded = self._pending = None


def add_checkpoint_flags(parser: Any) -> None:
    """``--checkpoint-dir``, ``--keep-checkpoints`` and ``--trial-retries`` (studies.run,
    studies.confirm)."""
    parser.add_argument("--checkpoint-dir", help="where trials keep their checkpoints: a "
                        "path or a pyarrow.fs URI (s3://...) every node reaches (default: "
                        "<results-dir>/<study>/checkpoints)")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep a trial's checkpoints once it has ended")
    parser.add_argument("--trial-retries", type=int, default=TRIAL_RETRIES,
                        help="times a trial whose worker or node died is queued again, to go "
                        f"on from its checkpoints (default {TRIAL_RETRIES}; each attempt "
                        "counts against --max-failures)")


def checkpoints_of(args: Any, results_dir: Path, study_name: str) -> CheckpointDir:
    """The study's checkpoint folder from the flags, checked writable (ConfigError)."""
    if args.trial_retries < 0:
        raise ConfigError(f"--trial-retries must be >= 0, got {args.trial_retries}")
    folder = CheckpointDir.of(args.checkpoint_dir, str(results_dir), study_name,
                              args.keep_checkpoints)
    folder.check_writable()
    return folder


class CheckpointDir:
    """Where a study's checkpoints go; see the module docstring."""

    def __init__(self, base: str, study_name: str, keep: bool = False) -> None:
        self.base, self.study_name, self.keep = base.rstrip("/"), study_name, keep

    @classmethod
    def of(cls, checkpoint_dir: str | None, results_dir: str, study_name: str,
           keep: bool = False) -> CheckpointDir:
        if checkpoint_dir:
            return cls(f"{checkpoint_dir.rstrip('/')}/{study_name}", study_name, keep)
        return cls(f"{results_dir.rstrip('/')}/{study_name}/checkpoints", study_name, keep)

    def trial_folder(self, trial_key: int) -> str:
        return f"{self.base}/trial-{trial_key}"

    def seed(self, trial_key: int, seed: int) -> TrialCheckpoint:
        return TrialCheckpoint(f"{self.trial_folder(trial_key)}/seed-{seed}.ckpt")

    def remove_trial(self, trial_key: int) -> None:
        """Delete a finished trial's checkpoints (kept with ``--keep-checkpoints``)."""
        if self.keep:
            return
        fs, path = _filesystem(self.trial_folder(trial_key))
        if fs.get_file_info(path).type == _DIRECTORY:
            fs.delete_dir(path)

    def check_writable(self) -> None:
        """ConfigError (one line) unless a file can be written and removed under the base;
        a local folder is left as it was."""
        try:
            if "://" not in self.base:
                check_folder_writable(Path(self.base))
                return
            fs, path = _filesystem(f"{self.base}/.write-probe-{uuid.uuid4().hex[:8]}")
            fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            with fs.open_output_stream(path) as stream:
                stream.write(b"probe")
            fs.delete_file(path)
        except (OSError, ValueError) as err:  # pyarrow's IO errors, and ArrowInvalid URIs
            message = getattr(err, "strerror", None) or str(err).splitlines()[0]
            raise ConfigError(f"checkpoint folder {self.base} is not writable: {message}"
                              ) from None


#: The key of the first epoch's metrics that carries a note on a refused checkpoint (the
#: driver prints it and keeps it with the seed's task; workers' output does not reach it).
NOTE_KEY = "checkpoint_note"


def _stored_history(checkpoint: TrialCheckpoint | None) -> tuple[list[dict], str | None]:
    """The epochs a seed's checkpoint covers, and a note when its file does not decode (it is
    removed, and the seed starts over)."""
    if checkpoint is None:
        return [], None
    try:
        return checkpoint.history(), None
    except BadCheckpointFile as err:
        checkpoint.delete()
        return [], f"checkpoint {checkpoint}: {err}; the seed started over"


def _is_checkpoint_error(err: BaseException) -> bool:
    """A trainer refused its checkpoint (hnet_core's CheckpointError: another configuration,
    or bytes that do not load). Only a trial that imported hnet_core can raise one."""
    module = sys.modules.get("hnet_core.train._checkpoint")
    return module is not None and isinstance(err, module.CheckpointError)


def seed_epochs(trial_fn: TrialFunction, config: Any, params: dict, seed: int,
                checkpoint: TrialCheckpoint | None) -> Iterator[dict]:
    """The seed's metrics, epoch by epoch, each committed with the trainer's checkpoint before
    it is passed on. Where the trainer resumed from the checkpoint, the epochs it covers come
    first, marked ``resumed``; where it refused it, the checkpoint is removed and the seed
    starts over, the first epoch carrying a note (:data:`NOTE_KEY`)."""
    history, note = _stored_history(checkpoint)
    epochs = iter(trial_fn(config, params, seed))
    try:
        first = next(epochs, None)
    except Exception as err:
        if checkpoint is None or not _is_checkpoint_error(err):
            raise
        checkpoint.delete()
        note = f"{err}; the seed started over"
        history, epochs = [], iter(trial_fn(config, params, seed))
        first = next(epochs, None)
    if first is None:
        return
    replayed = bool(history) and int(first.get("epoch", 0)) == len(history) + 1
    if history and not replayed and checkpoint is not None:  # the trial did not resume
        checkpoint.delete()
    shown = [{**m, "resumed": True} for m in history] if replayed else []
    for index, metrics in enumerate(itertools.chain(shown, [first], epochs)):
        if index >= len(shown) and checkpoint is not None:
            checkpoint.commit(metrics)
        yield {**metrics, NOTE_KEY: note} if index == 0 and note else metrics
