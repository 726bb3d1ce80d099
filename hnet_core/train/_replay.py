"""Generative replay for continual learning without the task (von Oswald et al. 2020, sec. 4.1):
HNET+R and HNET+TIR, trained as the authors train them (``chrhenning/hypercl``,
``mnist/train_splitMNIST.py``: ``train_tasks``, ``train_class_one_t``, ``get_fake_data_loss``).

Each task ``t``: first the learner trains on ``t`` while the replay model stays frozen (it
replays the tasks before ``t`` from the decoders learned so far); then the replay
:class:`~hnet_core.models.replay_vae.ReplayVAE` learns ``t``, its decoder hypernetwork
protected by the output regulariser (:class:`~hnet_core.train._learners.ProtectedTraining`);
no decoder is learned for the last task (nothing replays it). A replayed batch for a batch of
``B`` real inputs holds ``ceil(B / t)`` samples of each earlier task (``fake_data_full_range``),
and the learner's loss is ``(1 - w) L_current + w L_replay`` with ``w = replay_weight`` (the
authors' ``l_rew = 0.5``).

- HNET+R (``hnet_r``): the classifier is the target network itself (the baselines' heads: per
  task in CL1, shared in CL2, growing in CL3). Replayed inputs are trained by knowledge
  distillation (Hinton et al. 2015) on the logits of the classifier as it was before ``t``, at
  temperature ``T = distill_temperature`` (the authors' 2) and scaled by ``T^2``
  (``mnets/classifier_interface.py``, ``knowledge_distillation_loss``); in CL3 over the
  classes seen so far, the former classifier's logits set to 0 on ``t``'s classes.
- HNET+TIR (``hnet_tir``): the solver is the task-conditioned hypernetwork, trained as in CL1;
  a task-inference network (an MLP of the target's hidden sizes, one output per task) is not
  trained on task 0 and from task 1 on learns, over the outputs of the tasks seen so far, the
  label ``t`` of the real batch and the hard labels of the replayed earlier tasks. At test time
  it picks the task among those seen, whose generated network answers (CL3: with its own head,
  global class ``task * C + y``). The authors train it in a pass of its own before the
  classifier; the two never meet, so ours trains both on the same batches, one step each.
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.models.hypercl import TargetMLP, init_target_weights
from hnet_core.models.replay_vae import ReplayVAE
from hnet_core.train import _scenarios as scenarios
from hnet_core.train._learners import (
    DirectLearner,
    HnetLearner,
    ProtectedTraining,
    adam,
    check_finite,
    task_batches,
)


class GenerativeReplay:
    """The replay VAE, its training one task at a time, and what it replays.

    Attributes:
        learned: for each task whose decoder was learned, its generated decoder weights
            ``f_h(e_j, Θ*_j)`` right after (``[P]``): the reference of the decoder drift.
    """

    def __init__(self, vae: ReplayVAE, config, generator: torch.Generator) -> None:
        self.vae, self.config, self.generator = vae, config, generator
        self.rng = random.Random(config.seed + 2)  # the earlier tasks regularised per step
        self.learned: dict[int, torch.Tensor] = {}

    def learn(self, task: int, split, device: torch.device) -> None:
        """Train the VAE on ``task``'s inputs (``iterations`` steps), where the task gets a
        decoder; keep its generated decoder as learned."""
        if task >= self.vae.num_decoders:
            return
        c, r = self.config, self.config.replay
        training = ProtectedTraining(self.vae.hnet, task, list(self.vae.encoder_weights),
                                     r.lr, r.beta, c.lookahead, c.targets,
                                     c.reg_tasks_per_step, c.fused_adam)
        for step, (x, _) in enumerate(task_batches(split, c, self.generator, device)):
            loss = self.vae.loss(x, task)
            check_finite(loss, task, step)
            training.step(loss, self.rng)
        with torch.no_grad():
            self.learned[task] = self.vae.hnet([task])[0].detach().clone()

    def sample(self, n: int, task: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Replay for a batch of ``n`` while learning ``task``: ``ceil(n / task)`` inputs of
        each earlier task, and their tasks (``[task * ceil(n / task)]``)."""
        per_task = math.ceil(n / task)
        x = self.vae.sample(range(task), per_task, self.generator)
        tasks = torch.arange(task, device=x.device).repeat_interleave(per_task)
        return x, tasks

    @torch.no_grad()
    def drift(self) -> dict[int, float]:
        """For each learned decoder ``j``: ``||f_h(e_j, Θ) - f_h(e_j, Θ*_j)|| /
        ||f_h(e_j, Θ*_j)||``, how far the later tasks moved it."""
        if not self.learned:
            return {}
        tasks = sorted(self.learned)
        now = self.vae.hnet(tasks)
        return {j: float((now[i] - self.learned[j]).norm() / self.learned[j].norm())
                for i, j in enumerate(tasks)}

    def trainable(self) -> int:
        return self.vae.num_trainable()

    def state(self) -> dict:
        return {"vae": self.vae.state_dict(), "generator": self.generator.get_state(),
                "rng": self.rng.getstate(), "learned": dict(self.learned)}

    def load_state(self, state: dict) -> None:
        self.vae.load_state_dict(state["vae"])
        self.generator.set_state(state["generator"].cpu())
        self.rng.setstate(state["rng"])
        self.learned = dict(state["learned"])


