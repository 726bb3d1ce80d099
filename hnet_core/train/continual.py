"""Continual learning over a task sequence (von Oswald et al. 2020): a task-conditioned,
optionally chunked hypernetwork protected by the output regulariser (HNET, HNET+ENT), the same
with generative replay (HNET+R, HNET+TIR: :mod:`hnet_core.train._replay`), or one of the
baselines that train the target network directly (fine-tuning, online EWC).

:func:`train_continual` is a generator: after each task it yields one row of the accuracy
matrix (test accuracy on every task seen so far, in the config's scenario: the task given in
scenario 1 only), the running average accuracy, HNET+ENT task-inference accuracy where asked,
and the compression ratio. Tasks come from :mod:`hnet_core.data.mnist` (PermutedMNIST,
SplitMNIST): flat inputs; the heads follow the scenario (:mod:`hnet_core.train._scenarios`).
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from hnet_core.data.mnist import Task, TaskSplit
from hnet_core.models.hypercl import (
    DIRECT_INITS,
    ChunkedHyperMLP,
    HyperMLPConfig,
    TargetNetConfig,
    build_target,
    check_one_of,
    init_target_weights,
)
from hnet_core.models.replay_vae import ReplayVAE, ReplayVAEConfig
from hnet_core.train import _checkpoint
from hnet_core.train import _checks as checks
from hnet_core.train import _scenarios as scenarios
from hnet_core.train._checkpoint import CheckpointStore
from hnet_core.train._device import pick_device
from hnet_core.train._learners import DirectLearner, HnetLearner, task_batches
from hnet_core.train._replay import GenerativeReplay, ReplayLearner, TaskInferenceLearner

METHODS = ("hnet", "hnet_ent", "hnet_r", "hnet_tir", "finetune", "ewc")
#: Methods that learn a replay model (:mod:`hnet_core.train._replay`).
REPLAYING = ("hnet_r", "hnet_tir")


@dataclass(frozen=True)
class ContinualTrainConfig:
    """How to learn a task sequence.

    Attributes:
        method: ``hnet`` (hypernetwork + output regulariser, task given), ``hnet_ent`` (the
            same, the task inferred by predictive entropy: scenarios 2 and 3), ``hnet_r`` (the
            target network trained on replay from a hypernetwork-protected VAE), ``hnet_tir``
            (the hypernetwork, the task inferred by a network trained on that replay:
            scenarios 2 and 3), ``finetune`` (the target network trained task after task, no
            protection) or ``ewc`` (online EWC on the target).
        scenario: 1 (task given), 2 (not given, one shared head) or 3 (not given,
            class-incremental); see :mod:`hnet_core.train._scenarios`.
        iterations: training steps per task.
        batch_size: examples per step.
        lr: Adam's learning rate (a new Adam for every task).
        beta_output: strength of the output regulariser (0: none, the hnet ablation).
        lookahead: regularise ``Θ + ΔΘ`` with ``ΔΘ`` Adam's step on the task loss alone.
        targets: ``stored`` (taken once before each task) or ``frozen`` (recomputed each step
            from a frozen copy of the hypernetwork).
        reg_tasks_per_step: regularise this many earlier tasks, drawn anew each step (None: all).
        ewc_lambda, ewc_gamma: online EWC's strength and Fisher decay.
        ewc_samples: examples per task for EWC's Fisher estimate.
        task_inference: also report task-inference accuracy: HNET+ENT for the hypernetwork,
            the head of lowest predictive entropy for the baselines.
        eval_batch_size: examples per evaluation batch.
        max_eval_examples: evaluate each task on at most this many test examples (None: all).
        eval_during: after each task, evaluate every task seen so far (the whole accuracy
            matrix); False: only the task just learned, and every task after the last (the
            matrix's diagonal and last row, which final and during accuracy and backward
            transfer need; a long sequence then costs T evaluations, not T²/2).
        direct_init: the initialisation of the networks trained directly (the baselines' and
            HNET+R's target, HNET+TIR's task-inference network), one of
            :data:`hnet_core.models.hypercl.DIRECT_INITS`.
        seed: seeds parameters, batches and subsampling.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
        fused_adam: every Adam in its fused kernel (``torch.optim.Adam(fused=True)``; CPU and
            CUDA): the authors' update, computed in one pass over each parameter. False:
            torch's default implementation, a loop of tensor operations per parameter on CPU.
            Like the device, it changes rounding only.
        replay: the replay VAE of ``hnet_r`` and ``hnet_tir`` (ignored by the others).
        replay_weight: ``w`` in the replay learners' ``(1 - w) L_current + w L_replay``
            (HNET+R's classifier, HNET+TIR's task-inference network); the authors' ``l_rew``
            (``mnist/train_args.py``, default 0.5).
        distill_temperature: HNET+R's distillation temperature ``T`` on replay (loss scaled by
            ``T^2``); the authors' ``T = 2`` (``mnets/classifier_interface.py``,
            ``knowledge_distillation_loss``).
    """

    method: str = "hnet"
    scenario: int = 1
    iterations: int = 5000
    batch_size: int = 128
    lr: float = 1e-3
    beta_output: float = 0.01
    lookahead: bool = False
    targets: str = "stored"
    reg_tasks_per_step: int | None = None
    ewc_lambda: float = 100.0
    ewc_gamma: float = 1.0
    ewc_samples: int = 200
    task_inference: bool = False
    eval_batch_size: int = 1000
    max_eval_examples: int | None = None
    eval_during: bool = True
    direct_init: str = "he"
    seed: int = 0
    device: str = "auto"
    fused_adam: bool = True
    replay: ReplayVAEConfig = ReplayVAEConfig()
    replay_weight: float = 0.5
    distill_temperature: float = 2.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {METHODS}")
        scenarios.check_fits(self.scenario, self.method)
        if self.task_inference and self.scenario != 1 and self.method not in scenarios.INFERRING:
            raise ValueError(f"task_inference picks a task's head; {self.method} has one head "
                             f"in scenario {self.scenario}")
        check_one_of(self.direct_init, DIRECT_INITS, "direct_init")
        if self.targets not in ("stored", "frozen"):
            raise ValueError(f"targets must be stored or frozen, got {self.targets!r}")
        checks.at_least(self, 1, "iterations", "batch_size", "eval_batch_size", "ewc_samples",
                        "reg_tasks_per_step", "max_eval_examples")
        checks.positive(self, "lr", "distill_temperature")
        if not 0 <= self.replay_weight <= 1:
            raise ValueError(f"replay_weight must be in [0, 1], got {self.replay_weight}")
        checks.non_negative(self, "beta_output", "ewc_lambda")
        if not 0 < self.ewc_gamma <= 1:
            raise ValueError(f"ewc_gamma must be in (0, 1], got {self.ewc_gamma}")


def _eval_count(split: TaskSplit, config: ContinualTrainConfig) -> int:
    """Test examples a task is evaluated on: all, or at most ``max_eval_examples``."""
    if config.max_eval_examples is None:
        return len(split)
    return min(len(split), config.max_eval_examples)


def _eval_batches(split: TaskSplit, config: ContinualTrainConfig, device: torch.device
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The evaluated test examples of a task, ``eval_batch_size`` at a time."""
    n = _eval_count(split, config)
    for start in range(0, n, config.eval_batch_size):
        x, y = split[torch.arange(start, min(start + config.eval_batch_size, n))]
        yield x.to(device), y.to(device)


