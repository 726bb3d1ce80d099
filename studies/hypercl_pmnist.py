"""hypercl_pmnist: continual learning of PermutedMNIST-10 with a chunked hypernetwork
(von Oswald et al. 2020, sec. 4.2).

    python -m studies.run hypercl_pmnist                              # quick preset
    python -m studies.run hypercl_pmnist --objectives final_acc,compression_ratio   # Pareto
    python -m studies.run hypercl_pmnist --preset paper --sampler grid --cpus-per-trial 2

Searches the task-embedding size, the chunk count (the chunk size follows: ceil(P / count),
reported as ``chunk_size``), the chunk-embedding size, beta_output, the hypernetwork's hidden
sizes and the learning rate. After each task the trial reports the running average accuracy
(``final_acc``: after the last task, the final average accuracy with the task given) to the
pruner; every row of the accuracy matrix lands in ``acc_matrix.parquet``. ``--sampler grid``
runs the preset's fixed values (at the paper preset: the paper's PermutedMNIST-10 setting).

The paper preset is the setting of the authors' code, ``chrhenning/hypercl``,
``mnist/train_args_default.py``, ``_set_default_permuted`` (which sets "the hyperparameter
values to reproduce results reported in the paper"), for the classifier:

- target_hidden (1000, 1000), ten 10-way heads: ``class_fc_arch = '1000,1000'``.
- 32x32-padded inputs, first task unpermuted: ``padding = 2``; the authors' task list starts
  with the unpermuted images (``permutations = [None] + ...``).
- iterations 5000, batch_size 128: ``n_iter = 5000``, ``batch_size = 128``.
- lr 1e-4 for the hypernetwork and the task embeddings: ``class_lr = class_lr_emb = 0.0001``.
- hnet_hidden 25x25, hnet_activation elu: ``class_hnet_arch = '25,25'``, ``class_hnet_act``.
- chunk_size 78000 (28 chunks), chunk_embedding_size 8, task_embedding_size 24:
  ``class_hyper_chunks``, ``class_emb_size``, ``class_temb_size``.
- beta_output 0.1: ``class_beta = 0.1``; lookahead on: ``no_lookahead = False``.
- hnet_init xavier: Xavier-uniform weights, zero biases, embeddings N(0, 1)
  (``mnist/train_utils.py``, ``generate_classifier``; the VAE's in
  ``mnist/replay/train_utils_replay.py``); direct_init xavier: the same for the networks
  trained directly (the baselines' target, the VAE's encoder; same functions).
- targets stored, all earlier tasks regularised: ``train_args.py`` defaults
  (``online_target_computation`` off, ``hnet_reg_batch_size = -1``).

and for the replay VAE of ``hnet_r`` and ``hnet_tir``:

- replay_enc_hidden 1000x1000: ``enc_fc_arch = '1000,1000'``; replay_latent_size 100:
  ``latent_dim = 100`` (``_set_default``).
- replay_dec_hidden None: 400,400 for HNET+R, 1000,1000 for HNET+TIR (``dec_fc_arch``).
- replay_hnet_hidden 25x25 (ELU), replay_chunk_size 85000, embeddings 8 and 24:
  ``rp_hnet_arch``, ``rp_hnet_act``, ``rp_hyper_chunks``, ``rp_emb_size``, ``rp_temb_size``.
- replay_beta None: ``rp_beta = 0.1``; replay_lr None (lr): ``enc_lr = dec_lr = 0.0001``.

What the paper does not fix and we chose: seed 0 for the permutations (the authors seed a
generator of their own), and the runner's fields (trials, CPUs).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import optuna

from hnet_core.data import resolve_all
from hnet_core.models import (
    DIRECT_INITS,
    HNET_INITS,
    HyperMLPConfig,
    TargetNetConfig,
    build_target,
)
from hnet_core.train import (
    INFERRING,
    METHODS,
    SCENARIOS,
    ContinualTrainConfig,
    head_layout,
    train_continual,
)
from studies import (
    DERIVED_FROM,
    MAY_BE_EMPTY,
    ConfigError,
    Direction,
    StudyConfig,
    StudySpec,
    at_least,
    one_of,
    search_range,
)
from studies._hypercl_replay import replay_config
from studies._hypercl_tasks import (
    check_tasks,
    digit_groups,
    hnet_method,
    load_tasks,
    scenarios_run,
    task_classes,
    trial_cell,
)
from studies.static_hnet_mnist import MNIST_FILES


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
        sizes, beta (None: the authors' for the method) and lr (None: ``lr``); defaults are
        the authors' SplitMNIST setting (``studies/_hypercl_replay.py``).
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
        at_least(self, 0.0, "replay_beta")
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
                f"({', '.join(map(str, self.chunk_counts))}) is that count")


#: The fields only :func:`search_space` reads: a study that sets these params itself (the
#: ablations' grids) leaves them unused.
SEARCH_FIELDS = ("task_embedding_sizes", "chunk_counts", "chunk_embedding_sizes",
                 "hnet_hidden_choices", "beta_low", "beta_high", "lr_low", "lr_high",
                 "scenario_choices", "method_choices")


def search_space(trial: optuna.Trial, config: HyperCLConfig) -> dict:
    space = {
        "task_embedding_size": trial.suggest_categorical("task_embedding_size",
                                                         list(config.task_embedding_sizes)),
        "num_chunks": trial.suggest_categorical("num_chunks", list(config.chunk_counts)),
        "chunk_embedding_size": trial.suggest_categorical("chunk_embedding_size",
                                                          list(config.chunk_embedding_sizes)),
        "hnet_hidden": trial.suggest_categorical("hnet_hidden", list(config.hnet_hidden_choices)),
        "beta_output": trial.suggest_float("beta_output", config.beta_low, config.beta_high,
                                           log=True),
        "lr": trial.suggest_float("lr", config.lr_low, config.lr_high, log=True),
    }
    if config.scenario_choices:
        space["scenario"] = trial.suggest_categorical("scenario", list(config.scenario_choices))
    if config.method_choices:
        space["method"] = trial.suggest_categorical("method", list(config.method_choices))
    return space


def grid(config: HyperCLConfig) -> dict:
    points = {"task_embedding_size": [config.task_embedding_size],
              "num_chunks": [config.num_chunks],
              "chunk_embedding_size": [config.chunk_embedding_size],
              "hnet_hidden": [config.hnet_hidden], "beta_output": [config.beta_output],
              "lr": [config.lr]}
    if config.scenario_choices:
        points["scenario"] = list(config.scenario_choices)
    if config.method_choices:
        points["method"] = list(config.method_choices)
    return points


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


def _task_inference(config: HyperCLConfig, method: str, method_varies: bool) -> bool:
    """Whether a trial reports task inference: as the config says, except for a baseline in
    scenario 2 or 3 (its one head gives no task to infer), which is refused where the config
    names that baseline and skipped where a grid varies the method (the ablations)."""
    if not config.task_inference or config.scenario == 1 or method in INFERRING:
        return config.task_inference
    if not method_varies:
        raise ValueError(f"task_inference picks a task's head; {method} has one head in "
                         f"scenario {config.scenario}")
    return False


def trial_configs(config: HyperCLConfig, params: dict, seed: int
                  ) -> tuple[TargetNetConfig, HyperMLPConfig, ContinualTrainConfig]:
    """The target, hypernetwork and training configs of one trial (its scenario and method
    the config's, or the trial's: :func:`studies._hypercl_tasks.trial_cell`); the chunk size
    follows from the chunk count: ``ceil(P / num_chunks)``."""
    method_varies = "method" in params  # searched or a grid's, before trial_cell names it
    config, params = trial_cell(config, params)
    target = TargetNetConfig(hidden=config.target_hidden)
    method = params.get("method", config.method)
    size = target_size(config, method)
    num_chunks = params.get("num_chunks", config.num_chunks)
    chunk_size = math.ceil(size / num_chunks)
    if config.chunk_size is not None and math.ceil(size / config.chunk_size) == num_chunks:
        chunk_size = config.chunk_size
    hnet = HyperMLPConfig(
        num_tasks=config.num_tasks,
        task_embedding_size=params.get("task_embedding_size", config.task_embedding_size),
        hidden=parse_sizes(params.get("hnet_hidden", config.hnet_hidden)),
        chunk_size=chunk_size if num_chunks > 1 else None,
        chunk_embedding_size=params.get("chunk_embedding_size", config.chunk_embedding_size),
        activation=config.hnet_activation, init=config.hnet_init)
    train = ContinualTrainConfig(
        method=method, scenario=config.scenario, iterations=config.iterations,
        batch_size=config.batch_size,
        lr=params.get("lr", config.lr), beta_output=params.get("beta_output",
                                                               config.beta_output),
        lookahead=params.get("lookahead", config.lookahead), targets=config.targets,
        reg_tasks_per_step=config.reg_tasks_per_step,
        task_inference=_task_inference(config, method, method_varies),
        max_eval_examples=config.max_eval_examples, eval_during=config.eval_during,
        direct_init=config.direct_init, seed=seed,
        replay=replay_config(config, method, parse_sizes))
    return target, hnet, train


def trial_and_data_configs(config: HyperCLConfig, params: dict, seed: int) -> tuple:
    """:func:`trial_configs` and the task sequence read (benchmark, tasks)."""
    data: dict = {"benchmark": config.benchmark, "num_tasks": config.num_tasks}
    if config.benchmark == "splitmnist":
        data["digits"] = digit_groups(config)[:config.num_tasks]
    return (*trial_configs(config, params, seed), data)


def run_trial(config: HyperCLConfig, params: dict, seed: int) -> Iterator[dict]:
    target, hnet, train = trial_configs(config, params, seed)
    for metrics in train_continual(target, hnet, train, load_tasks(config)):
        # beta_output applies to the hypernetwork only: fine-tuning and EWC report none.
        beta = ({"beta_output": train.beta_output}
                if train.method in ("hnet", *INFERRING) else {})
        yield {**metrics, "chunk_size": hnet.chunk_size or 0, **beta}


def check_data(config: HyperCLConfig) -> None:
    resolve_all(MNIST_FILES, config.data_dir)


METRICS: dict[str, Direction] = {
    "final_acc": "maximize", "during_acc": "maximize", "compression_ratio": "minimize",
    "params": "minimize", "train_loss": "minimize", "task_inference_acc": "maximize"}

PRESETS = {
    "smoke": HyperCLConfig(
        n_trials=2, num_tasks=2, target_hidden=(20,), iterations=5, batch_size=32,
        max_eval_examples=200, chunk_counts=(2, 4), task_embedding_sizes=(4,),
        chunk_embedding_sizes=(4,), hnet_hidden_choices=("5x5",), num_chunks=2,
        hnet_hidden="5x5", task_embedding_size=4, chunk_embedding_size=4, lr=1e-3,
        task_inference=True, replay_enc_hidden="20", replay_dec_hidden="20",
        replay_latent_size=4, replay_hnet_hidden="5", replay_chunk_size=4000,
        replay_chunk_embedding_size=4, replay_task_embedding_size=4),
    "quick": HyperCLConfig(
        n_trials=8, num_tasks=3, target_hidden=(100, 100), iterations=1000,
        max_eval_examples=2000, chunk_counts=(4, 8, 16), task_embedding_sizes=(8, 24),
        chunk_embedding_sizes=(8, 16), hnet_hidden_choices=("10x10", "25x25"), num_chunks=8,
        hnet_hidden="25x25", lr=1e-3, lr_low=3e-4),
    "paper": HyperCLConfig(n_trials=40, cpus_per_trial=2.0, chunk_size=78000, beta_output=0.1,
                           lookahead=True, hnet_init="xavier", direct_init="xavier",
                           replay_enc_hidden="1000x1000",
                           replay_hnet_hidden="25x25", replay_chunk_size=85000,
                           replay_chunk_embedding_size=8, replay_task_embedding_size=24),
}

SPEC = StudySpec(
    name="hypercl_pmnist",
    description="PermutedMNIST-10, chunked hypernetwork: search embeddings, chunks, beta, lr",
    presets=PRESETS,
    search_space=search_space,
    trial=run_trial,
    metrics=METRICS,
    objectives=("final_acc",),
    grid=grid,
    check_data=check_data,
    trial_configs=trial_and_data_configs,
    pruner="median",
    family="continual",
)
