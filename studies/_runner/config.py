"""``--set key=value`` overrides, typed and validated against a study's config dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, NoReturn

#: Field metadata key: the field follows another one (named by the value); ``--set`` refuses it.
DERIVED_FROM = "derived_from"


class ConfigError(ValueError):
    """A bad override, flag value or study name; the message is one line for the user."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2 (the runner's commands)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _parse_scalar(text: str, kind: type) -> Any:
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError
    return kind(text)


def parse_value(text: str, annotation: Any) -> Any:
    """Convert ``text`` to the annotated type: int, float, bool, str, ``X | None``, tuples."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if text.lower() == "none" and type(None) in args:
            return None
        (kind,) = [a for a in args if a is not type(None)]
        return parse_value(text, kind)
    if origin is tuple:
        kind = args[0]
        return tuple(_parse_scalar(part.strip(), kind) for part in text.split(",") if part.strip())
    if origin is typing.Literal:
        if text not in args:
            raise ValueError
        return text
    return _parse_scalar(text, annotation)


def apply_overrides(config: Any, overrides: list[str], study: str,
                    unused: tuple[str, ...] = ()) -> Any:
    """Return ``config`` with each ``key=value`` applied; raises ConfigError naming the problem
    (an unknown key, a bad value, a field another one determines, or one of ``unused``: fields
    of the config class that this study does not read)."""
    hints = typing.get_type_hints(type(config))
    fields = {f.name: f for f in dataclasses.fields(config)}
    names = list(fields)
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value")
        if key not in names:
            raise ConfigError(f"--set {key}: unknown key for {study}; known: {', '.join(names)}")
        if key in unused:
            raise ConfigError(f"--set {key}: {study} does not use {key} (its grid of variants "
                              "sets what it varies)")
        source = fields[key].metadata.get(DERIVED_FROM)
        if source is not None:
            raise ConfigError(f"--set {key}: {study} derives {key} from {source}; set {source}")
        try:
            changes[key] = parse_value(text.strip(), hints[key])
        except (ValueError, TypeError):
            raise ConfigError(f"--set {key}={text}: expected {_describe(hints[key])}") from None
    try:
        changed = dataclasses.replace(config, **changes)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"--set: {err}") from None
    ignored = [key for key in changes if key in changed.unused()]
    if ignored:
        raise ConfigError(f"--set {ignored[0]}: {study} does not use {ignored[0]} with these "
                          f"settings ({changed.unused_reason()})")
    return changed


def _describe(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
