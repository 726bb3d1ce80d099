"""Every sampler and pruner of the tables, on a real Optuna study of the synthetic trial."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from studies import ConfigError
from studies._runner.registry import load_study
from studies._runner.search_algorithms import PRUNERS, SAMPLERS, make_pruner, make_sampler

SPEC = load_study("synthetic")
CONFIG = dataclasses.replace(SPEC.presets["smoke"], sleep_s=0.0, epochs=4)


def _objective(trial: optuna.Trial) -> float:
    params = SPEC.search_space(trial, CONFIG)
    for metrics in SPEC.trial(CONFIG, params, 0):
        trial.report(metrics["valid_loss"], metrics["epoch"])
        if trial.should_prune():
            raise optuna.TrialPruned
    return metrics["valid_loss"]


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_each_sampler_runs_a_study_and_its_seed_repeats_it(name):
    n_trials = SPEC.grid_size(CONFIG) if name == "grid" else 6

    def run(seed: int) -> list[float]:
        study = optuna.create_study(sampler=make_sampler(name, SPEC, CONFIG, seed=seed))
        study.optimize(_objective, n_trials=n_trials)
        return [t.params["x"] for t in study.trials]

    first = run(3)
    assert len(first) == n_trials and all(-1 <= x <= 1 for x in first)
    assert run(3) == first  # --sampler-seed makes a sequential search repeatable
    if name == "grid":
        assert sorted(first) == sorted(CONFIG.grid_x)
    else:
        assert run(4) != first


@pytest.mark.parametrize("name", list(PRUNERS))
def test_each_pruner_prunes_or_lets_trials_finish(name):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=make_pruner(name, CONFIG))
    study.optimize(_objective, n_trials=12)
    states = {t.state for t in study.trials}
    assert states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    if name == "none":
        assert states == {optuna.trial.TrialState.COMPLETE}


@pytest.mark.parametrize("name", ["median", "percentile"])
def test_no_trial_is_pruned_at_its_first_epoch(name):
    """Epochs are reported as steps 1, 2, ...: a trial far worse than every earlier one at
    epoch 1 goes on to epoch 2, and is pruned there."""
    study = optuna.create_study(pruner=make_pruner(name, CONFIG))
    for _ in range(3):  # the startup trials: good at every epoch
        trial = study.ask()
        for epoch in (1, 2, 3):
            trial.report(0.1, epoch)
        study.tell(trial, 0.1)
    bad = study.ask()
    bad.report(5.0, 1)
    assert not bad.should_prune()
    bad.report(5.0, 2)
    assert bad.should_prune()


def test_the_tables_name_the_choices_in_errors():
    with pytest.raises(ConfigError, match="expected one of tpe, random, grid, nsga2, cmaes"):
        make_sampler("bayes", SPEC, CONFIG, seed=0)
    with pytest.raises(ConfigError, match="--sampler cmaes handles one objective"):
        make_sampler("cmaes", SPEC, CONFIG, seed=0, objectives=2)
    with pytest.raises(ConfigError, match="expected one of none, median, percentile"):
        make_pruner("asha", CONFIG)
