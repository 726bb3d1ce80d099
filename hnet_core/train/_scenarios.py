"""The three continual-learning scenarios (van de Ven & Tolias 2019), as von Oswald et al.
(2020, sec. 4.1 and Table 1) use them, for tasks of ``C`` classes each:

- CL1, the task is given at test time: one head of ``C`` outputs per task.
- CL2, the task is not given and need not be known: one shared head of ``C`` outputs (SplitMNIST:
  "first or second digit of the pair"; PermutedMNIST: the ten digits).
- CL3, the task is not given and must be inferred: class-incremental, ``T * C`` classes in all
  (global class ``t * C + y``). A baseline has one head over every class, trained on task ``t``
  with the outputs of the classes seen so far; HNET+ENT keeps one head per task (the authors'
  ``split_head_cl3``) and answers with the head of the task it infers.

HNET+ENT (``hnet_ent``) trains as ``hnet`` does, task given; at test time it infers the task of
each input as the seen task whose generated network is least uncertain (lowest predictive
entropy) and predicts with that network. HNET+TIR (``hnet_tir``) lays out its heads the same
way and infers the task with a network trained on replay. ``hnet`` itself needs the task, so
it fits CL1 only. HNET+R (``hnet_r``) has the baselines' heads and fits every scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SCENARIOS = (1, 2, 3)
#: ``infer(weights, x) -> (inferred task [B], that task's logits [B, K])``.
Inference = Callable[[Sequence[Sequence[torch.Tensor]], torch.Tensor],
                     tuple[torch.Tensor, torch.Tensor]]
#: Methods that infer the task at test time (CL2, CL3) from the trained networks alone.
INFERRING = ("hnet_ent", "hnet_tir")


def check_fits(scenario: int, method: str) -> None:
    """ValueError when ``method`` cannot run in ``scenario``."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be 1, 2 or 3, got {scenario!r}")
    if method == "hnet" and scenario != 1:
        raise ValueError(f"method hnet needs the task at test time (scenario 1); in scenario "
                         f"{scenario} the task is not given: use hnet_ent, which infers it")
    if method in INFERRING and scenario == 1:
        raise ValueError(f"method {method} infers the task, which scenario 1 gives; use hnet")


@dataclass(frozen=True)
class HeadLayout:
    """The target network's output heads in a scenario: ``num_heads`` of ``classes_per_head``.

    Attributes:
        scenario: 1, 2 or 3.
        classes: classes of each task (``C``).
        num_heads, classes_per_head: the heads the target network has.
    """

    scenario: int
    classes: int
    num_heads: int
    classes_per_head: int

    @property
    def growing(self) -> bool:
        """CL3 with one head over every class (the baselines)."""
        return self.scenario == 3 and self.num_heads == 1

    def seen_logits(self, logits: torch.Tensor, task: int) -> torch.Tensor:
        """What task ``task`` trains on: in the growing head, the outputs of the classes seen
        so far; elsewhere the head's own."""
        return logits[:, :(task + 1) * self.classes] if self.growing else logits

    def train_outputs(self, logits: torch.Tensor, labels: torch.Tensor, task: int
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`seen_logits` and the labels in their classes (global in the growing head)."""
        labels = labels + task * self.classes if self.growing else labels
        return self.seen_logits(logits, task), labels


def head_layout(scenario: int, method: str, classes: int, num_tasks: int) -> HeadLayout:
    """The heads of ``method`` in ``scenario`` for ``num_tasks`` tasks of ``classes``."""
    check_fits(scenario, method)
    if scenario == 1 or (scenario == 3 and method in INFERRING):
        return HeadLayout(scenario, classes, num_tasks, classes)
    if scenario == 2:
        return HeadLayout(scenario, classes, 1, classes)
    return HeadLayout(scenario, classes, 1, classes * num_tasks)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Predictive entropy of each row of ``logits [B, K]``: ``[B]``."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(1)


def infer_task(target, weights: Sequence[Sequence[torch.Tensor]], x: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """HNET+ENT: for each input the task ``s`` (of ``weights[s]``, the seen tasks' generated
    networks) of lowest predictive entropy, and that network's logits: ``[B]``, ``[B, K]``."""
    logits = torch.stack([target(x, w, s) for s, w in enumerate(weights)])   # [S, B, K]
    inferred = torch.stack([entropy(row) for row in logits]).argmin(0)       # [B]
    return inferred, logits[inferred, torch.arange(x.shape[0], device=x.device)]


def logits_by_task(target, x: torch.Tensor, tasks: torch.Tensor,
                   weights_of: Callable[[int], Sequence[torch.Tensor]]) -> torch.Tensor:
    """The logits of each input ``x [B, D]`` under its own task's network and head
    (``tasks [B]``; ``weights_of(s)`` the weights for task ``s``): ``[B, K]``, one forward pass
    per distinct task."""
    out = torch.empty(x.shape[0], target.classes, device=x.device)
    tasks = tasks.to(x.device)
    for s in tasks.unique().tolist():
        rows = (tasks == s).nonzero().squeeze(1)
        out[rows] = target(x[rows], weights_of(s), s)
    return out


@torch.no_grad()
def right_answers(target, weights: Sequence[Sequence[torch.Tensor]], layout: HeadLayout,
                  infer: Inference | None, task: int, x: torch.Tensor, y: torch.Tensor) -> int:
    """How many inputs ``x`` of task ``task`` (labels ``y`` within the task) are answered
    right, with the task given only in CL1.

    Args:
        weights: the target's weights for each task seen so far (the baselines': the same
            weights for every task).
        infer: how the method infers the task (``infer(weights, x) -> (tasks [B], logits
            [B, K])``, e.g. ``functools.partial(infer_task, target)``), or None for methods
            with one network for every task.
    """
    seen = len(weights)
    if layout.scenario == 1:
        return int((target(x, weights[task], task).argmax(1) == y).sum())
    if infer is not None:
        inferred, logits = infer(weights, x)
        within = logits.argmax(1)
        if layout.scenario == 2:
            return int((within == y).sum())
        return int((inferred * layout.classes + within == task * layout.classes + y).sum())
    logits = target(x, weights[-1], 0)
    if layout.scenario == 2:
        return int((logits.argmax(1) == y).sum())
    guess = logits[:, :seen * layout.classes].argmax(1)
    return int((guess == task * layout.classes + y).sum())
