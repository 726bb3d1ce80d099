"""Hypernetwork studies, one file each, and what a study file imports.

A study is ``studies/<name>.py`` with a module-level ``SPEC`` (:class:`StudySpec`): a frozen
config dataclass (a :class:`StudyConfig` subclass) with ``smoke``, ``quick`` and ``paper``
presets, a search space that only calls ``trial.suggest_*``, and a module-level trial function
yielding per-epoch metrics. A config checks its own fields in ``validate`` with the helpers
below; each raises :class:`ConfigError`, which the runner prints as one line (exit 2). A trial
function passes :func:`trial_checkpoint` to its trainer (``checkpoint=``) so that an interrupted
trial resumes from its last epoch.
``python -m studies.run --list`` shows the registered studies.
"""

from studies._runner.checkpoints import trial_checkpoint
from studies._runner.checks import (
    MAY_BE_EMPTY,
    MAY_BE_INFINITE,
    at_least,
    finite,
    in_interval,
    one_of,
    positive,
    search_range,
)
from studies._runner.config import DERIVED_FROM, ConfigError
from studies._runner.contract import StudyContractError, check_study
from studies._runner.spec import PRESETS, Direction, Metrics, StudyConfig, StudySpec

__all__ = [
    "DERIVED_FROM",
    "MAY_BE_EMPTY",
    "MAY_BE_INFINITE",
    "PRESETS",
    "ConfigError",
    "Direction",
    "Metrics",
    "StudyConfig",
    "StudyContractError",
    "StudySpec",
    "check_study",
    "at_least",
    "finite",
    "in_interval",
    "one_of",
    "positive",
    "search_range",
    "trial_checkpoint",
]
