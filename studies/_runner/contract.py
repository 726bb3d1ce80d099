"""The checks every study passes, shipped or a user's own: :func:`check_study`.

The runner calls it before Ray starts (a failing study is one line, exit 2); a researcher calls
it from their own tests (``studies.check_study(SPEC)``).
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any, cast

import optuna

from studies._runner.config import ConfigError
from studies._runner.spec import PRESETS, StudyConfig, StudySpec


class StudyContractError(ConfigError):
    """A study that breaks the contract; the message is one line naming the study and what."""


def _sample(spec: StudySpec, config: StudyConfig) -> dict[str, Any]:
    """One sample of the search space, checked to come only from ``trial.suggest_*`` calls."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = spec.search_space(trial, config)
    if not isinstance(params, dict) or set(params) != set(trial.params):
        raise StudyContractError(f"study {spec.name}: search_space must return the params it "
                                 "suggested (a dict of trial.suggest_* values), got "
                                 f"{sorted(params) if isinstance(params, dict) else params!r}")
    fixed = cast(optuna.Trial, optuna.trial.FixedTrial(trial.params))  # a Trial's interface
    again = spec.search_space(fixed, config)
    if again != params:
        raise StudyContractError(f"study {spec.name}: search_space gives other params under "
                                 "FixedTrial: it must only call trial.suggest_*")
    return params


def check_study(spec: Any) -> None:
    """Check that ``spec`` is a complete, runnable study; raise :class:`StudyContractError`.

    Checks: it is a :class:`StudySpec`; its smoke, quick and paper presets are frozen configs of
    one :class:`StudyConfig` subclass; each preset's search space only calls ``suggest_*`` (a
    :class:`optuna.trial.FixedTrial` of the sample gives it back) and names only grid
    parameters where there is a grid; each sample builds its trial's configs
    (``trial_configs``); the trial function pickles (Ray ships it by reference, so it must be a
    module-level function); the objectives are metrics with a direction.
    """
    if not isinstance(spec, StudySpec):
        raise StudyContractError(f"SPEC must be a studies.StudySpec, got {type(spec).__name__}")
    kinds = {type(spec.presets[p]) for p in PRESETS}
    if len(kinds) != 1 or not issubclass(next(iter(kinds)), StudyConfig):
        raise StudyContractError(f"study {spec.name}: presets must be configs of one "
                                 "studies.StudyConfig subclass")
    config_class = next(iter(kinds))
    if not (dataclasses.is_dataclass(config_class)
            and config_class.__dataclass_params__.frozen):  # type: ignore[attr-defined]
        raise StudyContractError(f"study {spec.name}: {config_class.__name__} must be a "
                                 "frozen dataclass (@dataclass(frozen=True))")
    for preset in PRESETS:
        config = spec.presets[preset]
        params = _sample(spec, config)
        if spec.grid is not None and not set(params) <= set(spec.grid(config)):
            raise StudyContractError(f"study {spec.name} ({preset}): search-space params "
                                     f"{sorted(set(params) - set(spec.grid(config)))} are "
                                     "not in its grid")
        try:
            spec.trial_configs(config, params, 0)
        except ValueError as err:
            raise StudyContractError(f"study {spec.name} ({preset}): its trial configs do "
                                     f"not build: {err}") from None
    try:
        pickle.dumps(spec.trial)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise StudyContractError(f"study {spec.name}: the trial function does not pickle "
                                 f"({err}); make it a module-level function") from None
    bad = {m: d for m, d in spec.metrics.items() if d not in ("minimize", "maximize")}
    if bad:
        raise StudyContractError(f"study {spec.name}: metric directions must be minimize or "
                                 f"maximize, got {bad}")
