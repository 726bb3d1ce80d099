"""What a study file declares: its config, presets, search space, trial function and metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna

from studies._runner import checks
from studies._runner.config import ConfigError
from studies._runner.search_algorithms import PRUNERS, SAMPLERS

Metrics = dict[str, float]
Direction = Literal["minimize", "maximize"]
TrialFunction = Callable[[Any, dict[str, Any], int], Iterator[Metrics]]
SearchSpace = Callable[[optuna.Trial, Any], dict[str, Any]]
TrialConfigs = Callable[[Any, dict[str, Any], int], Any]

PRESETS = ("smoke", "quick", "paper")
FAMILIES = ("char-lm", "cnn", "continual", "synthetic", "other")


@dataclass(frozen=True)
class StudyConfig:
    """Fields every study config has: how the runner schedules it. A study subclasses this.

    Attributes:
        n_trials: finished (complete or pruned) trials to reach.
        epochs: epochs per trial (the pruner's resource).
        cpus_per_trial: Ray CPUs per seed of a trial; torch uses that many threads.
        gpus_per_trial: Ray GPUs per seed of a trial (fractions pack trials on one GPU).
        data_dir: data root searched first (the ``--data-dir`` flag).
        seeds: every configuration runs once per seed; its objective is the mean over seeds.
        max_failures: the study stops once more trials than this have failed in one run.
    """

    n_trials: int = 1
    epochs: int = 1
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    data_dir: str | None = None
    seeds: tuple[int, ...] = (0,)
    max_failures: int = 3

    def __post_init__(self) -> None:
        checks.check_common(self)
        checks.at_least(self, 1, "n_trials", "epochs")
        checks.positive(self, "cpus_per_trial")
        checks.at_least(self, 0, "gpus_per_trial", "max_failures", "seeds")
        checks.finite(self, "gpus_per_trial")
        repeated = checks.repeated(self.seeds)
        if repeated:
            raise ConfigError(f"seeds must differ, got {','.join(map(str, self.seeds))} "
                              f"({', '.join(map(str, repeated))} more than once)")
        self.validate()

    def unused(self) -> tuple[str, ...]:
        """Fields this config's other values leave unused (``--set`` refuses them): none,
        unless a study says otherwise (e.g. a fixed recipe that sets the learning rate)."""
        return ()

    def unused_reason(self) -> str:
        """Why :meth:`unused` leaves those fields unused, in a few words."""
        return ""

    def validate(self) -> None:
        """A study's own field checks (ranges, choices, search ranges); raise ConfigError.

        Runs whenever the config is built (a preset, ``--set``, a flag), after the checks of the
        fields above. Use the helpers of :mod:`studies` (``positive``, ``search_range``, ...).
        """


#: StudyConfig fields that schedule a study without changing what its trials compute.
RUNNER_FIELDS = ("n_trials", "cpus_per_trial", "gpus_per_trial", "data_dir", "max_failures")


@dataclass(frozen=True)
class StudySpec:
    """A study, as ``studies/<name>.py`` declares it in its module-level ``SPEC``.

    Attributes:
        name: the study's name on the command line.
        description: one line for ``--list``.
        presets: ``smoke``, ``quick`` and ``paper`` configs (instances of one StudyConfig
            subclass).
        search_space: ``(trial, config) -> params``; only calls ``trial.suggest_*``.
        trial: ``(config, params, seed) -> iterator of per-epoch metrics``; module-level, so it
            pickles to Ray workers. Each dict has ``"epoch"`` and the metrics.
        metrics: metric name -> ``"minimize"`` or ``"maximize"``: what may be an objective.
        objectives: the default objectives.
        grid: ``config -> {param: values}`` for the grid sampler (ablations), if any.
        check_data: ``config -> None``; raises a DatasetError when the data is missing.
        trial_configs: ``(config, params, seed) -> what the trial builds``: its model and
            training configs and the data it reads, from sampled params, without training
            (comparable with ``==``); raises ValueError when they are invalid. The runner
            builds them for one sample before creating the study (:meth:`check_trial`), and a
            contract test checks that every config field changes them, the search space or
            the grid: no field is silently ignored.
        sampler: default sampler, a name of ``search_algorithms.SAMPLERS`` (NSGA-II is
            picked for several objectives).
        pruner: default pruner, a name of ``search_algorithms.PRUNERS``.
        family: the model family, which the report's figures follow: ``char-lm``, ``cnn``,
            ``continual`` (forgetting figures), ``synthetic``, or ``other`` (a user's model:
            the figures every study gets).
        group_by: the parameter that names a trial's model variant (the report colours and
            groups trials by it), if any.
        unused_fields: fields of the config class this study does not read (an ablation
            that shares a search study's config but sets what it varies itself); ``--set``
            refuses them.
    """

    name: str
    description: str
    presets: Mapping[str, StudyConfig]
    search_space: SearchSpace
    trial: TrialFunction
    metrics: Mapping[str, Direction]
    objectives: tuple[str, ...]
    grid: Callable[[Any], dict[str, list[Any]]] | None = None
    check_data: Callable[[Any], None] = field(default=lambda config: None)
    trial_configs: TrialConfigs = field(default=lambda config, params, seed: None)
    sampler: str = "tpe"
    pruner: str = "none"
    family: str = "synthetic"
    group_by: str | None = None
    unused_fields: tuple[str, ...] = ()

    def check_trial(self, config: Any, params: dict[str, Any]) -> None:
        """Build a trial's configs from ``params`` (ValueError when they are invalid)."""
        self.trial_configs(config, params, 0)

    def grid_size(self, config: Any) -> int | None:
        """Points of the study's grid for ``config`` (None without a grid)."""
        if self.grid is None:
            return None
        return math.prod(len(values) for values in self.grid(config).values())

    def __post_init__(self) -> None:
        missing = [p for p in PRESETS if p not in self.presets]
        if missing:
            raise ValueError(f"study {self.name} lacks presets {missing}")
        if self.sampler not in SAMPLERS or self.pruner not in PRUNERS:
            raise ValueError(f"study {self.name}: sampler {self.sampler!r} or pruner "
                             f"{self.pruner!r} unknown; samplers: {', '.join(SAMPLERS)}; "
                             f"pruners: {', '.join(PRUNERS)}")
        if self.family not in FAMILIES:
            raise ValueError(f"study {self.name}: family {self.family!r} not in {FAMILIES}")
        unknown = [o for o in self.objectives if o not in self.metrics]
        if unknown:
            raise ValueError(f"study {self.name}: objectives {unknown} are not metrics")
