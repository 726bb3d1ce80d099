"""Confirm a search's winners under seeds: ``python -m studies.confirm <study> --seeds 1,2,3,4,5``.

    python -m studies.confirm hypercl_splitmnist --preset paper --top 3 --seeds 1,2,3,4,5
    python -m studies.confirm hypercl_splitmnist --study-name my-search --against none
    python -m analysis.report hypercl_splitmnist-paper     # the report's confirmation section

Re-runs the ``--top`` K best complete configurations of a stored study (default 3; several
objectives: the Pareto front, or its K best by the first objective) under every seed, and the
configuration of the ``--against`` preset as the reference (default: the study's ``paper``
preset, where it names one configuration that runs the same under the search's config), in a
study of its own in the same storage (``<search>-confirm``; ``--confirm-name``). The search's
config comes from the storage; ``--preset`` names the search (``<study>-<preset>``) and gives
the scheduling fields (CPUs per trial, ...), which the flags override. Running the same command
again continues it. Results: ``<results-dir>/<search>-confirm/`` holds the usual tables and
``confirmations.parquet``; ``analysis.confirmation_table`` and the search's report give each
configuration's mean, std and 95% interval, its difference to the reference (Welch's t-test,
Holm-corrected across the K) and the winner's curse (the search's value minus the mean).

Use seeds the search did not use: a seed it ran gives the candidates the very draws it
selected them on.

Exit codes as ``studies.run``: 0 done; 1 the failure budget was passed; 2 bad input (nothing
written); 143 stopped by SIGTERM, 130 by Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studies._runner.checkpoints import add_checkpoint_flags
from studies._runner.config import ConfigError, OneLineParser
from studies._runner.spec import PRESETS


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m studies.confirm",
                description="Re-run a stored search's best configurations under seeds.")
    p.add_argument("study", help="the study's name, .py file or module (as for studies.run)")
    p.add_argument("--seeds", required=True, help="comma-separated seeds, each configuration "
                   "runs under each (e.g. 1,2,3,4,5)")
    p.add_argument("--top", type=int, help="configurations to confirm (default 3; several "
                   "objectives: the whole Pareto front)")
    p.add_argument("--against", help="the reference: a preset whose grid names one "
                   "configuration, or none (default: paper, where it can)")
    p.add_argument("--preset", default="quick", choices=PRESETS,
                   help="the search's preset: its stored name and scheduling fields")
    p.add_argument("--study-name", help="the search's name in the storage (default: "
                   "<study>-<preset>)")
    p.add_argument("--confirm-name", help="the confirmation's name (default: <search>-confirm)")
    p.add_argument("--storage", help="the search's storage (default: "
                   "<results-dir>/optuna.journal)")
    p.add_argument("--results-dir", default="results", type=Path)
    p.add_argument("--cpus-per-trial", type=float)
    p.add_argument("--gpus-per-trial", type=float)
    p.add_argument("--jobs", type=int, help="concurrent trials (default: what Ray can fit)")
    p.add_argument("--max-failures", type=int)
    p.add_argument("--ray-address", help="join this Ray cluster (default: $RAY_ADDRESS, or local)")
    p.add_argument("--ray-cpus", type=int, help="CPUs of a local Ray (default: all)")
    p.add_argument("--ray-gpus", type=int, help="GPUs a local Ray declares")
    p.add_argument("--data-dir", help="data root searched first")
    p.add_argument("--quiet", action="store_true", help="one line per finished trial")
    add_checkpoint_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from studies._runner.confirmation_run import run_confirmation  # Ray, Optuna: when running

    try:
        return run_confirmation(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
