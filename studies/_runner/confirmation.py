"""What ``studies.confirm`` runs: the best configurations of a stored search, and a reference.

A search's best trial is the best of many noisy draws; its value overstates what its setting
gives (the winner's curse). A confirmation re-runs the K best complete configurations of a
stored study (several objectives: the Pareto front's, best first by the first objective)
under fresh seeds, with the configuration a preset names as the reference (by default the
study's ``paper`` preset, where its grid names one point), in a study of its own in the same
storage. This module checks all of it before anything runs; :mod:`.confirmation_run` runs it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import optuna

from hnet_core.data import DatasetError
from studies._runner import checks, journal, ray_backend
from studies._runner.checkpoints import checkpoints_of
from studies._runner.config import ConfigError
from studies._runner.contract import check_study
from studies._runner.driver import study_identity
from studies._runner.registry import find_study
from studies._runner.results import trial_record
from studies._runner.session import (
    Plan,
    _data_dir,
    check_jobs,
    local_resources,
    trial_slots,
)
from studies._runner.spec import PRESETS, RUNNER_FIELDS, StudyConfig, StudySpec
from studies._runner.storage import (
    check_storage_reachable,
    check_storage_url,
    default_storage_url,
    open_storage,
)

#: The system attribute naming the configuration (its index in the confirmation) a trial runs.
CONFIGURATION_KEY = "hnet_studies:configuration"
#: The confirmation study's user attribute describing what it confirms.
CONFIRMATION_KEY = "confirmation"


@dataclass(frozen=True)
class Configuration:
    """One configuration a confirmation runs under every seed.

    Attributes:
        label: ``trial 12`` (a search trial) or the reference preset's name (``paper``).
        role: ``candidate`` or ``reference``.
        params: the trial parameters, as the search space suggests them.
        search_trial: the search trial it re-runs (None for the reference).
        rank: its place among the candidates, 1 the best (None for the reference).
        search_metrics: the search trial's final metrics, mean over its seeds (numeric ones).
        search_seeds: the seeds the search ran it under.
    """

    label: str
    role: str
    params: dict[str, Any]
    search_trial: int | None = None
    rank: int | None = None
    search_metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    search_seeds: tuple[int, ...] = ()


@dataclass(frozen=True)
class Confirmation:
    """A validated ``studies.confirm``: the runner's plan for the confirmation study, and what
    it confirms."""

    plan: Plan
    search_name: str
    seeds: tuple[int, ...]
    against: str | None
    configurations: tuple[Configuration, ...]
    notes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """What is stored on the confirmation study (JSON), and checked when it continues."""
        return json.loads(json.dumps({
            "search_study": self.search_name, "seeds": list(self.seeds),
            "against": self.against,
            "configurations": [dataclasses.asdict(c) for c in self.configurations]}))


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples a config dataclass holds."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def search_config(spec: StudySpec, preset: StudyConfig, stored: dict[str, Any],
                  runner: dict[str, Any]) -> StudyConfig:
    """The config the search ran (its stored identity), with the runner fields of ``preset``
    and ``runner`` (flags); fields added to the config since, at their defaults."""
    fields = {f.name: f for f in dataclasses.fields(preset)}
    values = stored.get("config", {})
    gone = sorted(set(values) - set(fields))
    if gone:
        raise ConfigError(f"the stored search has config fields {', '.join(gone)} that "
                          f"{spec.name} no longer has; it was run by another version")
    changes = {k: _tuples(v) for k, v in values.items()}
    for name, f in fields.items():
        if name not in values and name not in RUNNER_FIELDS and name != "seeds":
            changes[name] = f.default if f.default is not dataclasses.MISSING else None
    changes.update(runner)
    try:
        config = dataclasses.replace(preset, **changes)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"the stored search's config is not valid today: {err}") from None
    rebuilt = study_identity(config, ())["config"]
    differs = sorted(k for k in values if k != "seeds" and rebuilt.get(k) != values[k])
    if differs:
        raise ConfigError(f"cannot rebuild the stored search's config ({', '.join(differs)} "
                          "come out otherwise)")
    return config


def _stored_study(storage_url: str, name: str) -> optuna.Study:
    """The stored search, read; a one-line ConfigError when the storage or study is missing.
    A journal or SQLite file that does not exist is not created."""
    path = journal.journal_path(storage_url)
    if path is None and storage_url.startswith("sqlite:///"):
        path = Path(storage_url.removeprefix("sqlite:///"))
    if path is not None and not path.is_file():
        raise ConfigError(f"no stored study {name!r}: no Optuna storage at {path} (run the "
                          "search first, or pass --storage and --results-dir)")
    storage = open_storage(storage_url)
    names = optuna.study.get_all_study_names(storage)
    if name not in names:
        raise ConfigError(f"no study {name!r} in the storage; stored: "
                          f"{', '.join(sorted(names)) or 'none'} (pass --study-name)")
    return optuna.load_study(study_name=name, storage=storage)


def _numeric_means(trial: optuna.trial.FrozenTrial) -> tuple[dict[str, float], tuple[int, ...]]:
    """A trial's final metrics, mean over its seeds (numeric ones), and those seeds."""
    record = trial_record(trial)
    finals = list(record.get("final_metrics", {}).values())
    names = [k for k in (finals[0] if finals else {}) if k != "epoch"
             and all(isinstance(f.get(k), (int, float)) for f in finals)]
    return ({k: sum(float(f[k]) for f in finals) / len(finals) for k in names},
            tuple(int(s) for s in record.get("seeds", [])))


