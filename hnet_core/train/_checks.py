"""Field checks of the trainer configs: each raises ValueError naming the field and value."""

from __future__ import annotations

import math
from typing import Any


def at_least(config: Any, minimum: int, *names: str) -> None:
    """Each field is ``None`` or ``>= minimum``."""
    for name in names:
        value = getattr(config, name)
        if value is not None and not value >= minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")


def positive(config: Any, *names: str) -> None:
    """Each field is a finite number > 0."""
    for name in names:
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")


def non_negative(config: Any, *names: str) -> None:
    """Each field is a finite number >= 0."""
    for name in names:
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {value}")
