"""One invocation of the runner: validate everything, start Ray, open the storage and run.

Every check that can fail on bad input (study, overrides, objectives, sampler, storage URL and
server, dataset, Ray address, resources) runs before anything is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import optuna

from hnet_core.data import DatasetError
from studies._runner import checks, ray_backend
from studies._runner.checkpoints import TRIAL_RETRIES, CheckpointDir, checkpoints_of
from studies._runner.config import ConfigError, apply_overrides
from studies._runner.contract import check_study
from studies._runner.driver import Driver, RunSettings, continues, start_run, study_identity
from studies._runner.importing import StudySource
from studies._runner.progress import Progress
from studies._runner.registry import find_study
from studies._runner.results import ResultsWriter
from studies._runner.search_algorithms import make_pruner, make_sampler
from studies._runner.spec import Direction, StudyConfig, StudySpec
from studies._runner.stopping import StopSignals
from studies._runner.storage import (
    check_storage_reachable,
    check_storage_url,
    claim_study,
    default_storage_url,
    fail_stale_trials,
    hide_password,
    open_storage,
)


def build_config(spec: StudySpec, args: argparse.Namespace) -> StudyConfig:
    """The preset, then ``--set``, then the dedicated flags; ConfigError on bad values."""
    config = apply_overrides(spec.presets[args.preset], args.overrides, spec.name,
                             spec.unused_fields)
    flags = {"n_trials": args.n_trials, "cpus_per_trial": args.cpus_per_trial,
             "gpus_per_trial": args.gpus_per_trial, "max_failures": args.max_failures,
             "data_dir": _data_dir(args.data_dir)}
    if args.seeds is not None:
        try:
            flags["seeds"] = tuple(int(s) for s in args.seeds.split(",") if s.strip())
        except ValueError:
            raise ConfigError(f"--seeds {args.seeds!r}: expected integers like 1,2,3") from None
    changes = {k: v for k, v in flags.items() if v is not None}
    try:
        return dataclasses.replace(config, **changes)
    except ValueError as err:  # ConfigError from the config's checks, or another ValueError
        flag = ", ".join(f"--{k.replace('_', '-')}" for k in changes)
        raise ConfigError(f"{flag}: {err}" if flag else str(err)) from None


def _data_dir(path: str | None) -> str | None:
    """``--data-dir`` as an absolute path; ConfigError when it names no folder."""
    if path is None:
        return None
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"--data-dir {path}: no such folder")
    return str(folder)


def check_search_space(spec: StudySpec, config: StudyConfig, sampler: str,
                       objectives: tuple[str, ...]) -> None:
    """Build the configs of every grid point (``--sampler grid``), or of one sample of the
    search space (any other sampler), in memory.

    A search space that cannot produce a valid trial, or a grid with a point that cannot run,
    is refused before the study exists, so it cannot fill the storage with failed trials.
    """
    if sampler == "grid" and spec.grid is not None:
        _check_grid_points(spec, config, spec.grid(config))
        return
    study = optuna.create_study(sampler=make_sampler(sampler, spec, config, seed=0,
                                                     objectives=len(objectives)),
                                directions=[spec.metrics[o] for o in objectives])
    trial = study.ask()
    try:
        params = spec.search_space(trial, config)
        spec.check_trial(config, params)
    except Exception as err:  # any error here means no trial of this config can run
        raise ConfigError(f"{spec.name}: this config's search space gives no valid trial "
                          f"({ray_backend.error_text(err)})") from None


def _check_grid_points(spec: StudySpec, config: StudyConfig,
                       grid: dict[str, list[Any]]) -> None:
    """ConfigError naming the first point of ``grid`` whose trial cannot be built (by the
    values the grid varies), and why."""
    names = list(grid)
    for values in itertools.product(*(grid[name] for name in names)):
        point = dict(zip(names, values, strict=True))
        try:
            fixed = cast(optuna.Trial, optuna.trial.FixedTrial(point))  # the same suggest_*
            spec.check_trial(config, spec.search_space(fixed, config))
        except Exception as err:  # this grid point's trial could not run
            varied = [f"{name}={point[name]}" for name in names if len(grid[name]) > 1]
            where = f"grid point {', '.join(varied)}" if varied else "the grid's one point"
            raise ConfigError(f"{spec.name}: {where} gives no valid trial "
                              f"({ray_backend.error_text(err)})") from None


def objectives_of(spec: StudySpec, args: argparse.Namespace) -> tuple[str, ...]:
    if not args.objectives:
        return spec.objectives
    names = tuple(n.strip() for n in args.objectives.split(",") if n.strip())
    unknown = [n for n in names if n not in spec.metrics]
    if unknown or not names:
        raise ConfigError(f"--objectives: unknown {unknown}; {spec.name} reports "
                          f"{', '.join(spec.metrics)}")
    repeated = checks.repeated(names)
    if repeated:
        raise ConfigError(f"--objectives: {', '.join(repeated)} named more than once")
    return names


def check_jobs(jobs: int | None) -> None:
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")


def local_resources(ray_cpus: int | None, ray_gpus: int | None = None
                    ) -> list[dict[str, float]]:
    """The one node a local Ray started with ``--ray-cpus`` and ``--ray-gpus`` will have, known
    before starting it (GPUs: those CUDA finds, unless ``--ray-gpus``)."""
    if ray_cpus is not None and ray_cpus < 1:
        raise ConfigError(f"--ray-cpus must be >= 1, got {ray_cpus}")
    if ray_gpus is not None and ray_gpus < 0:
        raise ConfigError(f"--ray-gpus must be >= 0, got {ray_gpus}")
    if ray_gpus is None:
        import torch

        ray_gpus = torch.cuda.device_count()
    return [{"CPU": float(ray_cpus or os.cpu_count() or 1), "GPU": float(ray_gpus)}]


def trial_slots(config: StudyConfig, nodes: list[dict[str, float]], jobs: int | None) -> int:
    """Concurrent trials: ``--jobs`` (checked by :func:`plan`), else as many as the nodes'
    CPUs and GPUs fit (each seed of a trial on one node; fractions of a GPU pack)."""
    cpus, gpus = config.cpus_per_trial, config.gpus_per_trial
    seeds_at_once = ray_backend.how_many_fit(nodes, cpus, gpus)
    if seeds_at_once == 0:
        largest = max(nodes, key=lambda n: (n["GPU"], n["CPU"]),
                      default={"CPU": 0.0, "GPU": 0.0})
        where = ("the Ray cluster has" if len(nodes) == 1 else
                 f"no node of the Ray cluster's {len(nodes)} has that many; the largest has")
        raise ConfigError(f"a trial needs {cpus:g} CPUs and {gpus:g} GPUs; {where} "
                          f"{largest['CPU']:g} and {largest['GPU']:g}")
    if jobs is not None:
        return jobs
    return max(1, seeds_at_once // len(config.seeds))


def _open_study(storage, name: str, directions: list[Direction], config: StudyConfig,
                identity: dict, source: StudySource, sampler, pruner) -> optuna.Study:
    """Create the study, or load it when its stored identity matches this run's (config
    fields added since at their defaults: :func:`continues`) and its study came from the same
    module (a file moved to another folder is the same study)."""
    if name in optuna.study.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                  pruner=pruner)
        if not continues(study.user_attrs.get("identity"), identity, config):
            raise ConfigError(f"study {name!r} in the storage was run with another config or "
                              "objectives; pass --study-name to start a new one")
        came_from = study.user_attrs.get("source")
        if came_from is not None and came_from["module"] != source.module:
            raise ConfigError(f"study {name!r} in the storage ran the study of "
                              f"{came_from['kind']} {came_from['where']}, not of "
                              f"{source.describe()}; pass --study-name to start a new one")
        if came_from != source.as_dict():
            study.set_user_attr("source", source.as_dict())
        return study
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                pruner=pruner, directions=directions)
    study.set_user_attr("identity", identity)
    study.set_user_attr("source", source.as_dict())
    with warnings.catch_warnings():  # metric names are "experimental" in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(identity["objectives"])  # the dashboard's axis names
    return study


@dataclass(frozen=True)
class Plan:
    """A validated invocation: what to run and where.

    ``jobs`` is the number of trial slots when known before Ray starts (a local cluster); with
    ``address`` set it is computed once the cluster answers.
    """

    spec: StudySpec
    source: StudySource
    config: StudyConfig
    preset: str
    objectives: tuple[str, ...]
    sampler: str
    pruner: str
    study_name: str
    results_dir: Path
    storage_url: str
    address: str | None
    jobs: int | None
    checkpoints: CheckpointDir | None = None
    trial_retries: int = TRIAL_RETRIES


def plan(args: argparse.Namespace) -> Plan:
    """Check every argument, the search space and the data; ConfigError (exit 2) on the first
    problem. Writes nothing and starts nothing."""
    spec, source = find_study(args.study)
    check_study(spec)
    config = build_config(spec, args)
    objectives = objectives_of(spec, args)
    check_jobs(args.jobs)
    pruner = args.pruner or spec.pruner
    if len(objectives) > 1 and pruner != "none":
        if args.pruner:
            raise ConfigError("--pruner needs a single objective (Optuna cannot prune a "
                              "multi-objective study)")
        pruner = "none"
    sampler = args.sampler or ("nsga2" if len(objectives) > 1 else spec.sampler)
    check_search_space(spec, config, sampler, objectives)
    address = args.ray_address or os.environ.get("RAY_ADDRESS") or None
    jobs = None if address else trial_slots(config, local_resources(args.ray_cpus,
                                                                    args.ray_gpus), args.jobs)
    results_dir = args.results_dir.resolve()
    storage_url = args.storage or default_storage_url(results_dir)
    check_storage_url(storage_url)
    try:
        spec.check_data(config)
    except DatasetError as err:
        raise ConfigError(str(err)) from None
    check_storage_reachable(storage_url)
    study_name = args.study_name or f"{spec.name}-{args.preset}"
    folder = checkpoints_of(args, results_dir, study_name)
    if address:
        ray_backend.check_reachable(address)
    return Plan(spec, source, config, args.preset, objectives, sampler, pruner, study_name,
                results_dir, storage_url, address, jobs, folder, args.trial_retries)


def study_info(p: Plan, target: int) -> dict:
    """What the report needs to know of the study, for the result files' metadata."""
    return {"study": p.spec.name, "source": p.source.describe(),
            "stored_name": p.study_name, "preset": p.preset,
            "family": p.spec.family, "group_by": p.spec.group_by,
            "objectives": list(p.objectives), "directions": dict(p.spec.metrics),
            "sampler": p.sampler, "target_trials": target, "epochs": p.config.epochs,
            "seeds": list(p.config.seeds), "storage": hide_password(p.storage_url),
            "config": study_identity(p.config, p.objectives)["config"]}


