"""Every registered study through the same checks; trial functions run under FixedTrial."""

from __future__ import annotations

import dataclasses
import math
import pickle
import re
import subprocess
import sys

import optuna
import pytest

from studies import (
    MAY_BE_EMPTY,
    PRESETS,
    ConfigError,
    StudyConfig,
    StudyContractError,
    check_study,
)
from studies._runner.registry import load_study, study_names
from studies._runner.session import check_search_space
from tests.cifar_archive import write_cifar_archive


def test_registry_lists_the_studies():
    assert {"hyperlstm_ptb", "hyperlstm_ablation", "synthetic"} <= set(study_names())


@pytest.fixture(params=study_names())
def spec(request):
    return load_study(request.param)


def test_spec_is_complete(spec):
    assert spec.description and "\n" not in spec.description
    for preset in PRESETS:
        config = spec.presets[preset]
        assert isinstance(config, StudyConfig) and dataclasses.is_dataclass(config)
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.n_trials = 5
    assert spec.objectives and set(spec.objectives) <= set(spec.metrics)
    assert set(spec.metrics.values()) <= {"minimize", "maximize"}
    pickle.dumps(spec.trial)  # Ray ships it to workers by reference


def test_search_space_only_suggests(spec):
    config = spec.presets["smoke"]
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = spec.search_space(trial, config)
    assert set(params) == set(trial.params)
    again = spec.search_space(optuna.trial.FixedTrial(trial.params), config)
    assert again == params
    if spec.grid is not None:
        assert set(params) <= set(spec.grid(config))


@pytest.mark.needs_data
def test_trial_function_runs_the_smoke_preset(spec, data_dir, tmp_path):
    config = dataclasses.replace(spec.presets["smoke"], data_dir=str(data_dir))
    if hasattr(config, "archive"):  # CIFAR-10 is not among the shared datasets
        write_cifar_archive(tmp_path / "cifar.tar.gz", per_batch=16)
        config = dataclasses.replace(config, archive=str(tmp_path / "cifar.tar.gz"),
                                     valid_size=16)
    sampled = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    spec.search_space(sampled, config)
    params = spec.search_space(optuna.trial.FixedTrial(sampled.params), config)
    history = list(spec.trial(config, params, 0))
    assert [m["epoch"] for m in history] == list(range(1, config.epochs + 1))
    for metrics in history:
        # The objectives come every epoch; a side metric may belong to some methods only
        # (fine-tuning in CL2/CL3 infers no task, so it reports no task_inference_acc).
        assert set(spec.objectives) <= metrics.keys()
        for name in spec.metrics.keys() & metrics.keys():
            assert math.isfinite(metrics[name]), name


def test_presets_validate_and_their_search_space_gives_a_valid_trial(spec):
    """Every preset passes its own checks again and plans a trial (as ``plan`` does)."""
    for preset in PRESETS:
        config = spec.presets[preset]
        assert dataclasses.replace(config) == config
        check_search_space(spec, config, spec.sampler, spec.objectives)


def test_configs_refuse_nan_and_empty_choices(spec):
    config = spec.presets["smoke"]
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, float):
            with pytest.raises(ConfigError, match=f"{field.name} must be a number"):
                dataclasses.replace(config, **{field.name: math.nan})
        if isinstance(value, tuple) and not field.metadata.get(MAY_BE_EMPTY):
            with pytest.raises(ConfigError, match=f"{field.name} must name at least one"):
                dataclasses.replace(config, **{field.name: ()})


def test_the_synthetic_study_and_the_runner_never_load_torch():
    """GPU packing is tested with synthetic trials on declared GPUs: their workers must not
    load torch (nor CUDA)."""
    code = ("import sys, studies.synthetic as s\n"
            "from studies._runner import ray_backend  # what a worker loads\n"
            "list(s.run_trial(s.SPEC.presets['smoke'], {'x': 0.1}, 0))\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_study_passes_the_public_contract_check(spec):
    check_study(spec)


def _good_search_space(trial, config):
    return {"x": trial.suggest_float("x", -1.0, 1.0)}


def _extra_param_space(trial, config):
    return {"x": trial.suggest_float("x", -1.0, 1.0), "y": 3}


def _random_space(trial, config):
    import random

    return {"x": trial.suggest_float("x", -1.0, 1.0) + random.random()}


def _broken_trial_configs(config, params, seed):
    raise ValueError("hidden sizes must be >= 1")


@pytest.mark.parametrize("change,message", [
    ({"search_space": _extra_param_space}, "must return the params it suggested"),
    ({"search_space": _random_space}, "gives other params under FixedTrial"),
    ({"trial": lambda config, params, seed: iter(())}, "the trial function does not pickle"),
    ({"trial_configs": _broken_trial_configs}, "its trial configs do not build: hidden sizes"),
    ({"grid": lambda config: {"z": [1]}}, "search-space params ['x'] are not in its grid"),
])
def test_a_broken_study_fails_the_contract_in_one_line(change, message):
    synthetic = load_study("synthetic")
    broken = dataclasses.replace(synthetic, **{"search_space": _good_search_space, **change})
    with pytest.raises(StudyContractError, match=re.escape(message)) as info:
        check_study(broken)
    assert "\n" not in str(info.value) and str(info.value).startswith("study synthetic")


def test_a_spec_that_is_not_a_studyspec_is_refused():
    with pytest.raises(StudyContractError, match="SPEC must be a studies.StudySpec, got dict"):
        check_study({"name": "mine"})
