"""A hypercl trial: the search space and grid, the configs a trial trains with, the trial
function, and :func:`hypercl_spec`, the StudySpec every hypercl study starts from."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping

import optuna

from hnet_core.data import MNIST_FILES, resolve_all
from hnet_core.models import HyperMLPConfig, TargetNetConfig
from hnet_core.train import INFERRING, ContinualTrainConfig, train_continual
from studies import Direction, StudyConfig, StudySpec, trial_checkpoint
from studies._hypercl.config import HyperCLConfig, parse_sizes, target_size
from studies._hypercl.replay import replay_config
from studies._hypercl.tasks import digit_groups, load_tasks, trial_cell


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
    the config's, or the trial's: :func:`studies._hypercl.tasks.trial_cell`); the chunk size
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
        replay=replay_config(config, method, parse_sizes),
        replay_weight=config.replay_weight, distill_temperature=config.distill_temperature)
    return target, hnet, train


def trial_and_data_configs(config: HyperCLConfig, params: dict, seed: int) -> tuple:
    """:func:`trial_configs` and the task sequence read (benchmark, tasks)."""
    data: dict = {"benchmark": config.benchmark, "num_tasks": config.num_tasks}
    if config.benchmark == "splitmnist":
        data["digits"] = digit_groups(config)[:config.num_tasks]
    return (*trial_configs(config, params, seed), data)


def run_trial(config: HyperCLConfig, params: dict, seed: int) -> Iterator[dict]:
    target, hnet, train = trial_configs(config, params, seed)
    for metrics in train_continual(target, hnet, train, load_tasks(config),
                                   checkpoint=trial_checkpoint()):
        # beta_output applies to the hypernetwork only: fine-tuning and EWC report none.
        beta = ({"beta_output": train.beta_output}
                if train.method in ("hnet", *INFERRING) else {})
        yield {**metrics, "chunk_size": hnet.chunk_size or 0, **beta}


def check_data(config: HyperCLConfig) -> None:
    resolve_all(MNIST_FILES, config.data_dir)


METRICS: dict[str, Direction] = {
    "final_acc": "maximize", "during_acc": "maximize", "compression_ratio": "minimize",
    "params": "minimize", "train_loss": "minimize", "task_inference_acc": "maximize"}



def hypercl_spec(name: str, description: str, presets: Mapping[str, StudyConfig], **changes
                 ) -> StudySpec:
    """The StudySpec of a hypercl study: this module's search space, trial and metrics, the
    median pruner, one objective (``final_acc``); ``changes`` replace any of it."""
    spec = StudySpec(
        name=name,
        description=description,
        presets=dict(presets),
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
    return dataclasses.replace(spec, **changes)
