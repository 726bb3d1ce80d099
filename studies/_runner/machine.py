"""What a seed ran on, for the results' provenance: the node's CPU model and core count.

Read where the seed runs (a Ray worker), so a cluster's trials each name their own node's CPU.
Only the standard library, and read once per worker (its actor's start), not per seed.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name with the node's logical core count, e.g. ``AMD EPYC, 2 cores``.

    Linux names the model in ``/proc/cpuinfo`` (``model name``); elsewhere, or where the file
    has no such line (some ARM kernels), :func:`platform.processor` or the machine type stands in.
    """
    name = ""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                name = value.strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name}, {os.cpu_count()} cores"