@torch.no_grad()
def _row_weights(learner, evaluated: Sequence[int], seen: int, inferring: bool) -> list:
    """The target weights an accuracy row needs, generated once for the row: every seen
    task's where the task is inferred, else those of the tasks evaluated (None elsewhere)."""
    return [learner.weights(s) if inferring or s in evaluated else None for s in range(seen)]


@torch.no_grad()
def _accuracy(learner, task: int, weights: list, split: TaskSplit,
              config: ContinualTrainConfig, device: torch.device
              ) -> tuple[float, float | None]:
    """Test accuracy in % on ``task`` with the row's ``weights`` (:func:`_row_weights`), in
    the config's scenario (the task given only in scenario 1); for a method that infers the
    task in scenarios 2 and 3, also the share (%) of the task's inputs given their own task
    (else None)."""
    right, task_right = 0, 0
    inferring = config.method in scenarios.INFERRING and config.scenario != 1
    for x, y in _eval_batches(split, config, device):
        infer = None
        if inferring:
            inferred, logits = learner.infer(weights, x)
            task_right += int((inferred == task).sum())

            def infer(w, v, found=(inferred, logits)):
                return found
        right += scenarios.right_answers(learner.target, weights, learner.layout, infer,
                                         task, x, y)
    count = max(_eval_count(split, config), 1)
    return 100.0 * right / count, (100.0 * task_right / count if inferring else None)


