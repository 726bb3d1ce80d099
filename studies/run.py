"""The study runner: ``python -m studies.run <study> [--preset quick] [flags]``.

Optuna searches (its storage: SQLite in WAL mode under ``--results-dir`` by default, or any RDB
URL via ``--storage``), Ray runs each trial seed as a task (a local Ray by default, or the cluster
at ``--ray-address`` / ``$RAY_ADDRESS``), and every finished trial lands in Parquet under
``<results-dir>/<study name>/``. Running the same command again continues the study.

Exit codes: 0 done; 1 the failure budget was passed; 2 bad input (nothing written); 130 stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from studies._config import ConfigError, apply_overrides
from studies._registry import load_study, study_names
from studies._spec import PRESETS, StudyConfig, StudySpec

SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("none", "median", "hyperband")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m studies.run",
                description="Run an Optuna study whose trials run on Ray; results in Parquet.")
    p.add_argument("study", nargs="?", help="study name (see --list)")
    p.add_argument("--list", action="store_true", help="list the studies and their presets")
    p.add_argument("--preset", default="quick", choices=PRESETS)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config field (repeatable)")
    p.add_argument("--n-trials", type=int, help="finished trials to reach")
    p.add_argument("--seeds", help="comma-separated seeds; each configuration runs under each")
    p.add_argument("--objectives", help="comma-separated metrics, e.g. valid_bpc,params")
    p.add_argument("--sampler", choices=SAMPLERS, help="default: the study's (NSGA-II for "
                   "several objectives)")
    p.add_argument("--pruner", choices=PRUNERS, help="default: the study's")
    p.add_argument("--storage", help="Optuna RDB URL (default: SQLite under --results-dir)")
    p.add_argument("--results-dir", default="results", type=Path)
    p.add_argument("--study-name", help="name in the storage (default: <study>-<preset>)")
    p.add_argument("--cpus-per-trial", type=float)
    p.add_argument("--gpus-per-trial", type=float)
    p.add_argument("--jobs", type=int, help="concurrent trials (default: what Ray can fit)")
    p.add_argument("--max-failures", type=int)
    p.add_argument("--ray-address", help="join this Ray cluster (default: $RAY_ADDRESS, or local)")
    p.add_argument("--ray-cpus", type=int, help="CPUs of a local Ray (default: all)")
    p.add_argument("--data-dir", help="data root searched first")
    p.add_argument("--quiet", action="store_true", help="one line per finished trial")
    return p


def list_studies() -> None:
    for name in study_names():
        spec = load_study(name)
        presets = ", ".join(f"{p} ({c.n_trials} trials x {c.epochs} epochs)"
                            for p, c in spec.presets.items())
        print(f"{name:20s} {spec.description}\n{'':20s} presets: {presets}")


def build_config(spec: StudySpec, args: argparse.Namespace) -> StudyConfig:
    """The preset, then ``--set``, then the dedicated flags; ConfigError on bad values."""
    config = apply_overrides(spec.presets[args.preset], args.overrides, spec.name)
    flags = {"n_trials": args.n_trials, "cpus_per_trial": args.cpus_per_trial,
             "gpus_per_trial": args.gpus_per_trial, "max_failures": args.max_failures,
             "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None}
    if args.seeds is not None:
        try:
            flags["seeds"] = tuple(int(s) for s in args.seeds.split(",") if s.strip())
        except ValueError:
            raise ConfigError(f"--seeds {args.seeds!r}: expected integers like 1,2,3") from None
    try:
        return dataclasses.replace(config, **{k: v for k, v in flags.items() if v is not None})
    except ValueError as err:
        raise ConfigError(str(err)) from None


def objectives_of(spec: StudySpec, args: argparse.Namespace) -> tuple[str, ...]:
    if not args.objectives:
        return spec.objectives
    names = tuple(n.strip() for n in args.objectives.split(",") if n.strip())
    unknown = [n for n in names if n not in spec.metrics]
    if unknown or not names:
        raise ConfigError(f"--objectives: unknown {unknown}; {spec.name} reports "
                          f"{', '.join(spec.metrics)}")
    return names


def trial_slots(config: StudyConfig, resources: dict[str, float], jobs: int | None) -> int:
    """Concurrent trials: ``--jobs``, else as many as the cluster's CPUs and GPUs fit."""
    if jobs is not None:
        if jobs < 1:
            raise ConfigError("--jobs must be >= 1")
        return jobs
    if config.cpus_per_trial > resources["CPU"] or config.gpus_per_trial > resources["GPU"]:
        raise ConfigError(f"a trial needs {config.cpus_per_trial:g} CPUs and "
                          f"{config.gpus_per_trial:g} GPUs; the Ray cluster has "
                          f"{resources['CPU']:g} and {resources['GPU']:g}")
    seeds = len(config.seeds)
    fits = resources["CPU"] // (config.cpus_per_trial * seeds)
    if config.gpus_per_trial > 0:
        fits = min(fits, resources["GPU"] // (config.gpus_per_trial * seeds))
    return max(1, int(fits))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        list_studies()
        return 0
    if not args.study:
        print("error: name a study (see --list)", file=sys.stderr)
        return 2
    from studies._session import run_session  # imports Ray and Optuna only when running

    try:
        return run_session(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