def run_session(args: argparse.Namespace) -> int:
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the runner reports trials itself
    p = plan(args)

    def open_study(storage: optuna.storages.BaseStorage) -> optuna.Study:
        return _open_study(storage, p.study_name, [p.spec.metrics[o] for o in p.objectives],
                           p.config, study_identity(p.config, p.objectives), p.source,
                           make_sampler(p.sampler, p.spec, p.config, seed=args.sampler_seed,
                                        objectives=len(p.objectives)),
                           make_pruner(p.pruner, p.config))

    return run_plan(p, args, RunHooks(open_study, Driver, _summary))


@dataclass(frozen=True)
class RunHooks:
    """What differs between a search (:func:`run_session`) and a run of fixed configurations
    (``studies.confirm``): how the study is opened, which driver runs it, and what is written
    and printed once it has run (``finish(study, settings, driver, storage_url, stopped)``)."""

    open_study: Callable[[optuna.storages.BaseStorage], optuna.Study]
    driver: type[Driver]
    finish: Callable[[optuna.Study, RunSettings, Driver, str], None]
    after_stop: Callable[[optuna.Study], None] | None = None


def run_plan(p: Plan, args: argparse.Namespace, hooks: RunHooks) -> int:
    """Start Ray, open the study, run it to its target, write the Parquet results; returns the
    exit code (SIGTERM and Ctrl-C queue the running trials again)."""
    claim = claim_study(p.storage_url, p.study_name)
    signals = StopSignals()
    try:
        signals.install()
        resources = ray_backend.start_ray(p.address, args.ray_cpus, args.ray_gpus,
                                          p.source.ship)
        signals.install()  # again: Ray's driver has put its own SIGTERM handler in place
        jobs = p.jobs or trial_slots(p.config, resources, args.jobs)
        study = hooks.open_study(open_storage(p.storage_url))
        stale = fail_stale_trials(study)
        run_id = start_run(study)
        target = p.config.n_trials
        if p.sampler == "grid":  # a grid ends with its points
            # make_sampler refused a grid sampler for a study without a grid
            target = min(target, cast(int, p.spec.grid_size(p.config)))
        results = ResultsWriter(study, list(p.objectives), p.results_dir / p.study_name,
                                study_info(p, target))
        settings = RunSettings(p.study_name, p.objectives, results.folder, jobs, p.checkpoints,
                               p.trial_retries)
        done_before = len(study.get_trials(deepcopy=False, states=(
            optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)))
        if stale:
            print(f"{p.study_name}: {stale} trial(s) left running by an earlier driver were "
                  "failed and queued again", file=sys.stderr)
        with results, Progress(p.study_name, target, done_before, p.objectives[0],
                               args.quiet, p.config.epochs) as progress:
            driver = hooks.driver(p.spec, p.config, settings, study, progress, results, run_id)
            signals.driver = driver
            code = driver.run()
        if driver.stopped_by is not None:
            if hooks.after_stop is not None:
                hooks.after_stop(study)
            print(f"{p.study_name}: stopped by {signals.name()}; {driver.queued_again} running "
                  "trial(s) queued again; run the same command again to continue",
                  file=sys.stderr)
            return signals.exit_code()
        hooks.finish(study, settings, driver, p.storage_url)
        return code
    except KeyboardInterrupt:
        print(f"{p.study_name}: stopped by {signals.name()}; run the same command again to "
              "continue", file=sys.stderr)
        return signals.exit_code()
    finally:
        ray_backend.stop_ray()
        signals.restore()
        if claim is not None:
            claim.close()


def _summary(study: optuna.Study, settings: RunSettings, driver: Driver,
             storage_url: str) -> None:
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    counts = {s: states.count(s) for s in ("COMPLETE", "PRUNED", "FAIL")}
    line = (f"{settings.study_name}: {counts['COMPLETE']} complete, {counts['PRUNED']} pruned, "
            f"{counts['FAIL']} failed")
    if len(settings.objectives) == 1 and counts["COMPLETE"]:
        best = study.best_trial
        line += f"; best {settings.objectives[0]} {best.value:.4g} (trial {best.number})"
    elif counts["COMPLETE"]:
        line += f"; Pareto front of {len(study.best_trials)} trials"
    print(line)
    print(f"results: {settings.results_dir}/trials.parquet, epochs.parquet")
    shown = hide_password(storage_url)
    hint = " (with the password given to --storage)" if shown != storage_url else ""
    print(f"dashboard: python -m studies.dashboard --storage '{shown}'{hint}")
    if driver.failures > driver.config.max_failures:
        print(f"error: {driver.failures} trials failed in this run, more than --max-failures "
              f"{driver.config.max_failures}", file=sys.stderr)
