"""Samplers and pruners by name: one table each (name -> what it is and how to build it), which
the command line's choices, the study specs' defaults and the error texts all read, as Ray Tune
keeps its searchers.

Every sampler takes ``--sampler-seed``; the TPE sampler runs with the constant liar, since
trials run in parallel. Pruners see one report per epoch (per task in continual learning),
numbered from 1; the median and percentile pruners leave every trial's first report alone
(``n_warmup_steps=2``: with Optuna's ``step < n_warmup_steps`` rule, 1 would already prune after
the first epoch, and a 10-trial laptop search lost most of its trials there).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from studies._runner.config import ConfigError


@dataclass(frozen=True)
class Algorithm:
    """One entry of a table: a line for ``--help`` and the factory."""

    description: str
    build: Callable[..., Any]
    multi_objective: bool = True


def _grid(spec: Any, config: Any, seed: int) -> optuna.samplers.BaseSampler:
    if spec.grid is None:
        raise ConfigError(f"--sampler grid: study {spec.name} defines no grid")
    return optuna.samplers.GridSampler(spec.grid(config), seed=seed)


SAMPLERS: dict[str, Algorithm] = {
    "tpe": Algorithm("tree-structured Parzen estimator (constant liar)",
                     lambda spec, config, seed: optuna.samplers.TPESampler(
                         seed=seed, constant_liar=True)),
    "random": Algorithm("independent uniform sampling",
                        lambda spec, config, seed: optuna.samplers.RandomSampler(seed=seed)),
    "grid": Algorithm("the study's fixed values (at the paper preset: the paper's setting)",
                      _grid),
    "nsga2": Algorithm("NSGA-II genetic algorithm (the default for several objectives)",
                       lambda spec, config, seed: optuna.samplers.NSGAIISampler(seed=seed)),
    "cmaes": Algorithm("CMA-ES over the continuous parameters (random for the categorical)",
                       lambda spec, config, seed: optuna.samplers.CmaEsSampler(
                           seed=seed, warn_independent_sampling=False),
                       multi_objective=False),
    "gp": Algorithm("Gaussian-process Bayesian optimisation",
                    lambda spec, config, seed: optuna.samplers.GPSampler(seed=seed)),
    "qmc": Algorithm("quasi-Monte Carlo (scrambled Sobol) sequence",
                     lambda spec, config, seed: optuna.samplers.QMCSampler(
                         seed=seed, warn_independent_sampling=False)),
}

PRUNERS: dict[str, Algorithm] = {
    "none": Algorithm("no pruning", lambda config: optuna.pruners.NopPruner()),
    "median": Algorithm("from epoch 2, stop a trial below the median of earlier trials then",
                        lambda config: optuna.pruners.MedianPruner(n_startup_trials=2,
                                                                   n_warmup_steps=2)),
    "percentile": Algorithm("from epoch 2, stop a trial outside the best 25% at that epoch",
                            lambda config: optuna.pruners.PercentilePruner(
                                25.0, n_startup_trials=2, n_warmup_steps=2)),
    "successive_halving": Algorithm("asynchronous successive halving from 1 epoch",
                                    lambda config: optuna.pruners.SuccessiveHalvingPruner(
                                        min_resource=1)),
    "hyperband": Algorithm("Hyperband from 1 epoch to the config's epochs",
                           lambda config: optuna.pruners.HyperbandPruner(
                               min_resource=1, max_resource=config.epochs)),
    "wilcoxon": Algorithm("Wilcoxon signed-rank test against the best trial's epochs",
                          lambda config: optuna.pruners.WilcoxonPruner(p_threshold=0.1)),
}


def _lookup(table: dict[str, Algorithm], kind: str, name: str) -> Algorithm:
    if name not in table:
        raise ConfigError(f"--{kind} {name!r}: expected one of {', '.join(table)}")
    return table[name]


def make_sampler(name: str, spec: Any, config: Any, seed: int,
                 objectives: int = 1) -> optuna.samplers.BaseSampler:
    """The sampler ``name`` of :data:`SAMPLERS`; ConfigError for an unknown name or one that
    cannot handle several objectives."""
    algorithm = _lookup(SAMPLERS, "sampler", name)
    if objectives > 1 and not algorithm.multi_objective:
        raise ConfigError(f"--sampler {name} handles one objective; this study has "
                          f"{objectives}")
    with warnings.catch_warnings():  # some samplers are "experimental" in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return algorithm.build(spec, config, seed)


def make_pruner(name: str, config: Any) -> optuna.pruners.BasePruner:
    """The pruner ``name`` of :data:`PRUNERS`; ConfigError for an unknown name."""
    algorithm = _lookup(PRUNERS, "pruner", name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return algorithm.build(config)
