"""Optuna storage: a journal file by default, SQLite (WAL mode) or any RDB URL (PostgreSQL, ...)
on request.

Only the driver writes to it. A trial whose driver died is failed and queued again with the same
parameters: on a journal the study's driver lock says the driver is gone
(:mod:`studies._runner.journal`); on a database, heartbeats do.
"""

from __future__ import annotations

import re
import sqlite3
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, cast

import optuna
import sqlalchemy
import sqlalchemy.event
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from studies._runner import journal
from studies._runner.config import ConfigError
from studies._runner.paths import check_folder_writable

if TYPE_CHECKING:
    from optuna.storages._heartbeat import BaseHeartbeat

HEARTBEAT_S = 2
GRACE_S = 6


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL with synchronous=NORMAL for every SQLite connection: a commit is not an fsync, and
    the database stays consistent (and loses nothing) when a process is killed."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def default_storage_url(results_dir: Path) -> str:
    """``<results_dir>/optuna.journal``, unless the folder holds only an ``optuna.db`` of an
    earlier version's runs, which then goes on."""
    sqlite = results_dir / "optuna.db"
    journal_file = results_dir / "optuna.journal"
    if sqlite.is_file() and not journal_file.exists():
        return f"sqlite:///{sqlite.resolve()}"
    return journal.journal_url(journal_file)


def check_storage_url(url: str) -> None:
    """A one-line ConfigError for a URL SQLAlchemy cannot parse or has no driver for."""
    path = journal.journal_path(url)
    if path is not None:
        journal.check_journal_path(url, path)
        return
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ValueError) as err:
        reason = str(err).replace(url, hide_password(url))
        raise ConfigError(f"--storage {hide_password(url)!r}: not a usable database URL "
                          f"({reason})") from None
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise ConfigError(f"--storage {url!r}: an in-memory database would lose the study")


def _unreachable(parsed: sqlalchemy.engine.URL, err: Exception) -> ConfigError:
    """One line naming the storage (password hidden) and the driver's first line of reason."""
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    return ConfigError(f"cannot open Optuna storage {parsed.render_as_string()}: {reason}")


_USER_INFO = re.compile(r"(://[^/:@]*:)[^/@]*@")


def hide_password(url: str) -> str:
    """The URL with any password shown as ``***`` (also a URL SQLAlchemy cannot parse)."""
    if journal.journal_path(url) is not None:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return _USER_INFO.sub(r"\1***@", url)


def _make_folder(folder: Path, what: str, keep: bool = True) -> None:
    """Create ``folder`` (or, ``keep`` False, only check that it can be written); a one-line
    ConfigError when it cannot."""
    try:
        if keep:
            folder.mkdir(parents=True, exist_ok=True)
        else:
            check_folder_writable(folder)
    except OSError as err:  # a parent that is a file, no permission, a read-only disk
        raise ConfigError(f"cannot create {what} folder {folder}: {err.strerror or err}"
                          ) from None


def check_storage_reachable(url: str) -> None:
    """Connect once to a database server and hang up, or check that the folder of a journal or
    SQLite file can be written: a one-line ConfigError when it cannot. Writes nothing."""
    path = journal.journal_path(url)
    if path is not None:
        _make_folder(Path(path).parent, "the journal's", keep=False)
        return
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _make_folder(Path(cast(str, parsed.database)).parent, "the SQLite database's",
                     keep=False)
        return
    try:
        engine = sqlalchemy.create_engine(url)
        try:
            engine.connect().close()
        finally:
            engine.dispose()
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:
        raise _unreachable(parsed, err) from None


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The storage at ``url`` (a database's with heartbeats); a one-line ConfigError when
    unreachable."""
    path = journal.journal_path(url)
    if path is not None:
        try:
            return journal.open_journal(path)
        except OSError as err:
            raise ConfigError(f"cannot open journal {path}: {err.strerror or err}") from None
    parsed = make_url(url)
    engine_kwargs = {}
    if parsed.get_backend_name() == "sqlite":
        # check_storage_url refused an in-memory SQLite (no database)
        _make_folder(Path(cast(str, parsed.database)).parent, "the SQLite database's")
        engine_kwargs = {"connect_args": {"timeout": 60}}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_S,
                grace_period=GRACE_S, heartbeat_stale_trial_callback=retry)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:
        raise _unreachable(parsed, err) from None


def claim_study(url: str, study_name: str):
    """On a journal, take the study's driver lock (ConfigError when another driver runs the
    study); returns what to keep open while the study runs (None for a database)."""
    path = journal.journal_path(url)
    return None if path is None else journal.claim_study(path, study_name)


def fail_stale_trials(study: optuna.Study) -> int:
    """Fail (and re-queue) trials a dead driver left RUNNING.

    On a journal the caller holds the study's driver lock (:func:`claim_study`), so every
    RUNNING trial is a dead driver's. On a database:

    A trial killed before its first heartbeat has none, and Optuna never calls it stale; each
    RUNNING trial therefore gets one heartbeat now. A live driver keeps beating for its trials;
    a dead one's trials are stale once the grace period has passed.

    Returns:
        How many trials were left RUNNING by another driver, live or dead.
    """
    if isinstance(study._storage, optuna.storages.JournalStorage):
        with warnings.catch_warnings():  # the retry callback is "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return journal.fail_dead_drivers_trials(study)
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    if running:
        for trial in running:
            # not a journal: an RDB storage (cached or not), which records heartbeats
            cast("BaseHeartbeat", study._storage).record_heartbeat(trial._trial_id)
        time.sleep(GRACE_S + HEARTBEAT_S)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    return len(running)
