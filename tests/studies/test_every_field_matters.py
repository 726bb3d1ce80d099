"""No setting silently ignored: for every study and preset, changing any config field to
another valid value changes what the trial builds (model, training and data configs), the
search space or the grid. The runner's own fields (``RUNNER_FIELDS``, ``seeds``) schedule the
study; a field another one determines (``DERIVED_FROM``) is refused by ``--set``."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

import optuna
import pytest

from studies import DERIVED_FROM, PRESETS, ConfigError
from studies._runner.config import apply_overrides
from studies._runner.registry import load_study, study_names
from studies._runner.spec import RUNNER_FIELDS

EXEMPT = (*RUNNER_FIELDS, "seeds")

def _chunk_size(config: Any) -> int:
    """A chunk size that gives the config's fixed chunk count but differs from the one the
    count alone gives (ceil(P / count))."""
    from studies._hypercl import target_size

    size, count = target_size(config), config.num_chunks
    return math.ceil(size / count) + 1


#: Fields whose other valid values a rule of thumb cannot guess: ``(config, value) -> value``
#: (or a dict of fields changed together, where one field alone has no other valid value).
OTHER_VALUES: dict[str, Any] = {
    "cell": lambda c, v: "lstm" if v != "lstm" else "hyperlstm",
    "benchmark": lambda c, v: "pmnist" if v == "splitmnist" else "splitmnist",
    "method": lambda c, v: "ewc" if v != "ewc" else "hnet",
    "targets": lambda c, v: "frozen" if v == "stored" else "stored",
    "hnet_activation": lambda c, v: "relu" if v == "elu" else "elu",
    "hnet_init": lambda c, v: "xavier" if v == "he_hidden" else "he_hidden",
    "direct_init": lambda c, v: "xavier" if v == "he" else "he",
    "hnet_hidden": lambda c, v: f"{v}x3",
    "replay_enc_hidden": lambda c, v: f"{v}x3",
    "replay_dec_hidden": lambda c, v: "7x7" if v is None else None,
    "replay_hnet_hidden": lambda c, v: f"{v}x3",
    "replay_chunk_size": lambda c, v: None if v is not None else 3000,
    "hnet_hidden_choices": lambda c, v: (*v, "7x7"),
    "method_choices": lambda c, v: ("ewc", "hnet") if v != ("ewc", "hnet") else ("hnet_r",),
    "scenario_choices": lambda c, v: (1, 2) if v != (1, 2) else (3,),
    "split_digits": lambda c, v: ("02", "13", "45", "67", "89"),
    "archive": lambda c, v: "/elsewhere/cifar-10-python.tar.gz",
    "num_tasks": lambda c, v: v - 1 if v > 1 else 2,
    "keep_prob": lambda c, v: v * 0.9,
    "keep_prob_low": lambda c, v: v * 0.9,
    "grid_x": lambda c, v: (*v, 0.123),
    "depth": lambda c, v: v + 6,
    "chunk_size": lambda c, v: _chunk_size(c),
    "plain_recipe": lambda c, v: "paper_sgd" if v == "adam" else "adam",
    # a coupled change: the hypernetwork's method follows the scenario (hnet needs the task)
    "scenario": lambda c, v: {"scenario": 3 if v != 3 else 1,
                              **({"method": "hnet_ent" if v == 1 else "hnet"}
                                 if c.method in ("hnet", "hnet_ent") else {})},
    "hyper_recipe": lambda c, v: "paper_adam" if v == "adam" else "adam",
}

#: (study, preset, field): no other value of the field is valid on its own.
ALONE_INVALID = {
    # SplitMNIST has 5 tasks; the preset has 10 (its benchmark is tried at the other presets)
    ("hypercl_pmnist", "paper", "benchmark"),
    # the paper's chunk size gives the paper's chunk count for the paper's target only
    *((s, "paper", f) for s in ("hypercl_pmnist", "hypercl_splitmnist", "hypercl_ablation",
                                "hypercl_scenarios")
      for f in ("benchmark", "target_hidden")),
    # PermutedMNIST-100's chunk size gives its 404 chunks for its 100 tasks and target only
    *(("hypercl_pmnist100", p, f) for p in ("quick", "paper")
      for f in ("benchmark", "num_tasks", "target_hidden")),
}


def _scalar_candidates(value: Any, annotation: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value * 2, value - 1]
    if isinstance(value, float):
        if math.isinf(value):
            return [0.5]
        return [value * 2, value / 2, value + 1, value - 1]
    if value is None:  # an optional size or limit
        return [3, 7000]
    raise AssertionError(f"no rule for {value!r}; add the field to OTHER_VALUES")


def candidates(config: Any, name: str, value: Any, annotation: Any) -> list[Any]:
    """Other values to try for a field, the likeliest valid first."""
    if name in OTHER_VALUES:
        return [OTHER_VALUES[name](config, value)]
    if isinstance(value, tuple):
        if not value:
            return [(2,), (2.0,)]
        longer = [(*value, c) for c in _scalar_candidates(value[-1], None) if c not in value]
        return longer + ([value[:-1]] if len(value) > 1 else [])
    return _scalar_candidates(value, annotation)


def another_valid(config: Any, name: str) -> Any:
    """``config`` with field ``name`` set to another value its checks accept."""
    hints = typing.get_type_hints(type(config))
    tried = []
    for value in candidates(config, name, getattr(config, name), hints[name]):
        if value == getattr(config, name):
            continue
        changes = value if isinstance(value, dict) else {name: value}  # dict: coupled fields
        try:
            return dataclasses.replace(config, **changes)
        except (ConfigError, ValueError) as err:
            tried.append(f"{value!r}: {err}")
    raise AssertionError(f"no other valid value of {name} found ({'; '.join(tried)})")


SAMPLES = 12


def what_it_builds(spec, config) -> tuple:
    """The search space's distributions over a few sampled trials (a conditional parameter
    appears in some), the grid, and the configs those trials and the grid's first point
    build."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    distributions, built = {}, []
    for _ in range(SAMPLES):
        trial = study.ask()
        params = spec.search_space(trial, config)
        distributions.update(trial.distributions)
        built.append(spec.trial_configs(config, params, 0))
    grid = spec.grid(config) if spec.grid is not None else None
    if grid is not None:
        point = {k: values[0] for k, values in grid.items()}
        built.append(spec.trial_configs(config, {**params, **point}, 0))
    return distributions, grid, built


