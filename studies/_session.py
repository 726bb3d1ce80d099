"""One invocation of the runner: validate everything, then open storage, start Ray and run.

Every check that can fail on bad input (study, overrides, objectives, sampler, storage URL,
dataset, Ray address) runs before anything is written.
"""

from __future__ import annotations

import argparse
import os
import sys

import optuna

from hnet_core.data import DatasetError
from studies import _ray_backend
from studies._config import ConfigError
from studies._driver import (
    Driver,
    RunSettings,
    make_pruner,
    make_sampler,
    start_run,
    study_identity,
)
from studies._progress import Progress
from studies._registry import load_study
from studies._results import ResultsWriter
from studies._storage import (
    check_storage_reachable,
    check_storage_url,
    default_storage_url,
    fail_stale_trials,
    open_storage,
)
from studies.run import build_config, objectives_of, trial_slots


def _open_study(storage, name: str, directions: list[str], identity: dict, sampler,
                pruner) -> optuna.Study:
    """Create the study, or load it when its stored identity matches this run's."""
    if name in optuna.study.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                  pruner=pruner)
        stored = study.user_attrs.get("identity")
        if stored != identity:
            raise ConfigError(f"study {name!r} in the storage was run with another config or "
                              "objectives; pass --study-name to start a new one")
        return study
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                pruner=pruner, directions=directions)
    study.set_user_attr("identity", identity)
    return study


def run_session(args: argparse.Namespace) -> int:
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the runner reports trials itself
    spec = load_study(args.study)
    config = build_config(spec, args)
    objectives = objectives_of(spec, args)
    pruner_name = args.pruner or spec.pruner
    if len(objectives) > 1 and pruner_name != "none":
        if args.pruner:
            raise ConfigError("--pruner needs a single objective (Optuna cannot prune a "
                              "multi-objective study)")
        pruner_name = "none"
    sampler_name = args.sampler or ("nsga2" if len(objectives) > 1 else spec.sampler)
    sampler = make_sampler(sampler_name, spec, config, seed=0)
    pruner = make_pruner(pruner_name, config)
    study_name = args.study_name or f"{spec.name}-{args.preset}"
    results_dir = args.results_dir.resolve()
    storage_url = args.storage or default_storage_url(results_dir)
    check_storage_url(storage_url)
    try:
        spec.check_data(config)
    except DatasetError as err:
        raise ConfigError(str(err)) from None
    check_storage_reachable(storage_url)
    address = args.ray_address or os.environ.get("RAY_ADDRESS")
    if address:
        _ray_backend.check_reachable(address)

    resources = _ray_backend.start_ray(address, args.ray_cpus)
    try:
        jobs = trial_slots(config, resources, args.jobs)
        storage = open_storage(storage_url)
        directions = [spec.metrics[o] for o in objectives]
        study = _open_study(storage, study_name, directions,
                            study_identity(config, objectives), sampler, pruner)
        stale = fail_stale_trials(study)
        run_id = start_run(study)
        results = ResultsWriter(study, list(objectives), results_dir / study_name)
        settings = RunSettings(study_name, objectives, sampler_name, pruner_name,
                               results.folder, jobs, args.quiet)
        done_before = len(study.get_trials(deepcopy=False, states=(
            optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)))
        if stale:
            print(f"{study_name}: {stale} trial(s) left running by an earlier driver were "
                  "failed and queued again", file=sys.stderr)
        with results, Progress(study_name, config.n_trials, done_before, objectives[0],
                               args.quiet) as progress:
            driver = Driver(spec, config, settings, study, progress, results, run_id)
            code = driver.run()
        _summary(study, settings, driver, storage_url)
        return code
    except KeyboardInterrupt:
        print(f"{study_name}: stopped; run the same command again to continue",
              file=sys.stderr)
        return 130
    finally:
        _ray_backend.stop_ray()


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
    print(f"dashboard: python -m studies.dashboard --storage {storage_url}")
    if driver.failures > driver.config.max_failures:
        print(f"error: {driver.failures} trials failed in this run, more than --max-failures "
              f"{driver.config.max_failures}", file=sys.stderr)