def distillation_loss(logits: torch.Tensor, target_logits: torch.Tensor, temperature: float
                      ) -> torch.Tensor:
    """Knowledge distillation: ``-T^2 mean_B sum_k softmax(target / T)_k
    log softmax(logits / T)_k`` (the authors' ``knowledge_distillation_loss``)."""
    targets = F.softmax(target_logits / temperature, dim=1)
    log_probs = F.log_softmax(logits / temperature, dim=1)
    return -(targets * log_probs).sum(1).mean() * temperature ** 2


class LearnsWithReplay:
    """What HNET+R and HNET+TIR share: after the learner is done with a task, the replay model
    learns it; the diagnostics of replay after each task."""

    replay: GenerativeReplay
    config: Any

    def replay_accuracy(self, n: int) -> dict[int, float]:
        raise NotImplementedError

    def consolidate(self, task: int, split, generator: torch.Generator,
                    device: torch.device) -> None:
        """The replay model learns the task (the learner is done with it)."""
        self.replay.learn(task, split, device)

    def diagnostics(self, task: int, last: bool) -> dict[str, float]:
        """After a task: ``decoder_drift_<j>`` of every learned decoder; after the last,
        ``replay_acc_<j>`` (the final learner on replay of each task: :meth:`replay_accuracy`
        of ``eval_batch_size`` samples)."""
        metrics = {f"decoder_drift_{j}": d for j, d in self.replay.drift().items()}
        if last:
            accuracy = self.replay_accuracy(self.config.eval_batch_size)
            metrics.update({f"replay_acc_{j}": a for j, a in accuracy.items()})
        return metrics


class ReplayLearner(LearnsWithReplay, DirectLearner):
    """HNET+R: the target network learns from the current task and from replay distilled
    from its former self."""

    def __init__(self, target, weights: list[nn.Parameter], config, layout,
                 replay: GenerativeReplay) -> None:
        super().__init__(target, weights, config, layout)
        self.replay = replay
        self.after: dict[int, list[torch.Tensor]] = {}  # the classifier after each task

    def trainable(self) -> int:
        """The classifier's weights and the whole replay model."""
        return self.target.num_params + self.replay.trainable()

    def state(self) -> dict:
        return {**super().state(), "after": dict(self.after), "replay": self.replay.state()}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self.after = dict(state["after"])
        self.replay.load_state(state["replay"])

    def replay_logits(self, x: torch.Tensor, tasks: torch.Tensor, weights, task: int
                      ) -> torch.Tensor:
        """The outputs replayed inputs ``x`` of ``tasks`` are distilled on: their own task's
        head (CL1), the shared head (CL2), or the classes seen so far, ``task``'s included
        (CL3)."""
        if self.layout.num_heads == 1:
            return self.layout.seen_logits(self.target(x, weights, 0), task)
        return scenarios.logits_by_task(self.target, x, tasks, lambda s: weights)

    def replay_targets(self, logits: torch.Tensor, task: int) -> torch.Tensor:
        """The former classifier's logits; in the growing head (CL3) 0 on ``task``'s own
        classes, which it never learned (the authors' targets there)."""
        if self.layout.growing:
            logits = logits.clone()
            logits[:, task * self.layout.classes:] = 0.0
        return logits

    def learn(self, task: int, batches, rng: random.Random) -> float:
        c = self.config
        optimizer = adam(self.params, c.lr, c.fused_adam)
        before = [p.detach().clone() for p in self.params] if task else []
        total = 0.0
        for step, (x, y) in enumerate(batches):
            loss = self.task_loss(x, y, task)
            check_finite(loss, task, step)
            objective = loss
            if task:
                x_r, t_r = self.replay.sample(x.shape[0], task)
                with torch.no_grad():
                    targets = self.replay_targets(
                        self.replay_logits(x_r, t_r, before, task), task)
                now = self.replay_logits(x_r, t_r, self.params, task)
                distill = distillation_loss(now, targets, c.distill_temperature)
                objective = (1 - c.replay_weight) * loss + c.replay_weight * distill
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            total += loss.item()
        self.after[task] = [p.detach().clone() for p in self.params]
        return total / max(c.iterations, 1)

    @torch.no_grad()
    def replay_accuracy(self, n: int) -> dict[int, float]:
        """For each task ``j`` with a decoder: the share (%) of ``n`` replayed inputs of ``j``
        the classifier now labels as it did right after learning ``j`` (the labels replay
        carries), in the outputs it had then."""
        out = {}
        for j in sorted(self.replay.learned):
            x = self.replay.vae.sample([j], n, torch.Generator().manual_seed(j))
            tasks = torch.full((n,), j, dtype=torch.long)
            then = self.replay_logits(x, tasks, self.after[j], j).argmax(1)
            now = self.replay_logits(x, tasks, self.params, max(self.after))
            out[j] = 100.0 * float((now.argmax(1) == then).float().mean())
        return out


