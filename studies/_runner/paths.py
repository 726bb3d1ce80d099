"""Whether the runner can write where it is told to, checked before anything starts and
without leaving a trace."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def check_folder_writable(folder: Path) -> None:
    """Create ``folder`` (and its missing parents), write and remove a file in it, then remove
    the folders it created. Raises OSError (a parent that is a file, no permission, a
    read-only disk)."""
    missing = []
    for path in [folder, *folder.parents]:
        if path.exists():
            break
        missing.append(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"probe")
        probe.unlink()
    finally:
        for path in missing:  # deepest first
            if path.is_dir():
                os.rmdir(path)
