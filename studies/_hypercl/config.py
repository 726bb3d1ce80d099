"""The hypercl studies' configuration (von Oswald et al. 2020): :class:`HyperCLConfig`, the
fields a study searches, and the target network's size.

The studies ``hypercl_pmnist``, ``hypercl_splitmnist``, ``hypercl_pmnist100``,
``hypercl_scenarios`` and ``hypercl_ablation`` share it; each study file cites the sources of
its paper preset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hnet_core.models import DIRECT_INITS, HNET_INITS, TargetNetConfig, build_target
from hnet_core.train import METHODS, SCENARIOS, head_layout
from studies import (
    DERIVED_FROM,
    MAY_BE_EMPTY,
    ConfigError,
    StudyConfig,
    at_least,
    one_of,
    search_range,
)
from studies._hypercl.tasks import check_tasks, hnet_method, scenarios_run, task_classes


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"25x25"`` -> ``(25, 25)`` (hidden sizes as one categorical choice)."""
    try:
        sizes = tuple(int(part) for part in text.split("x"))
    except ValueError:
        raise ConfigError(f"hidden sizes {text!r}: expected sizes like 25x25") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"hidden sizes {text!r}: every size must be >= 1")
    return sizes


@dataclass(frozen=True)
class HyperCLConfig(StudyConfig):
    """Attributes beyond StudyConfig (``epochs`` follows ``num_tasks``, one report a task;
    ``--set epochs`` is refused):

    benchmark: ``pmnist`` (PermutedMNIST, 32x32-padded) or ``splitmnist``.
    num_tasks: tasks of the sequence (SplitMNIST has at most one per group of digits).
    split_digits: SplitMNIST's tasks, the digits of each (default the paper's 01,23,45,67,89;
        e.g. ``01234,56789`` for two 5-way tasks); tasks of different class counts run in
        scenario 1 only (heads of the largest count). PermutedMNIST does not use it.
    target_hidden: the target MLP's hidden sizes; its heads follow the scenario.
    iterations, batch_size: training steps per task and their batch size.
    max_eval_examples: test examples per task and evaluation (None: all).
    eval_during: evaluate every seen task after each task (off: each task when learned and
        all after the last; see ContinualTrainConfig).
    scenario: 1 (task given), 2 (not given; one shared head) or 3 (not given; class-
        incremental); ``method`` must fit it (``hnet`` needs the task, ``hnet_ent`` infers it).
    method, lookahead, targets, reg_tasks_per_step: see ContinualTrainConfig.
    scenario_choices, method_choices: scenarios and methods searched (and the grid's) in
        place of ``scenario`` and ``method``; empty: the fixed ones. In a trial that varies
        either, ``hnet`` and ``hnet_ent`` both mean the hypernetwork without replay (HNET with
        the task given, HNET+ENT without) and ``hnet_tir`` with the task given is HNET, so
        every scenario x method pair runs; a baseline then reports no task inference.
    task_inference: also report HNET+ENT task-inference accuracy (``task_inference_acc``);
        in scenarios 2 and 3 only the methods that infer the task report it: a baseline's one
        head gives no task to infer, so a config naming one is refused, and a grid that
        varies the method skips it for them.
    task_embedding_sizes, chunk_counts, chunk_embedding_sizes, hnet_hidden_choices: choices
        searched (hidden sizes written like ``25x25``).
    beta_low, beta_high, lr_low, lr_high: log-scale ranges searched.
    task_embedding_size, num_chunks, chunk_embedding_size, hnet_hidden, beta_output, lr: the
        fixed values (``--sampler grid``, the ablation).
    hnet_activation: the hypernetwork's hidden activation (``elu`` or ``relu``).
    hnet_init: the weight init of the hypernetworks (the classifier's and the replay VAE's):
        ``xavier`` (the authors', every paper preset) or ``he_hidden`` (ours, He-normal hidden
        layers; :data:`hnet_core.models.hypercl.HNET_INITS`).
    direct_init: the weight init of the networks trained directly (the baselines' and HNET+R's
        target, HNET+TIR's task-inference network, the replay VAE's encoder): ``xavier`` (the
        authors', every paper preset) or ``he`` (ours, He-normal; ``DIRECT_INITS``).
    chunk_size: a chunk size to use whenever a trial's chunk count is the one it gives (the
        paper's 78000 gives 28 chunks, the last one cut); other counts use ceil(P / count).
    replay_*: the replay VAE of ``hnet_r`` and ``hnet_tir`` (``ReplayVAEConfig``; sizes like
        ``400x400``): encoder, decoder (None: the authors' for the method), latent size, its
        hypernetwork's hidden sizes, chunk size (None: unchunked), chunk and task embedding
        sizes, beta (None: the authors' for the method), lr (None: ``lr``) and the size of
        the decoder's one-hot task code (0: none); defaults are the authors' SplitMNIST
        setting (:mod:`studies._hypercl.replay`).
    replay_weight, distill_temperature: the replay learners' loss weights and HNET+R's
        distillation temperature (``ContinualTrainConfig``; defaults the authors' 0.5 and 2).
    """

    epochs: int = field(default=10, metadata={DERIVED_FROM: "num_tasks"})
    benchmark: str = "pmnist"
    num_tasks: int = 10
    split_digits: tuple[str, ...] = ("01", "23", "45", "67", "89")
    target_hidden: tuple[int, ...] = (1000, 1000)
    iterations: int = 5000
    batch_size: int = 128
    max_eval_examples: int | None = None
    scenario: int = 1
    method: str = "hnet"
    lookahead: bool = False
    targets: str = "stored"
    reg_tasks_per_step: int | None = None
    task_inference: bool = False
    eval_during: bool = True
    scenario_choices: tuple[int, ...] = field(default=(), metadata={MAY_BE_EMPTY: True})
    method_choices: tuple[str, ...] = field(default=(), metadata={MAY_BE_EMPTY: True})
    task_embedding_sizes: tuple[int, ...] = (12, 24, 48)
    chunk_counts: tuple[int, ...] = (7, 14, 28, 56)
    chunk_embedding_sizes: tuple[int, ...] = (8, 16, 32)
    hnet_hidden_choices: tuple[str, ...] = ("10x10", "25x25", "50x50")
    beta_low: float = 1e-3
    beta_high: float = 1.0
    lr_low: float = 1e-4
    lr_high: float = 3e-3
    task_embedding_size: int = 24
    num_chunks: int = 28
    chunk_embedding_size: int = 8
    hnet_hidden: str = "25x25"
    beta_output: float = 0.01
    lr: float = 1e-4
    chunk_size: int | None = None
    hnet_activation: str = "elu"
    hnet_init: str = "he_hidden"
    direct_init: str = "he"
    replay_enc_hidden: str = "400x400"
    replay_dec_hidden: str | None = None
    replay_latent_size: int = 100
    replay_hnet_hidden: str = "10x10"
    replay_chunk_size: int | None = 50000
    replay_chunk_embedding_size: int = 96
    replay_task_embedding_size: int = 96
    replay_beta: float | None = None
    replay_lr: float | None = None
    replay_condition_size: int = 100
    replay_weight: float = 0.5
    distill_temperature: float = 2.0

    def validate(self) -> None:
        one_of(self, "benchmark", ("pmnist", "splitmnist"))
        one_of(self, "hnet_activation", ("relu", "elu"))
        one_of(self, "hnet_init", HNET_INITS)
        one_of(self, "direct_init", DIRECT_INITS)
        one_of(self, "method", METHODS)
        one_of(self, "scenario", SCENARIOS)
        one_of(self, "method_choices", METHODS)
        one_of(self, "scenario_choices", SCENARIOS)
        for name in ("scenario_choices", "method_choices", "split_digits"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ConfigError(f"{name} names a value twice: {', '.join(map(str, values))}")
        at_least(self, 1, "num_tasks", "target_hidden", "iterations", "batch_size",
                 "max_eval_examples", "reg_tasks_per_step", "task_embedding_sizes",
                 "chunk_counts", "chunk_embedding_sizes", "task_embedding_size", "num_chunks",
                 "chunk_embedding_size", "chunk_size")
        check_tasks(self)
        decoder = () if self.replay_dec_hidden is None else (self.replay_dec_hidden,)
        for text in (*self.hnet_hidden_choices, self.hnet_hidden, self.replay_enc_hidden,
                     *decoder, self.replay_hnet_hidden):
            parse_sizes(text)
        at_least(self, 1, "replay_latent_size", "replay_chunk_size",
                 "replay_chunk_embedding_size", "replay_task_embedding_size")
        at_least(self, 0.0, "replay_beta", "replay_condition_size", "replay_weight")
        search_range(self, "replay_weight", "replay_weight")
        if self.replay_weight > 1:
            raise ConfigError(f"replay_weight must be at most 1, got {self.replay_weight}")
        search_range(self, "distill_temperature", "distill_temperature", log=True)
        if self.replay_lr is not None:
            search_range(self, "replay_lr", "replay_lr", log=True)
        search_range(self, "beta_low", "beta_high", log=True)
        search_range(self, "lr_low", "lr_high", log=True)
        search_range(self, "lr", "lr", log=True)
        at_least(self, 0.0, "beta_output")
        self._check_chunk_size()
        if self.epochs != self.num_tasks:
            object.__setattr__(self, "epochs", self.num_tasks)

    def _unused_reasons(self) -> dict[str, str]:
        reasons = {"split_digits": "PermutedMNIST's tasks are permutations, not digit groups",
                   "scenario": "scenario_choices names the scenarios searched",
                   "method": "method_choices names the methods searched"}
        unused = {"split_digits": self.benchmark == "pmnist",
                  "scenario": bool(self.scenario_choices),
                  "method": bool(self.method_choices)}
        return {name: reason for name, reason in reasons.items() if unused[name]}

    def unused(self) -> tuple[str, ...]:
        """``split_digits`` on PermutedMNIST; ``scenario`` and ``method`` where their choices
        are searched."""
        return tuple(self._unused_reasons())

    def unused_reason(self) -> str:
        return "; ".join(self._unused_reasons().values())

    def _check_chunk_size(self) -> None:
        """A chunk size applies to the trials whose chunk count it gives: refuse one that
        gives a count no trial has, in any scenario the trials run (it would change
        nothing)."""
        if self.chunk_size is None:
            return
        counts = {}
        for scenario in scenarios_run(self):
            size = target_size(self, hnet_method(scenario), scenario)
            counts[math.ceil(size / self.chunk_size)] = size
        if not {self.num_chunks, *self.chunk_counts} & set(counts):
            count, size = next(iter(counts.items()))
            raise ConfigError(
                f"chunk_size {self.chunk_size} gives {count} chunks of the {size:,} target "
                f"weights; neither num_chunks ({self.num_chunks}) nor chunk_counts "
                f"({', '.join(map(str, self.chunk_counts))}) is that count (to use it: "
                f"--set num_chunks={count} --set chunk_counts={count})")


#: The fields only :func:`search_space` reads: a study that sets these params itself (the
#: ablations' grids) leaves them unused.
SEARCH_FIELDS = ("task_embedding_sizes", "chunk_counts", "chunk_embedding_sizes",
                 "hnet_hidden_choices", "beta_low", "beta_high", "lr_low", "lr_high",
                 "scenario_choices", "method_choices")


def _input_size(config: HyperCLConfig) -> int:
    return 1024 if config.benchmark == "pmnist" else 784


def target_size(config: HyperCLConfig, method: str | None = None,
                scenario: int | None = None) -> int:
    """P: the target network's weight count, all heads (the scenario and the method, by
    default the config's, decide them). ValueError when the method does not fit the
    scenario."""
    layout = head_layout(scenario or config.scenario, method or config.method,
                         max(task_classes(config)), config.num_tasks)
    target = TargetNetConfig(hidden=config.target_hidden)
    return build_target(target, _input_size(config), layout.classes_per_head,
                        layout.num_heads).num_params