class TaskInferenceLearner(LearnsWithReplay, HnetLearner):
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

    def state(self) -> dict:
        return {**super().state(), "tir": [w.detach().clone() for w in self.tir_weights],
                "replay": self.replay.state()}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        with torch.no_grad():
            for w, saved in zip(self.tir_weights, state["tir"], strict=True):
                w.copy_(saved)
        self.replay.load_state(state["replay"])

    def tir_loss(self, x: torch.Tensor, task: int) -> torch.Tensor:
        """``(1 - w)`` times the cross-entropy of the real inputs ``x`` (label ``task``) plus
        ``w`` times that of a replayed batch of the earlier tasks (their own labels), both
        over the outputs of the tasks seen so far; ``task > 0``."""
        w = self.config.replay_weight
        labels = torch.full((x.shape[0],), task, dtype=torch.long, device=x.device)
        real = F.cross_entropy(self.tir(x, self.tir_weights)[:, :task + 1], labels)
        x_r, t_r = self.replay.sample(x.shape[0], task)
        fake = F.cross_entropy(self.tir(x_r, self.tir_weights)[:, :task + 1],
                               t_r.to(x.device))
        return (1 - w) * real + w * fake

    def learn(self, task: int, batches, rng: random.Random) -> float:
        training = self.start(task)
        optimizer = adam(self.tir_weights, self.config.lr, self.config.fused_adam)
        total = 0.0
        for step, (x, y) in enumerate(batches):
            total += self.classifier_step(training, x, y, task, step, rng)
            if task:  # one task needs no inferring: the authors start at task 1
                tir = self.tir_loss(x, task)
                check_finite(tir, task, step)
                optimizer.zero_grad(set_to_none=True)
                tir.backward()
                optimizer.step()
        return total / max(self.config.iterations, 1)

    @torch.no_grad()
    def infer(self, weights, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The task the task-inference network picks among the seen ones (``weights``), and
        that task's generated network's logits: ``[B]``, ``[B, K]``. (The authors' argmax
        runs over every task's output, trained or not; the same after the last task.)"""
        inferred = self.tir(x, self.tir_weights)[:, :len(weights)].argmax(1)
        return inferred, scenarios.logits_by_task(self.target, x, inferred,
                                                  lambda s: weights[s])

    @torch.no_grad()
    def replay_accuracy(self, n: int) -> dict[int, float]:
        """For each task ``j`` with a decoder: the share (%) of ``n`` replayed inputs of ``j``
        the task-inference network assigns to ``j``."""
        out = {}
        for j in sorted(self.replay.learned):
            x = self.replay.vae.sample([j], n, torch.Generator().manual_seed(j))
            out[j] = 100.0 * float((self.tir(x, self.tir_weights).argmax(1) == j)
                                   .float().mean())
        return out
