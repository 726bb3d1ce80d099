"""The studies on offer, and where each comes from.

``python -m studies.run <study>`` takes:

- a shipped study: ``studies/<name>.py`` with a module-level ``SPEC``;
- a study of an installed package: an entry point in the group ``hnet_studies.studies``,
  ``name = "mypkg.my_study"`` (a module with a ``SPEC``, or ``"mypkg.my_study:SPEC"``);
- a user's file, ``path/to/my_study.py``, or any importable module, ``mypkg.my_study``.

A study's name (``SPEC.name``) names one study: a user's study called like a shipped one or
like another package's is refused, so a stored study always means one thing.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from pathlib import Path

import studies
from studies._runner.config import ConfigError
from studies._runner.importing import (
    StudySource,
    existing_origin,
    import_file,
    import_module,
    spec_of,
)
from studies._runner.spec import StudySpec

ENTRY_POINT_GROUP = "hnet_studies.studies"
_NOT_STUDIES = {"run", "dashboard", "confirm"}


def study_names() -> list[str]:
    """Names of the shipped study modules, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(studies.__path__)
                  if not m.name.startswith("_") and m.name not in _NOT_STUDIES)


def load_study(name: str) -> StudySpec:
    """The SPEC of the shipped ``studies.<name>``; ConfigError listing them if there is none."""
    if name not in study_names():
        raise ConfigError(f"unknown study {name!r}; known: {', '.join(study_names())}")
    return importlib.import_module(f"studies.{name}").SPEC


def entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """The installed packages' studies, by entry-point name; ConfigError when two packages
    declare one name."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise ConfigError(f"study name {ep.name!r} is found twice: entry points "
                              f"{found[ep.name].value} and {ep.value}; uninstall one")
        found[ep.name] = ep
    return found


def _shipped_source(name: str) -> StudySource:
    return StudySource("shipped", f"studies/{name}.py", f"studies.{name}")


def _from_entry_point(ep: importlib.metadata.EntryPoint) -> tuple[StudySpec, StudySource]:
    dist = ep.dist.name if ep.dist is not None else "an installed package"
    where = f"{ep.name} = {ep.value} ({dist})"
    module, source = import_module(ep.module, "entry point", where)
    what = f"entry point {where}"
    spec = spec_of(module, what, ep.attr or "SPEC")
    if spec.name != ep.name:
        raise ConfigError(f"{what}: names a study called {spec.name!r}; the entry point's "
                          "name must be its SPEC.name")
    return spec, source


def _importable(name: str) -> bool:
    """Whether ``name`` is a top-level module this interpreter finds."""
    return name.isidentifier() and existing_origin(name) is not None


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(".py") or "/" in ref or "\\" in ref


def find_study(ref: str) -> tuple[StudySpec, StudySource]:
    """The study ``ref`` names (see the module docstring) and where it comes from.

    Raises:
        ConfigError: one line: nothing by that name, a file or module that fails to import,
            no ``SPEC``, a ``SPEC`` that is no StudySpec, or a name found twice.
    """
    shipped, installed = study_names(), entry_points()
    if _looks_like_path(ref):
        module, source = import_file(Path(ref))
        spec = spec_of(module, f"study file {source.where}")
    elif ref in shipped:
        spec, source = load_study(ref), _shipped_source(ref)
    elif ref in installed:
        spec, source = _from_entry_point(installed[ref])
    elif ref.startswith("studies.") and ref.partition(".")[2] in shipped:
        name = ref.partition(".")[2]
        spec, source = load_study(name), _shipped_source(name)
    elif "." in ref or _importable(ref):
        module, source = import_module(ref)
        spec = spec_of(module, f"module {ref}")
    else:
        known = ", ".join([*shipped, *installed])
        raise ConfigError(f"unknown study {ref!r}; known: {known} (or a .py file or an "
                          "importable module with a SPEC)")
    _check_unique(spec, source, shipped, installed)
    return spec, source


def _check_unique(spec: StudySpec, source: StudySource, shipped: list[str],
                  installed: dict[str, importlib.metadata.EntryPoint]) -> None:
    """Refuse a study whose name another study of another module has."""
    others = []
    if spec.name in shipped and source.module != f"studies.{spec.name}":
        others.append(_shipped_source(spec.name).describe())
    ep = installed.get(spec.name)
    if ep is not None and ep.module != source.module:
        others.append(f"entry point {ep.name} = {ep.value}")
    if others:
        raise ConfigError(f"study name {spec.name!r} is found twice: {source.describe()} and "
                          f"{' and '.join(others)}; give one SPEC another name")


def listed_studies() -> list[tuple[str, StudySpec | None, str]]:
    """``(name, spec or None, where it comes from or why it failed)`` for ``--list``: every
    shipped study and every installed package's."""
    rows: list[tuple[str, StudySpec | None, str]] = [
        (name, load_study(name), _shipped_source(name).describe()) for name in study_names()]
    for name in sorted(entry_points()):
        try:
            spec, source = find_study(name)
            rows.append((name, spec, source.describe()))
        except ConfigError as err:
            rows.append((name, None, f"not usable: {err}"))
    return rows
