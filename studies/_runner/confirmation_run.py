"""Running a confirmation (:mod:`.confirmation`) and writing ``confirmations.parquet``.

The confirmation is an Optuna study of its own in the search's storage, named
``<search>-confirm`` by default, with one queued trial per configuration (its parameters
fixed; a system attribute names the configuration). The runner's driver runs it like any
study (Ray, seeds, resumable: the same command continues it); a failed trial is queued again,
until the failure budget is passed, so every configuration ends with all its seeds or the
run stops. ``confirmations.parquet`` (one row per configuration and seed) is written under the
confirmation's results folder whenever a run ends, from the storage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from studies._runner.config import ConfigError
from studies._runner.confirmation import (
    CONFIGURATION_KEY,
    CONFIRMATION_KEY,
    Confirmation,
    plan_confirmation,
)
from studies._runner.driver import (
    Driver,
    RunSettings,
    TrialFailed,
    study_identity,
)
from studies._runner.results import SCHEMA_KEY, SCHEMA_VERSION, STUDY_KEY, trial_record
from studies._runner.session import RunHooks, run_plan, study_info

COMPLETE = optuna.trial.TrialState.COMPLETE


class ConfirmDriver(Driver):
    """The runner's driver, but a failed trial is queued again with its configuration (a
    confirmation must end with every configuration, not with new samples)."""

    def objective(self, trial: optuna.Trial) -> float | list[float]:
        attrs = trial.storage.get_trial_system_attrs(trial._trial_id)
        if CONFIGURATION_KEY not in attrs:  # never: the queue holds every configuration
            raise TrialFailed("a confirmation asked for a trial beyond its configurations")
        return super().objective(trial)

    def _retries(self, trial: optuna.trial.FrozenTrial) -> bool:
        return CONFIGURATION_KEY in trial.system_attrs or super()._retries(trial)


def open_confirmation(storage: optuna.storages.BaseStorage, c: Confirmation) -> optuna.Study:
    """Create the confirmation study with a queued trial per configuration, or load it when
    it confirms the same configurations under the same seeds and config; then queue again any
    configuration with no complete, running or queued trial (its last try failed)."""
    p = c.plan
    identity = study_identity(p.config, p.objectives)
    described = c.describe()
    name = p.study_name
    if name in optuna.study.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage,
                                  sampler=optuna.samplers.RandomSampler(seed=0))
        if (study.user_attrs.get("identity") != identity
                or study.user_attrs.get(CONFIRMATION_KEY) != described):
            raise ConfigError(f"study {name!r} in the storage confirms other configurations, "
                              "seeds or config; pass --confirm-name to start a new one")
    else:
        study = optuna.create_study(study_name=name, storage=storage,
                                    sampler=optuna.samplers.RandomSampler(seed=0),
                                    directions=[p.spec.metrics[o] for o in p.objectives])
        study.set_user_attr("identity", identity)
        study.set_user_attr("source", p.source.as_dict())
        study.set_user_attr(CONFIRMATION_KEY, described)
        with warnings.catch_warnings():  # metric names are "experimental" in Optuna 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(p.objectives))
    _queue_missing(study, c)
    return study


def _queue_missing(study: optuna.Study, c: Confirmation) -> None:
    live = (COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    covered = {t.system_attrs.get(CONFIGURATION_KEY)
               for t in study.get_trials(deepcopy=False, states=live)}
    for index, configuration in enumerate(c.configurations):
        if index not in covered:
            study.add_trial(optuna.trial.create_trial(
                state=optuna.trial.TrialState.WAITING,
                system_attrs={"fixed_params": configuration.params, CONFIGURATION_KEY: index}))


def confirmation_rows(study: optuna.Study, c: Confirmation) -> list[dict[str, Any]]:
    """One row per complete trial's seed, in the configurations' order: which configuration
    (label, role, the search trial and its rank and values), the confirmation trial, seed,
    parameters and final metrics."""
    rows = []
    done = study.get_trials(deepcopy=False, states=(COMPLETE,))
    for trial in sorted(done, key=lambda t: t.system_attrs[CONFIGURATION_KEY]):
        configuration = c.configurations[trial.system_attrs[CONFIGURATION_KEY]]
        record = trial_record(trial)
        base: dict[str, Any] = {
            "study": c.plan.study_name, "search_study": c.search_name,
            "configuration": configuration.label, "role": configuration.role,
            "search_trial": configuration.search_trial, "search_rank": configuration.rank,
            "search_seeds": ",".join(map(str, configuration.search_seeds)),
            "trial": trial.number}
        base.update({f"search_{k}": v for k, v in configuration.search_metrics.items()})
        base.update({f"param_{k}": v for k, v in configuration.params.items()})
        for seed, final in sorted(record.get("final_metrics", {}).items(),
                                  key=lambda item: int(item[0])):
            row = dict(base, seed=int(seed), trainable_params=final.get("params"))
            row.update({f"final_{k}": v for k, v in final.items() if k not in ("epoch", "params")})
            rows.append(row)
    return rows


def write_confirmations(frame: pd.DataFrame, c: Confirmation, folder: Path,
                        info: dict[str, Any]) -> Path:
    """``frame`` (:func:`confirmation_rows`) as ``confirmations.parquet`` under ``folder``,
    written whole and renamed into place (a reader never sees half a file), with the study
    metadata every result table carries."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {SCHEMA_KEY: SCHEMA_VERSION.encode(),
            STUDY_KEY: json.dumps({**info, CONFIRMATION_KEY: c.describe()}).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "confirmations.parquet"
    partial = folder / f".confirmations.parquet.{os.getpid()}.tmp"
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path


def _summary(frame: pd.DataFrame, settings: RunSettings, c: Confirmation, path: Path) -> None:
    objective = settings.objectives[0]
    print(f"{settings.study_name}: {objective} under seeds {','.join(map(str, c.seeds))}")
    for configuration in c.configurations:
        rows = (frame[frame.configuration == configuration.label] if not frame.empty
                else frame)
        if rows.empty:
            continue
        values = rows[f"final_{objective}"].astype(float)
        search = configuration.search_metrics.get(objective)
        was = "" if search is None else f" (search: {search:.4g})"
        print(f"  {configuration.label:>12}: {values.mean():.4g} ± {values.std():.2g} over "
              f"{len(values)} seeds{was}")
    print(f"results: {path}")
    print(f"report: python -m analysis.report {c.search_name} --results-dir "
          f"{settings.results_dir.parent}")


def run_confirmation(args: argparse.Namespace) -> int:
    """``studies.confirm``: plan, then run the confirmation study; the exit code."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    c = plan_confirmation(args)
    for note in c.notes:
        print(f"note: {note}", file=sys.stderr)
    folder = c.plan.results_dir / c.plan.study_name
    info = study_info(c.plan, len(c.configurations))

    def finish(study: optuna.Study, settings: RunSettings, driver: Driver, url: str) -> None:
        frame = pd.DataFrame(confirmation_rows(study, c))
        _summary(frame, settings, c, write_confirmations(frame, c, folder, info))
        if driver.failures > driver.config.max_failures:
            print(f"error: {driver.failures} trials failed in this run, more than "
                  f"--max-failures {driver.config.max_failures}", file=sys.stderr)

    def stopped(study: optuna.Study) -> None:
        write_confirmations(pd.DataFrame(confirmation_rows(study, c)), c, folder, info)

    return run_plan(c.plan, args, RunHooks(
        lambda storage: open_confirmation(storage, c), ConfirmDriver, finish, stopped))
