"""Hyperparameter importance (Optuna's fANOVA) read from the study's Optuna storage.

The storage is opened read-only in spirit: the study is loaded, never changed. Optuna (and
scikit-learn, which its fANOVA uses) are imported only here, when importance is asked for.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from analysis._load import StudyInfo

COLUMNS = ["parameter", "importance"]


def _usable(url: str | None) -> str | None:
    """Why ``url`` cannot be opened, or None."""
    if not url:
        return "the result files name no Optuna storage (pass --storage)"
    if "***" in url:
        return f"the stored URL {url} hides its password (pass --storage)"
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return f"no storage at {url}"
    journal = _journal_file(url)
    if journal is not None and not journal.is_file():
        return f"no storage at {url}"
    return None


def _journal_file(url: str) -> Path | None:
    """The file of a ``journal:///path`` storage URL (the runner's form), else None."""
    if not url.startswith("journal:"):
        return None
    rest = url.removeprefix("journal:")
    return Path(rest[2:] if rest.startswith("//") else rest)


def _open(url: str):
    """An Optuna storage for ``url``: the URL itself for a database, a reader of a journal."""
    journal = _journal_file(url)
    if journal is None:
        return url
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(journal)))


def param_importance(info: StudyInfo, storage: str | None = None
                     ) -> tuple[pd.DataFrame, str | None]:
    """fANOVA importance of each parameter for the first objective, most important first.

    Returns:
        The table (parameter, importance) and, when it could not be computed, why not (the
        table is then empty).
    """
    url = storage or info.storage
    reason = _usable(url)
    if reason or url is None:  # _usable gives a reason for no url
        return pd.DataFrame(columns=COLUMNS), reason
    import optuna
    import sqlalchemy.exc

    optuna.logging.set_verbosity(logging.WARNING)
    try:
        study = optuna.load_study(study_name=info.stored_name, storage=_open(url))
    except KeyError:
        return pd.DataFrame(columns=COLUMNS), f"no study {info.stored_name!r} in {url}"
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return pd.DataFrame(columns=COLUMNS), f"cannot open {url}: {first}"
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    multi = len(study.directions) > 1
    try:
        scores = optuna.importance.get_param_importances(
            study, evaluator=evaluator, target=(lambda t: t.values[0]) if multi else None)
    except (ValueError, RuntimeError) as err:  # too few trials, nothing varied
        return pd.DataFrame(columns=COLUMNS), f"fANOVA: {err}"
    table = pd.DataFrame(list(scores.items()), columns=COLUMNS)
    if table.empty:
        return table, "fANOVA found no parameter that varied"
    return table, None
