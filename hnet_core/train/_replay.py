"""Generative replay for continual learning without the task (von Oswald et al. 2020, sec. 4.1):
HNET+R and HNET+TIR.

Both learn a :class:`~hnet_core.models.replay_vae.ReplayVAE` on each task as it comes, its
decoder hypernetwork protected by the output regulariser (the same Gram-form code as the
classifier's, through :class:`~hnet_core.train._learners.ProtectedTraining`). While learning
task ``t > 0``, each step also draws a batch of replayed inputs of the earlier tasks (their
tasks uniform over ``0..t-1``, ``z ~ N(0, I)``):

- HNET+R (``hnet_r``): the classifier is the target network itself (the baselines' heads: per
  task in CL1, shared in CL2, growing in CL3). Replayed inputs are trained on soft targets, the
  softmax of the classifier as it was before task ``t`` (the authors' ``hard_targets =
  False``); in CL3 over the classes seen before ``t``, zero on ``t``'s, against the current
  softmax over every class seen. Loss ``L_t / (t + 1) + L_replay
  t / (t + 1)`` (the weighting of deep generative replay, Shin et al. 2017).
- HNET+TIR (``hnet_tir``): the solver is the task-conditioned hypernetwork, trained as in CL1; a
  task-inference network (an MLP of the target's hidden sizes, one output per task) learns the
  task of the current inputs and of the replayed ones (hard task labels, ``hard_targets =
  True``). At test time it picks the task, whose generated network answers (CL3: with its own
  head, global class ``task * C + y``).
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.models.hypercl import TargetMLP, init_target_weights
from hnet_core.models.replay_vae import ReplayVAE
from hnet_core.train import _scenarios as scenarios
from hnet_core.train._learners import DirectLearner, HnetLearner, ProtectedTraining, check_finite


class GenerativeReplay:
    """The replay VAE and its training, one task at a time."""

    def __init__(self, vae: ReplayVAE, config, generator: torch.Generator) -> None:
        self.vae, self.config, self.generator = vae, config, generator
        self.training: ProtectedTraining | None = None
        self.task = 0

    def start(self, task: int) -> None:
        c, r = self.config, self.config.replay
        self.task = task
        self.training = ProtectedTraining(self.vae.hnet, task, list(self.vae.encoder_weights),
                                          r.lr, r.beta, c.lookahead, c.targets,
                                          c.reg_tasks_per_step)

    def step(self, x: torch.Tensor, step: int, rng: random.Random) -> float:
        """One step of the VAE on the current task's inputs ``x``; its loss."""
        assert self.training is not None, "start(task) first"
        loss = self.vae.loss(x, self.task)
        check_finite(loss, self.task, step)
        self.training.step(loss, rng)
        return loss.item()

    def sample(self, n: int, current: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` replayed inputs of the tasks before the current one (``current``: and of the
        current one) and their tasks."""
        tasks = torch.randint(self.task + int(current), (n,), generator=self.generator)
        return self.vae.sample(tasks.tolist(), self.generator), tasks

    def trainable(self) -> int:
        return self.vae.num_trainable()


class ReplayLearner(DirectLearner):
    """HNET+R: the target network learns from the current task and from replay with soft
    targets of its former self."""

    def __init__(self, target, weights: list[nn.Parameter], config, layout,
                 replay: GenerativeReplay) -> None:
        super().__init__(target, weights, config, layout)
        self.replay = replay

    def trainable(self) -> int:
        """The classifier's weights and the whole replay model."""
        return self.target.num_params + self.replay.trainable()

    def replay_logits(self, x: torch.Tensor, tasks: torch.Tensor, weights, task: int
                      ) -> torch.Tensor:
        """The outputs that replayed inputs ``x`` of ``tasks`` are distilled on: their own
        task's head (CL1), the shared head (CL2), or the classes seen so far, ``task``'s
        included (CL3: the former classifier's targets there are zero)."""
        if self.layout.num_heads == 1:
            return self.layout.seen_logits(self.target(x, weights, 0), task)
        return scenarios.logits_by_task(self.target, x, tasks, lambda s: weights)

    def soft_targets(self, logits: torch.Tensor, task: int) -> torch.Tensor:
        """The former classifier's softmax; in the growing head (CL3) over the classes seen
        before ``task``, zero on ``task``'s own (which it never learned)."""
        if not self.layout.growing:
            return F.softmax(logits, dim=1)
        old = task * self.layout.classes
        return F.pad(F.softmax(logits[:, :old], dim=1), (0, logits.shape[1] - old))

    def learn(self, task: int, batches, rng: random.Random) -> float:
        optimizer = torch.optim.Adam(self.params, lr=self.config.lr)
        before = [p.detach().clone() for p in self.params] if task else []
        self.replay.start(task)
        total = 0.0
        for step, (x, y) in enumerate(batches):
            loss = self.task_loss(x, y, task)
            check_finite(loss, task, step)
            objective = loss
            if task:
                x_r, t_r = self.replay.sample(x.shape[0])
                with torch.no_grad():
                    soft = self.soft_targets(self.replay_logits(x_r, t_r, before, task), task)
                now = F.log_softmax(self.replay_logits(x_r, t_r, self.params, task), dim=1)
                distill = -(soft * now).sum(1).mean()
                objective = loss / (task + 1) + distill * task / (task + 1)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            self.replay.step(x, step, rng)
            total += loss.item()
        return total / max(self.config.iterations, 1)


class TaskInferenceLearner(HnetLearner):
    """HNET+TIR: the hypernetwork solves each task; a task-inference network trained on
    replay picks the task at test time."""

    def __init__(self, target, hnet, config, layout, replay: GenerativeReplay,
                 num_tasks: int, tir_hidden: tuple[int, ...]) -> None:
        super().__init__(target, hnet, config, layout)
        self.replay = replay
        in_features = replay.vae.in_features
        self.tir = TargetMLP(in_features, tir_hidden, num_tasks)
        device = hnet.out_weight.device
        self.tir_weights = [nn.Parameter(w.to(device))
                            for w in init_target_weights(self.tir.param_shapes,
                                                         config.direct_init)]

    def trainable(self) -> int:
        """The hypernetwork, the task-inference network and the whole replay model."""
        return self.hnet.num_trainable() + self.tir.num_params + self.replay.trainable()

    def tir_loss(self, x: torch.Tensor, task: int) -> torch.Tensor:
        """Cross-entropy of the task labels of ``x`` (all ``task``) and of a replayed batch of
        every task seen, the current one included (so that real-or-replayed is no clue to the
        task), over the outputs of the tasks seen so far."""
        labels = torch.full((x.shape[0],), task, dtype=torch.long, device=x.device)
        if task:
            x_r, t_r = self.replay.sample(x.shape[0], current=True)
            x, labels = torch.cat([x, x_r]), torch.cat([labels, t_r.to(x.device)])
        return F.cross_entropy(self.tir(x, self.tir_weights)[:, :task + 1], labels)

    def learn(self, task: int, batches, rng: random.Random) -> float:
        training = self.start(task)
        optimizer = torch.optim.Adam(self.tir_weights, lr=self.config.lr)
        self.replay.start(task)
        total = 0.0
        for step, (x, y) in enumerate(batches):
            loss = self.classifier_step(training, x, y, task, step, rng)
            tir = self.tir_loss(x, task)
            check_finite(tir, task, step)
            optimizer.zero_grad(set_to_none=True)
            tir.backward()
            optimizer.step()
            self.replay.step(x, step, rng)
            total += loss
        return total / max(self.config.iterations, 1)

    @torch.no_grad()
    def infer(self, weights, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The task the task-inference network picks among the seen ones (``weights``), and
        that task's generated network's logits: ``[B]``, ``[B, K]``."""
        inferred = self.tir(x, self.tir_weights)[:, :len(weights)].argmax(1)
        return inferred, scenarios.logits_by_task(self.target, x, inferred,
                                                  lambda s: weights[s])
