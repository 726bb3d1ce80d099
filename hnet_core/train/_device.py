"""Device choice and checkpoint files shared by trainers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with torch.save to a temporary file, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.part-{os.getpid()}")
    torch.save(payload, part)
    os.replace(part, path)


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when there is none."""
    if not path.is_file():
        return None
    return torch.load(path, map_location=device, weights_only=True)
