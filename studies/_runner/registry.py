"""The studies on offer: every ``studies/<name>.py`` module with a module-level ``SPEC``."""

from __future__ import annotations

import importlib
import pkgutil

import studies
from studies._runner.config import ConfigError
from studies._runner.spec import StudySpec

_NOT_STUDIES = {"run", "dashboard"}


def study_names() -> list[str]:
    """Names of the study modules, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(studies.__path__)
                  if not m.name.startswith("_") and m.name not in _NOT_STUDIES)


def load_study(name: str) -> StudySpec:
    """The SPEC of ``studies.<name>``; ConfigError listing the known studies if there is none."""
    if name not in study_names():
        raise ConfigError(f"unknown study {name!r}; known: {', '.join(study_names())}")
    return importlib.import_module(f"studies.{name}").SPEC
