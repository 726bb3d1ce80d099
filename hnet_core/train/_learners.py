"""What learns a task sequence in :func:`hnet_core.train.train_continual`: the hypernetwork
protected by the output regulariser (:class:`HnetLearner`, also the solver of HNET+TIR), or the
target network's own weights (:class:`DirectLearner`: fine-tuning, online EWC).

A learner has ``target`` and ``layout`` (the scenario's heads) and five methods: ``learn(task,
batches, rng)`` (mean training loss), ``consolidate(task, split, generator, device)`` (after a
task), ``weights(task)`` (the target's weights for a task), ``infer(weights, x)`` (the task
and logits of each input when the task is not given) and ``diagnostics(task, last)`` (metrics
of its own after a task); ``state()`` and ``load_state(state)`` hold what it has learned
between tasks (every optimiser starts afresh with each task, so no optimiser state).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.data.mnist import TaskSplit
from hnet_core.models.hypercl import ChunkedHyperMLP, split_weights
from hnet_core.models.output_regularizer import (
    FrozenTargets,
    OutputTargets,
    adam_lookahead,
    output_regularizer,
    take_targets,
)
from hnet_core.train import _scenarios as scenarios
from hnet_core.train._errors import TrainingDiverged
from hnet_core.train._ewc import OnlineEWC


def task_batches(split: TaskSplit, config, generator: torch.Generator, device: torch.device
                 ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``config.iterations`` batches of ``config.batch_size`` from shuffled passes over
    ``split``."""
    order = torch.empty(0, dtype=torch.long)
    for _ in range(config.iterations):
        if order.numel() < config.batch_size:
            order = torch.cat([order, torch.randperm(len(split), generator=generator)])
        index, order = order[:config.batch_size], order[config.batch_size:]
        x, y = split[index]
        yield x.to(device), y.to(device)


def adam(params: Sequence[nn.Parameter], lr: float, fused: bool) -> torch.optim.Adam:
    """``torch.optim.Adam`` at its defaults (the authors' optimiser) over ``params``; ``fused``:
    its fused kernel, one pass over each parameter instead of a dozen tensor operations,
    where the parameters' device has one (CPU, CUDA). The same update; only rounding differs."""
    fused = fused and all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, fused=True if fused else None)


def check_finite(loss: torch.Tensor, task: int, step: int) -> None:
    """TrainingDiverged when ``loss`` is not finite."""
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"loss is {loss.item()} on task {task}, step {step}")