@torch.no_grad()
def _task_inference_accuracy(learner, tasks: Sequence[Task], config: ContinualTrainConfig,
                             device: torch.device) -> float:
    """Each test input goes to the task its learner infers (HNET+ENT: whose generated network,
    for the baselines whose head, is least uncertain; HNET+TIR: the task-inference network's
    pick); the share of inputs given their own task, in %. Evaluates the same examples as the
    accuracies (all, unless ``max_eval_examples``)."""
    right, count = 0, 0
    weights = [learner.weights(t) for t in range(len(tasks))]
    for true_task, task in enumerate(tasks):
        for x, _ in _eval_batches(task.test, config, device):
            inferred, _ = learner.infer(weights, x)
            right += int((inferred == true_task).sum().item())
            count += x.shape[0]
    return 100.0 * right / max(count, 1)


def build_learner(target_config: TargetNetConfig, hnet_config: HyperMLPConfig,
                  config: ContinualTrainConfig, tasks: Sequence[Task], device: torch.device):
    """The target network and what learns it (hypernetwork or direct weights), on ``device``."""
    in_features = tasks[0].train.images.shape[1]
    classes = max(task.num_classes for task in tasks)
    counts = sorted({task.num_classes for task in tasks})
    if config.scenario != 1 and len(counts) > 1:
        raise ValueError(f"scenario {config.scenario} shares outputs between tasks, which "
                         f"needs every task to have the same classes; got {counts}")
    layout = scenarios.head_layout(config.scenario, config.method, classes, len(tasks))
    target = build_target(target_config, in_features, layout.classes_per_head,
                          layout.num_heads)
    replay = None
    if config.method in REPLAYING:  # no decoder for the last task: nothing replays it
        vae = ReplayVAE(config.replay, in_features, max(len(tasks) - 1, 1)).to(device)
        replay = GenerativeReplay(vae, config, torch.Generator().manual_seed(config.seed + 1))
    if config.method in ("hnet", *scenarios.INFERRING):
        hnet_config = dataclasses.replace(hnet_config, num_tasks=len(tasks))
        hnet = ChunkedHyperMLP(hnet_config, target.num_params).to(device)
        if replay is not None:
            return TaskInferenceLearner(target, hnet, config, layout, replay, len(tasks),
                                        target_config.hidden)
        return HnetLearner(target, hnet, config, layout)
    weights = [nn.Parameter(w.to(device))
               for w in init_target_weights(target.param_shapes, config.direct_init)]
    if replay is not None:
        return ReplayLearner(target, weights, config, layout, replay)
    return DirectLearner(target, weights, config, layout)


def compression_ratio(learner) -> float:
    """Trainable parameters (hypernetwork with its task and chunk embeddings; the replay model
    and task-inference network where there are) / the target's; 1 for the baselines, which
    train the target itself."""
    return learner.trainable() / learner.target.num_params


def _identity(target_config: TargetNetConfig, hnet_config: HyperMLPConfig,
              config: ContinualTrainConfig, tasks: Sequence[Task]) -> dict:
    """What a checkpoint must match to be resumed: the configs (how they run aside: the device,
    the fused Adam) and the tasks' names and sizes."""
    train = dataclasses.asdict(config)
    train.pop("device")
    train.pop("fused_adam")
    return {"target": dataclasses.asdict(target_config), "hnet": dataclasses.asdict(hnet_config),
            "train": train, "tasks": [[t.name, len(t.train), len(t.test)] for t in tasks]}


