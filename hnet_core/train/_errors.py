"""Errors a trainer raises for its caller to record."""

from __future__ import annotations


class TrainingDiverged(RuntimeError):
    """The loss or the gradient norm became NaN or infinite; the message says where."""