class ProtectedTraining:
    """One task's training of a hypernetwork under the output regulariser (eq. 2): Adam over
    Θ, the task's embedding and ``extra`` parameters; targets of the earlier tasks taken when
    the task starts (``stored``) or from a frozen copy (``frozen``).

    Args:
        hnet: the hypernetwork; ``task`` its current task.
        extra: further parameters the task loss trains (the replay VAE's encoder).
        lr, beta, lookahead, targets, reg_tasks_per_step, fused_adam: as in
            ``ContinualTrainConfig``.
    """

    def __init__(self, hnet: ChunkedHyperMLP, task: int, extra: Sequence[nn.Parameter],
                 lr: float, beta: float, lookahead: bool, targets: str,
                 reg_tasks_per_step: int | None, fused_adam: bool) -> None:
        theta = hnet.theta()
        self.hnet, self.beta, self.lookahead = hnet, beta, lookahead
        self.params = [*theta, hnet.task_embeddings[task], *extra]
        self.num_theta = len(theta)
        self.optimizer = adam(self.params, lr, fused_adam)
        self.earlier = list(range(task))
        self.k = reg_tasks_per_step
        self.targets: OutputTargets | FrozenTargets | None = None
        if self.earlier and beta > 0:
            self.targets = (take_targets(hnet, self.earlier) if targets == "stored"
                            else FrozenTargets(hnet, self.earlier))

    def step(self, loss: torch.Tensor, rng: random.Random) -> None:
        """One Adam step on ``loss`` plus ``beta`` times the regulariser."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.targets is None:
            loss.backward()
        else:
            earlier, k = self.earlier, self.k
            chosen = earlier if k is None or k >= len(earlier) else rng.sample(earlier, k)
            self._regularised_backward(loss, self.targets, chosen)
        self.optimizer.step()

    def _regularised_backward(self, loss: torch.Tensor, targets: OutputTargets | FrozenTargets,
                              tasks: list[int]) -> None:
        if not self.lookahead:
            (loss + self.beta * output_regularizer(self.hnet, targets, tasks)).backward()
            return
        grads = torch.autograd.grad(loss, self.params)
        theta = slice(0, self.num_theta)
        delta = adam_lookahead(self.optimizer, self.params[theta], grads[theta])
        (self.beta * output_regularizer(self.hnet, targets, tasks, delta)).backward()
        for p, g in zip(self.params, grads, strict=True):
            p.grad = g if p.grad is None else p.grad + g


class HnetLearner:
    """The hypernetwork: its task embeddings and Θ, trained with the output regulariser."""

    def __init__(self, target, hnet: ChunkedHyperMLP, config, layout: scenarios.HeadLayout
                 ) -> None:
        self.target, self.hnet, self.config, self.layout = target, hnet, config, layout

    def weights(self, task: int) -> list[torch.Tensor]:
        return split_weights(self.hnet([task])[0], self.target.param_shapes)

    def state(self) -> dict:
        return {"hnet": self.hnet.state_dict()}

    def load_state(self, state: dict) -> None:
        self.hnet.load_state_dict(state["hnet"])

    def trainable(self) -> int:
        """Θ, chunk and task embeddings."""
        return self.hnet.num_trainable()

    def infer(self, weights, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """HNET+ENT: the task of lowest predictive entropy (:func:`scenarios.infer_task`)."""
        return scenarios.infer_task(self.target, weights, x)

    def consolidate(self, task: int, split: TaskSplit, generator: torch.Generator,
                    device: torch.device) -> None:
        """Nothing to do after a task: the regulariser takes its targets when the next starts."""

    def diagnostics(self, task: int, last: bool) -> dict[str, float]:
        return {}

    def start(self, task: int) -> ProtectedTraining:
        c = self.config
        return ProtectedTraining(self.hnet, task, (), c.lr, c.beta_output, c.lookahead,
                                 c.targets, c.reg_tasks_per_step, c.fused_adam)

    def classifier_step(self, training: ProtectedTraining, x: torch.Tensor, y: torch.Tensor,
                        task: int, step: int, rng: random.Random) -> float:
        """One regularised step on the batch ``(x, y)`` of ``task``; its task loss."""
        loss = F.cross_entropy(self.target(x, self.weights(task), task), y)
        check_finite(loss, task, step)
        training.step(loss, rng)
        return loss.item()

    def learn(self, task: int, batches, rng: random.Random) -> float:
        training, total = self.start(task), 0.0
        for step, (x, y) in enumerate(batches):
            total += self.classifier_step(training, x, y, task, step, rng)
        return total / max(self.config.iterations, 1)


class DirectLearner:
    """The target network's own weights, fine-tuned or protected by online EWC."""

    def __init__(self, target, weights: list[nn.Parameter], config,
                 layout: scenarios.HeadLayout) -> None:
        self.target, self.params, self.config, self.layout = target, weights, config, layout
        self.ewc = (OnlineEWC(config.ewc_lambda, config.ewc_gamma) if config.method == "ewc"
                    else None)

    def weights(self, task: int) -> list[torch.Tensor]:
        return list(self.params)

    def state(self) -> dict:
        return {"params": [p.detach().clone() for p in self.params],
                "ewc": self.ewc.state() if self.ewc is not None else None}

    def load_state(self, state: dict) -> None:
        with torch.no_grad():
            for p, saved in zip(self.params, state["params"], strict=True):
                p.copy_(saved)
        if self.ewc is not None:
            self.ewc.load_state(state["ewc"])

    def diagnostics(self, task: int, last: bool) -> dict[str, float]:
        return {}

    def trainable(self) -> int:
        return self.target.num_params

    def infer(self, weights, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The head of lowest predictive entropy (CL1's per-task heads)."""
        return scenarios.infer_task(self.target, weights, x)

    def task_loss(self, x: torch.Tensor, y: torch.Tensor, task: int) -> torch.Tensor:
        return F.cross_entropy(*self.layout.train_outputs(self.target(x, self.params, task),
                                                          y, task))

    def learn(self, task: int, batches, rng: random.Random) -> float:
        optimizer = adam(self.params, self.config.lr, self.config.fused_adam)
        total = 0.0
        for step, (x, y) in enumerate(batches):
            loss = self.task_loss(x, y, task)
            check_finite(loss, task, step)
            penalty = self.ewc.penalty(self.params) if self.ewc is not None else 0.0
            optimizer.zero_grad(set_to_none=True)
            (loss + penalty).backward()
            optimizer.step()
            total += loss.item()
        return total / max(self.config.iterations, 1)

    def consolidate(self, task: int, split: TaskSplit, generator: torch.Generator,
                    device: torch.device) -> None:
        if self.ewc is None:
            return
        index = torch.randperm(len(split), generator=generator)[:self.config.ewc_samples]
        x, _ = split[index]
        self.ewc.consolidate(self.params, lambda v: F.log_softmax(self.layout.seen_logits(
            self.target(v, self.params, task), task), dim=1), x.to(device), generator)