def _fields(name: str) -> list[tuple[str, str, str]]:
    spec = load_study(name)
    rows = []
    for preset in PRESETS:
        config = spec.presets[preset]
        for field in dataclasses.fields(config):
            if (field.name not in EXEMPT and DERIVED_FROM not in field.metadata
                    and field.name not in (*spec.unused_fields, *config.unused())
                    and (name, preset, field.name) not in ALONE_INVALID):
                rows.append((name, preset, field.name))
    return rows


CASES = [row for name in study_names() for row in _fields(name)]


@pytest.mark.parametrize("study,preset,field", CASES,
                         ids=[f"{s}-{p}-{f}" for s, p, f in CASES])
def test_every_config_field_changes_what_the_trial_builds(study, preset, field):
    spec = load_study(study)
    config = spec.presets[preset]
    changed = another_valid(config, field)
    assert what_it_builds(spec, changed) != what_it_builds(spec, config), (
        f"{study} ({preset}): --set {field}={getattr(changed, field)!r} changes nothing")


def test_derived_and_unused_fields_are_refused_by_set():
    for study, item, message in [
            ("hypercl_pmnist", "epochs=3", "hypercl_pmnist derives epochs from num_tasks"),
            ("hypercl_ablation", "beta_output=0.5", "hypercl_ablation does not use beta_output"),
            ("hyperlstm_ablation", "cell=lstm", "hyperlstm_ablation does not use cell"),
            ("static_hnet_cifar10", "lr=0.01", "does not use lr with these settings")]:
        spec = load_study(study)
        preset = "paper" if study == "static_hnet_cifar10" else "smoke"
        with pytest.raises(ConfigError, match=message):
            apply_overrides(spec.presets[preset], [item], spec.name, spec.unused_fields)


def test_unused_fields_are_fields_and_really_unused():
    for name in study_names():
        spec = load_study(name)
        config = spec.presets["smoke"]
        for field in spec.unused_fields:
            changed = another_valid(config, field)
            assert what_it_builds(spec, changed) == what_it_builds(spec, config), (name, field)
