"""Field checks a study config runs when it is built, so a bad preset or ``--set`` is refused at
plan time with one line naming the field, before any storage or Ray exists.

A study config calls these from its ``validate`` method; each raises :class:`ConfigError`.
:func:`check_common` runs for every config: every float anywhere (tuples included) is finite
unless its field says otherwise with ``metadata={MAY_BE_INFINITE: True}`` (a threshold whose
infinity means "never"), and no tuple may be empty unless its field says so with
``metadata={MAY_BE_EMPTY: True}`` (a list of schedule milestones, say, rather than a list of
choices). A field that another one determines (``epochs`` of a continual-learning study, one
report a task) says so with ``metadata={DERIVED_FROM: "num_tasks"}``: ``--set`` refuses it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from studies._runner.config import ConfigError

MAY_BE_EMPTY = "may_be_empty"
MAY_BE_INFINITE = "may_be_infinite"


def _items(value: Any) -> tuple[Any, ...]:
    """A tuple field's elements, or a scalar field as one item."""
    return value if isinstance(value, tuple) else (value,)


def check_common(config: Any) -> None:
    """Every float field (and tuple element) finite, infinities only where a field allows them;
    no empty tuple field but those allowed."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, tuple) and not value and not field.metadata.get(MAY_BE_EMPTY):
            raise ConfigError(f"{field.name} must name at least one value, got none")
        for item in _items(value):
            if not isinstance(item, float) or math.isfinite(item):
                continue
            if math.isnan(item):
                raise ConfigError(f"{field.name} must be a number, got nan")
            if not field.metadata.get(MAY_BE_INFINITE):
                raise ConfigError(f"{field.name} must be finite, got {item!r}")


def repeated(values: Sequence[Any]) -> list[Any]:
    """The values that occur more than once in ``values``, sorted."""
    return sorted({v for v in values if values.count(v) > 1})


def at_least(config: Any, minimum: float, *names: str) -> None:
    """Each field (or each element of a tuple field; ``None`` allowed) is >= ``minimum``."""
    for name in names:
        for item in _items(getattr(config, name)):
            if item is not None and not item >= minimum:
                raise ConfigError(f"{name} must be >= {minimum:g}, got {item!r}")


def positive(config: Any, *names: str) -> None:
    """Each float field (or tuple element) is finite and > 0."""
    for name in names:
        for item in _items(getattr(config, name)):
            if item is not None and not (math.isfinite(item) and item > 0):
                raise ConfigError(f"{name} must be a finite number > 0, got {item!r}")


def finite(config: Any, *names: str) -> None:
    """Each float field is finite."""
    for name in names:
        value = getattr(config, name)
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be finite, got {value!r}")


def in_interval(config: Any, name: str, low: float, high: float, *,
                low_open: bool = False) -> None:
    """The field (or each element) lies in ``[low, high]`` (``(low, high]`` with low_open)."""
    for item in _items(getattr(config, name)):
        above = item > low if low_open else item >= low
        if not (above and item <= high):
            bracket = "(" if low_open else "["
            raise ConfigError(f"{name} must be in {bracket}{low:g}, {high:g}], got {item!r}")


def search_range(config: Any, low_name: str, high_name: str, *, log: bool = False) -> None:
    """A search range: both ends finite, ``low <= high``, both > 0 when searched on a log scale."""
    low, high = getattr(config, low_name), getattr(config, high_name)
    if log:
        positive(config, low_name, high_name)
    else:
        finite(config, low_name, high_name)
    if low > high:
        raise ConfigError(f"{low_name} ({low!r}) must be <= {high_name} ({high!r})")


def one_of(config: Any, name: str, allowed: tuple[Any, ...]) -> None:
    """The field (or each element of a tuple field) is one of ``allowed``."""
    for item in _items(getattr(config, name)):
        if item not in allowed:
            raise ConfigError(f"{name} {item!r} is not one of {', '.join(map(str, allowed))}")