def candidates(study: optuna.Study, spec: StudySpec, objectives: list[str],
               top: int | None) -> list[Configuration]:
    """The ``top`` best complete configurations, best first (several objectives: the Pareto
    front's, by the first objective; all of it when ``top`` is None). Trials with the same
    parameters count once. ConfigError when there are fewer than ``top``."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pool = study.best_trials if len(objectives) > 1 and complete else complete
    sign = -1.0 if spec.metrics[objectives[0]] == "maximize" else 1.0
    ranked = sorted(pool, key=lambda t: (sign * cast(list[float], t.values)[0], t.number))
    chosen: list[optuna.trial.FrozenTrial] = []
    seen: set[str] = set()
    for trial in ranked:
        key = json.dumps(trial.params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            chosen.append(trial)
    what = ("trials on its Pareto front" if len(objectives) > 1
            else "complete trials (distinct configurations)")
    if top is not None and len(chosen) < top:
        raise ConfigError(f"study {study.study_name!r} has {len(chosen)} {what}, fewer than "
                          f"--top {top}")
    if not chosen:
        raise ConfigError(f"study {study.study_name!r} has no complete trial to confirm")
    found = []
    for rank, trial in enumerate(chosen[:top], start=1):
        means, seeds = _numeric_means(trial)
        means.update({o: v for o, v in zip(objectives, cast(list[float], trial.values),
                                           strict=True)})
        found.append(Configuration(f"trial {trial.number}", "candidate", dict(trial.params),
                                   trial.number, rank, means, seeds))
    return found


def reference(spec: StudySpec, config: StudyConfig, against: str, explicit: bool,
              notes: list[str]) -> Configuration | None:
    """The configuration preset ``against`` names: its grid's one point, run under the
    search's config. When the preset names no single point or its trials would differ under
    the search's config: None, with the reason in ``notes`` (the default ``paper``), or a
    ConfigError (``--against`` given)."""
    if against not in spec.presets:
        raise ConfigError(f"--against {against}: {spec.name} has no preset {against!r}; "
                          f"presets: {', '.join(spec.presets)}")
    same_runner = {f: getattr(config, f) for f in (*RUNNER_FIELDS, "seeds")}
    preset = dataclasses.replace(spec.presets[against], **same_runner)
    grid = spec.grid(preset) if spec.grid is not None else None
    if grid is None or any(len(values) != 1 for values in grid.values()):
        what = "no grid" if grid is None else "a grid of several points"
        why = f"{spec.name}'s {against} preset names {what}, not one configuration"
        if not explicit:
            notes.append(f"no reference: {why}")
            return None
        raise ConfigError(f"--against {against}: {why}; pass --against none")
    params = {name: values[0] for name, values in grid.items()}
    try:
        same = spec.trial_configs(config, params, 0) == spec.trial_configs(preset, params, 0)
    except ValueError as err:
        raise ConfigError(f"--against {against}: its configuration cannot run under the "
                          f"search's config ({err})") from None
    if not same:
        why = (f"the search's config differs from the {against} preset in what it fixes (not "
               "only in what it searches), so its configuration would not run as the preset "
               "does")
        if not explicit:
            notes.append(f"no reference: {why}")
            return None
        raise ConfigError(f"--against {against}: {why}; pass --against none")
    return Configuration(against, "reference", params)


def check_params(spec: StudySpec, config: StudyConfig, objectives: list[str],
                 configuration: Configuration) -> None:
    """ConfigError unless the search space suggests exactly ``configuration``'s parameters
    under ``config`` (each within its range or choices) and they build a valid trial."""
    study = optuna.create_study(directions=[spec.metrics[o] for o in objectives])
    study.enqueue_trial(configuration.params)
    trial = study.ask()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # Optuna: a fixed value out of range
            params = spec.search_space(trial, config)
        spec.check_trial(config, params)
    except (ValueError, UserWarning) as err:
        raise ConfigError(f"{configuration.label}: its parameters do not fit the search "
                          f"space today ({err})") from None
    missing = sorted(set(configuration.params) - set(trial.params))
    if missing:
        raise ConfigError(f"{configuration.label}: the search space no longer suggests "
                          f"{', '.join(missing)}")


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected integers like 0,1,2,3,4") from None
    if not seeds:
        raise ConfigError("--seeds: name at least one seed")
    repeated = checks.repeated(seeds)
    if repeated:
        raise ConfigError(f"--seeds {text}: {', '.join(map(str, repeated))} named more than "
                          "once")
    return seeds


def _runner_flags(args: argparse.Namespace) -> dict[str, Any]:
    flags = {"cpus_per_trial": args.cpus_per_trial, "gpus_per_trial": args.gpus_per_trial,
             "max_failures": args.max_failures, "data_dir": _data_dir(args.data_dir)}
    return {k: v for k, v in flags.items() if v is not None}


def plan_confirmation(args: argparse.Namespace) -> Confirmation:
    """Check every argument, the stored search and the configurations; ConfigError (exit 2)
    on the first problem. Reads the storage; writes nothing and starts nothing."""
    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top must be >= 1, got {args.top}")
    if args.preset not in PRESETS:
        raise ConfigError(f"--preset {args.preset}: choose from {', '.join(PRESETS)}")
    seeds = _seeds(args.seeds)
    spec, source = find_study(args.study)
    check_study(spec)
    search_name = args.study_name or f"{spec.name}-{args.preset}"
    name = args.confirm_name or f"{search_name}-confirm"
    if name == search_name:
        raise ConfigError("--confirm-name: the confirmation needs a study of its own")
    results_dir = args.results_dir.resolve()
    storage_url = args.storage or default_storage_url(results_dir)
    check_storage_url(storage_url)
    check_storage_reachable(storage_url)
    stored = _stored_study(storage_url, search_name)
    identity = stored.user_attrs.get("identity") or {}
    objectives = list(identity.get("objectives") or [])
    if not objectives or any(o not in spec.metrics for o in objectives):
        raise ConfigError(f"study {search_name!r} was not stored by this runner for "
                          f"{spec.name} (its objectives: {objectives or 'none recorded'})")
    runner = _runner_flags(args)
    config = search_config(spec, spec.presets[args.preset], identity, runner)
    top = args.top if args.top is not None or len(objectives) > 1 else 3
    found = candidates(stored, spec, objectives, top)
    against = None if args.against == "none" else (args.against or "paper")
    notes: list[str] = []
    ref = None if against is None else reference(spec, config, against,
                                                 args.against is not None, notes)
    configurations = (*found, *([ref] if ref is not None else []))
    for configuration in configurations:
        check_params(spec, config, objectives, configuration)
    config = dataclasses.replace(config, seeds=seeds, n_trials=len(configurations))
    reused = sorted(set(seeds) & {s for c in found for s in c.search_seeds})
    if reused:
        notes.append(f"seed(s) {', '.join(map(str, reused))} also ran in the search: the "
                     "candidates' values under them are the draws the search selected, so "
                     "their means keep part of the winner's curse; seeds the search did not "
                     "use give an unbiased estimate")
    try:
        spec.check_data(config)
    except DatasetError as err:
        raise ConfigError(str(err)) from None
    check_jobs(args.jobs)
    address = args.ray_address or os.environ.get("RAY_ADDRESS") or None
    jobs = None if address else trial_slots(config, local_resources(args.ray_cpus,
                                                                    args.ray_gpus), args.jobs)
    if address:
        ray_backend.check_reachable(address)
    plan = Plan(spec, source, config, args.preset, tuple(objectives), "random", "none", name,
                results_dir, storage_url, address, jobs,
                checkpoints_of(args, results_dir, name), args.trial_retries)
    return Confirmation(plan, search_name, seeds, ref.label if ref else None,
                        configurations, tuple(notes))