def train_continual(target_config: TargetNetConfig, hnet_config: HyperMLPConfig,
                    config: ContinualTrainConfig, tasks: Sequence[Task], *,
                    checkpoint: str | os.PathLike | CheckpointStore | None = None
                    ) -> Iterator[dict[str, float]]:
    """Learn ``tasks`` one after another, yielding after each.

    Args:
        target_config, hnet_config, config: the networks and how to learn.
        tasks: the task sequence.
        checkpoint: a file (or :class:`~hnet_core.train._checkpoint.CheckpointStore`) to save
            everything learned and every RNG state to after each task (before its metrics are
            yielded); when it holds a checkpoint of the same configuration and tasks, learning
            resumes with the next task, to the numbers an uninterrupted run gives.

    Yields:
        For task ``T`` (``epoch = T + 1``): ``scenario``; ``acc_task_<j>`` for every
        ``j <= T`` (test accuracy in % in the scenario: one row of the accuracy matrix);
        ``final_acc``
        (their mean: the final average accuracy after the last task; before it, the mean of
        the tasks evaluated, see ``eval_during``), ``during_acc`` (the mean
        of each task's accuracy right after it was learned), ``task_inference_acc`` (HNET+ENT,
        when asked), ``compression_ratio``, ``params`` (trainable), ``train_loss`` (mean over
        the task's steps), ``task_time_s`` (the task's training, the replay model's
        included) and ``examples_per_s`` (the learner's examples over that time). Methods
        that infer the task (CL2, CL3): ``task_inference_acc_<j>`` for every ``j`` evaluated
        (the share of its test inputs given task ``j``). Replay methods:
        ``decoder_drift_<j>`` for every learned decoder (its relative change since it was
        learned) and, after the last task, ``replay_acc_<j>`` (the final learner on replay of
        ``j``; :mod:`hnet_core.train._replay`).

    Raises:
        TrainingDiverged: a loss stopped being finite.
        CheckpointError: the checkpoint is of another configuration
            (``CheckpointMismatch``) or does not load (``CorruptCheckpoint``).
    """
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    rng = random.Random(config.seed)
    learner = build_learner(target_config, hnet_config, config, tasks, device)
    ratio, params = compression_ratio(learner), learner.trainable()
    during: list[float] = []
    store = _checkpoint.as_store(checkpoint)
    identity = _identity(target_config, hnet_config, config, tasks)
    saved = _checkpoint.load(store, identity, device)
    if saved is not None:
        learner.load_state(saved["learner"])
        torch.set_rng_state(saved["torch_rng"].cpu())
        generator.set_state(saved["generator"].cpu())
        rng.setstate(saved["rng"])
        during = list(saved["during"])
    for t in range(len(during), len(tasks)):
        task = tasks[t]
        began = time.perf_counter()
        loss = learner.learn(t, task_batches(task.train, config, generator, device), rng)
        learner.consolidate(t, task.train, generator, device)
        elapsed = time.perf_counter() - began
        last = t == len(tasks) - 1
        evaluated = range(t + 1) if config.eval_during or last else range(t, t + 1)
        weights = _row_weights(learner, evaluated, t + 1, config.method in scenarios.INFERRING)
        row = {j: _accuracy(learner, j, weights, tasks[j].test, config, device)
               for j in evaluated}
        del weights
        during.append(row[t][0])
        metrics = {"epoch": t + 1, "scenario": config.scenario,
                   **{f"acc_task_{j}": a for j, (a, _) in row.items()},
                   **{f"task_inference_acc_{j}": i for j, (_, i) in row.items()
                      if i is not None},
                   "final_acc": sum(a for a, _ in row.values()) / len(row),
                   "during_acc": sum(during) / len(during),
                   "compression_ratio": ratio, "params": params, "train_loss": loss,
                   "task_time_s": elapsed,
                   "examples_per_s": config.iterations * config.batch_size / elapsed,
                   **learner.diagnostics(t, last)}
        if config.task_inference:
            metrics["task_inference_acc"] = _task_inference_accuracy(learner, tasks[:t + 1],
                                                                     config, device)
        if store is not None:
            _checkpoint.save(store, {
                "identity": identity, "task": t, "learner": learner.state(),
                "torch_rng": torch.get_rng_state(), "generator": generator.get_state(),
                "rng": rng.getstate(), "during": during})
        yield metrics
