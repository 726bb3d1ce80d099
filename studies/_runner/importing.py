"""Importing a user's study: a ``.py`` file or an importable module, checked to hold a ``SPEC``.

Every failure is a :class:`ConfigError` of one line (the runner exits 2 before anything is
written): no such file or module, a module that fails to import (the error and the line of the
user's file it came from), no ``SPEC``, a ``SPEC`` that is not a :class:`StudySpec`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from studies._runner.config import ConfigError
from studies._runner.spec import StudySpec


@dataclass(frozen=True)
class StudySource:
    """Where a study's ``SPEC`` was found.

    Attributes:
        kind: ``shipped`` (``studies/<name>.py``), ``file``, ``module`` or ``entry point``.
        where: what a reader needs to find it again: the file's absolute path, the module's
            name, or ``<name> = <module> (<distribution>)`` for an entry point.
        module: the module's import name, which Ray's workers import to unpickle the trial
            function and the config.
        ship: the file or package folder that Ray gives its workers (``runtime_env``
            ``py_modules``) so they can import ``module``; None for a shipped study, which is
            installed with the runner.
    """

    kind: str
    where: str
    module: str
    ship: str | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.where}"

    def as_dict(self) -> dict[str, str]:
        """What the stored study and the results' metadata record."""
        return {"kind": self.kind, "where": self.where, "module": self.module}


def _first_line(err: BaseException) -> str:
    text = err.msg if isinstance(err, SyntaxError) else str(err)  # its line is said apart
    lines = str(text).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _user_frame(err: BaseException, files: tuple[str, ...]) -> str:
    """``" (my_study.py, line 12)"``: the last frame of the traceback inside ``files`` (no
    files: the last frame outside the import machinery)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if (f.filename in files if files else not f.filename.startswith("<frozen"))]
    if isinstance(err, SyntaxError) and err.filename in files:
        return f" ({Path(err.filename).name}, line {err.lineno})"
    if not frames:
        return ""
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"


def spec_of(module: ModuleType, what: str, attr: str = "SPEC") -> StudySpec:
    """The module's ``SPEC`` (or ``attr``); ConfigError when it has none or it is no
    StudySpec."""
    spec = getattr(module, attr, None)
    if spec is None:
        raise ConfigError(f"{what} has no {attr} (a module-level studies.StudySpec)")
    if not isinstance(spec, StudySpec):
        raise ConfigError(f"{what}: {attr} is a {type(spec).__name__}, not a "
                          "studies.StudySpec")
    return spec


def import_file(path: Path) -> tuple[ModuleType, StudySource]:
    """Import ``path`` as the module named by its stem (as Ray's workers will import it)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"study file {path}: no such file")
    if path.suffix != ".py":
        raise ConfigError(f"study file {path}: not a .py file")
    name = path.stem
    if not name.isidentifier():
        raise ConfigError(f"study file {path}: {name!r} is not a Python module name; name the "
                          "file like my_study.py")
    existing = existing_origin(name)
    if existing is not None and Path(existing).resolve() != path:
        raise ConfigError(f"study file {path}: its name {name!r} is the module {existing} "
                          "already importable here; rename the file")
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None  # a .py file always has both
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickle look the module up by its name
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as err:  # the user's code may raise anything
            del sys.modules[name]
            raise ConfigError(f"study file {path} failed to import{_user_frame(err, (str(path),))}"
                              f": {_first_line(err)}") from None
    return module, StudySource("file", str(path), name, str(path))


def existing_origin(name: str) -> str | None:
    """Where ``import name`` would come from now, or None when nothing by that name exists."""
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    return found.origin or next(iter(found.submodule_search_locations or []), None) or name


def import_module(name: str, kind: str = "module", where: str | None = None
                  ) -> tuple[ModuleType, StudySource]:
    """Import the module ``name``; its top-level package (or file) is what workers get."""
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent package that does not exist
        found = None
    except (Exception, SystemExit) as err:  # a parent package whose __init__ raises
        raise ConfigError(f"module {name} failed to import{_user_frame(err, ())}: "
                          f"{_first_line(err)}") from None
    if found is None:
        raise ConfigError(f"no module named {name!r}: a study is a name of --list, a .py file "
                          "or an importable module")
    try:
        module = importlib.import_module(name)
    except (Exception, SystemExit) as err:
        files = tuple(f for f in (found.origin,) if f)
        raise ConfigError(f"module {name} failed to import{_user_frame(err, files)}: "
                          f"{_first_line(err)}") from None
    return module, StudySource(kind, where or name, name, _package_to_ship(name))


def _package_to_ship(name: str) -> str | None:
    """The folder of ``name``'s top-level package (of a namespace package, the part that
    holds the module), or its file for a top-level module."""
    top = importlib.util.find_spec(name.partition(".")[0])
    if top is None:
        return None
    if not top.submodule_search_locations:
        return top.origin
    parts = list(top.submodule_search_locations)
    origin = getattr(sys.modules.get(name), "__file__", None) or ""
    return next((p for p in parts if origin.startswith(p.rstrip("/") + "/")), parts[0])
