"""The study runner: ``python -m studies.run <study> [--preset quick] [flags]``.

``<study>`` is a shipped study's name, an installed package's (entry point group
``hnet_studies.studies``), a ``.py`` file or an importable module with a ``SPEC``.

Optuna searches (its storage: a journal file under ``--results-dir`` by default, or SQLite or
any RDB URL via ``--storage``), Ray runs each trial seed on a pool of worker actors (a local Ray
by default, or the cluster at ``--ray-address`` / ``$RAY_ADDRESS``), and every finished trial
lands in Parquet under ``<results-dir>/<study name>/``. Running the same command again continues
the study.

Exit codes: 0 done; 1 the failure budget was passed; 2 bad input (nothing written); 143 stopped
by SIGTERM, 130 by Ctrl-C (running trials queued again for the next run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studies._runner.checkpoints import add_checkpoint_flags
from studies._runner.config import ConfigError, OneLineParser
from studies._runner.registry import listed_studies
from studies._runner.search_algorithms import PRUNERS, SAMPLERS
from studies._runner.spec import PRESETS


def _escaped(text: str) -> str:
    """Help text with its ``%`` doubled (argparse formats help strings with ``%``)."""
    return text.replace("%", "%%")


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m studies.run",
                description="Run an Optuna study whose trials run on Ray; results in Parquet.")
    p.add_argument("study", nargs="?", help="a study name (see --list), a .py file or an "
                   "importable module with a SPEC")
    p.add_argument("--list", action="store_true", help="list the studies and their presets")
    p.add_argument("--preset", default="quick", choices=PRESETS)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config field (repeatable)")
    p.add_argument("--n-trials", type=int, help="finished trials to reach")
    p.add_argument("--seeds", help="comma-separated seeds; each configuration runs under each")
    p.add_argument("--objectives", help="comma-separated metrics, e.g. valid_bpc,params")
    p.add_argument("--sampler", choices=list(SAMPLERS), help="default: the study's (NSGA-II "
                   "for several objectives); " + "; ".join(
                       f"{k}: {_escaped(a.description)}" for k, a in SAMPLERS.items()))
    p.add_argument("--sampler-seed", type=int, default=0, help="the sampler's seed (default 0)")
    p.add_argument("--pruner", choices=list(PRUNERS), help="default: the study's; " + "; ".join(
        f"{k}: {_escaped(a.description)}" for k, a in PRUNERS.items()))
    p.add_argument("--storage", help="journal:///file, sqlite:///file.db or an Optuna RDB URL "
                   "(default: <results-dir>/optuna.journal)")
    p.add_argument("--results-dir", default="results", type=Path)
    p.add_argument("--study-name", help="name in the storage (default: <study>-<preset>)")
    p.add_argument("--cpus-per-trial", type=float)
    p.add_argument("--gpus-per-trial", type=float)
    p.add_argument("--jobs", type=int, help="concurrent trials (default: what Ray can fit)")
    p.add_argument("--max-failures", type=int)
    p.add_argument("--ray-address", help="join this Ray cluster (default: $RAY_ADDRESS, or local)")
    p.add_argument("--ray-cpus", type=int, help="CPUs of a local Ray (default: all)")
    p.add_argument("--ray-gpus", type=int, help="GPUs a local Ray declares (default: those "
                   "CUDA finds; more than there are only to test GPU packing)")
    p.add_argument("--data-dir", help="data root searched first")
    p.add_argument("--quiet", action="store_true", help="one line per finished trial")
    add_checkpoint_flags(p)
    return p


def list_studies() -> None:
    """Every shipped study and every installed package's, with where it comes from."""
    for name, spec, where in listed_studies():
        if spec is None:
            print(f"{name:20s} {where}")
            continue
        presets = ", ".join(f"{p} ({c.n_trials} trials x {c.epochs} epochs)"
                            for p, c in spec.presets.items())
        print(f"{name:20s} {spec.description}\n{'':20s} presets: {presets}\n"
              f"{'':20s} from: {where}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        try:
            list_studies()
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    if not args.study:
        print("error: name a study (see --list)", file=sys.stderr)
        return 2
    from studies._runner.session import run_session  # imports Ray and Optuna only when running

    try:
        return run_session(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
