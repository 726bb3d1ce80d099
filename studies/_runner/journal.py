"""Optuna's journal storage (an append-only file of JSON lines) for big studies on one machine
or a shared file system: ``--storage journal:///path/to/optuna.journal``.

Optuna's journal has no heartbeats, so a dead driver's trials are recognised another way: a
driver holds an exclusive ``flock`` on ``<journal>.<study>.driver.lock`` for as long as it runs
the study (the kernel drops it when the process dies, SIGKILL included). A driver that gets the
lock knows every trial of that study still RUNNING was left by a dead one. A write cut short by a
kill leaves a last line without its newline; it is cut off when the journal is opened (no call
that wrote it returned, so nothing acknowledged is lost), or the next append would corrupt the
file.

Appends are serialised across processes by an ``flock`` on ``<journal>.lock`` (one system call,
dropped by the kernel when a holder dies, so no stale lock to wait out) and flushed to the
operating system but not fsynced: like SQLite with ``synchronous=NORMAL``, a killed process
loses nothing; a power cut may lose the last writes (and leave half a record, cut on opening).
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
from collections.abc import Container
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import FrozenTrial, TrialState

from studies._runner.config import ConfigError

if TYPE_CHECKING:
    from optuna.storages.journal._file import BaseJournalFileLock

SCHEME = "journal:"


class FlockLock:
    """An exclusive ``flock`` on ``<journal>.lock`` (held open by this process)."""

    def __init__(self, journal: Path) -> None:
        self._path = journal.with_name(journal.name + ".lock")
        self._file = open(self._path, "a")  # noqa: SIM115

    def __getstate__(self) -> dict[str, Any]:
        """A pickled lock names its file; the copy opens its own (an open file does not
        pickle, and a held flock belongs to the process that took it)."""
        return {"_path": self._path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._path = state["_path"]
        self._file = open(self._path, "a")  # noqa: SIM115

    def acquire(self) -> bool:
        fcntl.flock(self._file, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)


class FlushedJournalBackend(JournalFileBackend):
    """Optuna's journal file, appended under :class:`FlockLock` and flushed, not fsynced."""

    def __init__(self, path: Path) -> None:
        self._lock_obj = FlockLock(path)
        # FlockLock has the lock interface (acquire, release) without Optuna's private base
        super().__init__(str(path), lock_obj=cast("BaseJournalFileLock", self._lock_obj))

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
        self._lock_obj.acquire()
        try:
            with open(self._file_path, "ab") as journal:
                journal.write(text.encode("utf-8"))
        finally:
            self._lock_obj.release()


class QueueIndexedJournalStorage(JournalStorage):
    """Optuna's journal storage, finding a study's WAITING trials without reading every trial.

    ``study.ask`` first looks for a WAITING trial (a re-queued or enqueued one) by asking for
    the study's trials in that state, which the journal answers by looking at every trial: a
    cost per trial that grows with the study (at 10,000 trials, the driver's largest). As in
    Optuna's in-memory storage, the search starts at the first trial that was WAITING at the
    last search: a trial is WAITING from its creation until it runs, never after.
    """

    def __init__(self, backend: JournalFileBackend) -> None:
        super().__init__(backend)
        self._first_waiting: dict[int, int] = {}  # study id -> index into its trials

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._first_waiting = {}  # the copy replays the journal from its start

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        if states != (TrialState.WAITING,):
            return super().get_all_trials(study_id, deepcopy, states)
        with self._thread_lock:
            self._sync_with_backend()
            replay = self._replay_result  # its per-study trial ids, read-only here
            if study_id not in replay._study_id_to_trial_ids:
                raise KeyError(f"no study with id {study_id}")
            ids = replay._study_id_to_trial_ids[study_id]
            first = self._first_waiting.get(study_id, 0)
            waiting = [trial for trial in map(replay._trials.__getitem__, ids[first:])
                       if trial.state == TrialState.WAITING]
            self._first_waiting[study_id] = waiting[0].number if waiting else len(ids)
        return copy.deepcopy(waiting) if deepcopy else waiting


def journal_path(url: str) -> Path | None:
    """The file of a ``journal:`` URL (``journal:///abs/path`` or ``journal:rel/path``)."""
    if not url.startswith(SCHEME):
        return None
    rest = url[len(SCHEME):]
    rest = rest[2:] if rest.startswith("//") else rest
    return Path(rest).expanduser().resolve()


def journal_url(path: Path) -> str:
    return f"{SCHEME}//{path.resolve()}"


def check_journal_path(url: str, path: Path) -> None:
    if not str(path) or path.is_dir():
        raise ConfigError(f"--storage {url!r}: expected journal:///path/to/file.journal")


def _cut_partial_last_line(path: Path) -> None:
    """Drop bytes after the last newline: a record whose append was killed halfway."""
    with open(path, "rb+") as journal:
        journal.seek(0, os.SEEK_END)
        size = journal.tell()
        if size == 0:
            return
        journal.seek(size - 1)
        if journal.read(1) == b"\n":
            return
        keep = size
        while keep > 0:
            step = min(65536, keep)
            journal.seek(keep - step)
            chunk = journal.read(step)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = keep - step + cut + 1
                break
            keep -= step
        journal.truncate(keep)
        journal.flush()
        os.fsync(journal.fileno())


def open_journal(path: Path, repair: bool = True) -> QueueIndexedJournalStorage:
    """The journal at ``path`` (created with its folder if missing). With ``repair``, half a
    record left by a killed writer is cut off, under the journal's append lock: no live
    writer is then midway through a record (other studies' drivers may share the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    backend = FlushedJournalBackend(path)
    if repair:
        backend._lock_obj.acquire()
        try:
            _cut_partial_last_line(path)
        finally:
            backend._lock_obj.release()
    return QueueIndexedJournalStorage(backend)


def claim_study(path: Path, study_name: str) -> IO:
    """Hold the study's driver lock for this process's lifetime; ConfigError when another live
    driver holds it. Returns the open lock file (keep it open: closing it releases the lock)."""
    lock_path = path.with_name(f"{path.name}.{study_name}.driver.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a")  # noqa: SIM115 - held open for the session
    except OSError as err:
        raise ConfigError(f"cannot write beside the journal {path}: {err.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(f"study {study_name!r} in {path} is being run by another driver "
                          f"(it holds {lock_path})") from None
    return handle


def fail_dead_drivers_trials(study: optuna.Study) -> int:
    """Fail and queue again (same parameters, like Optuna's heartbeat retry) every RUNNING
    trial of ``study``: called by the driver that holds the study's lock, so their driver is
    dead. Returns how many there were."""
    storage = study._storage
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
    for trial in running:
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        retry(study, storage.get_trial(trial._trial_id))
    return len(running)
