"""The three continual-learning scenarios: the heads each needs, and evaluation with the task
not given (hand-built networks whose every answer is known), then real SplitMNIST runs."""

from __future__ import annotations

import dataclasses
import re
from functools import partial

import pytest
import torch

from hnet_core.data import split_mnist
from hnet_core.data.mnist import Task, TaskSplit
from hnet_core.models import HyperMLPConfig, TargetMLP, TargetNetConfig
from hnet_core.train import ContinualTrainConfig, build_learner, head_layout, train_continual
from hnet_core.train._scenarios import infer_task, right_answers


@pytest.mark.parametrize("scenario,method,heads", [
    (1, "hnet", (5, 2)), (1, "finetune", (5, 2)), (2, "hnet_ent", (1, 2)),
    (2, "ewc", (1, 2)), (3, "hnet_ent", (5, 2)), (3, "finetune", (1, 10))])
def test_each_scenario_has_its_heads(scenario, method, heads):
    layout = head_layout(scenario, method, classes=2, num_tasks=5)
    assert (layout.num_heads, layout.classes_per_head) == heads


@pytest.mark.parametrize("scenario,method,message", [
    (2, "hnet", "method hnet needs the task at test time (scenario 1)"),
    (3, "hnet", "use hnet_ent, which infers it"),
    (1, "hnet_ent", "method hnet_ent infers the task, which scenario 1 gives"),
    (4, "finetune", "scenario must be 1, 2 or 3, got 4"),
])
def test_a_method_that_does_not_fit_its_scenario_is_refused(scenario, method, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ContinualTrainConfig(method=method, scenario=scenario)
    with pytest.raises(ValueError, match="task_inference picks a task's head"):
        ContinualTrainConfig(method="finetune", scenario=2, task_inference=True)


# Two tasks of two classes on 2-d inputs, linear target networks (no hidden layer). Under task
# 0's weights an input [1, 0] is class 0 for sure and [0, 1] gives flat logits; task 1's
# weights the other way round, with [0, 1] class 1. So HNET+ENT infers task 0 for [1, 0] and
# task 1 for [0, 1], whatever task the input came from.
TARGET = TargetMLP(2, (), classes_per_head=2, num_heads=1)
W0 = [torch.tensor([[10.0, 0.0], [-10.0, 0.0]]), torch.zeros(2)]
W1 = [torch.tensor([[0.0, -10.0], [0.0, 10.0]]), torch.zeros(2)]
X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])


def test_hnet_ent_without_the_task_in_scenarios_2_and_3():
    """Inputs of task 1 with within-task labels 1, 1, 0, 1. Inferred tasks 0, 1, 0, 0; answers
    (within the inferred task's head) 0, 1, 0, 0. CL2 needs only the answer: right for the
    second and third. CL3 needs the global class (task * 2 + label): only the second."""
    y = torch.tensor([1, 1, 0, 1])
    cl2, cl3 = (head_layout(s, "hnet_ent", classes=2, num_tasks=2) for s in (2, 3))
    assert right_answers(TARGET, [W0, W1], cl2, partial(infer_task, TARGET), 1, X, y) == 2
    heads = TargetMLP(2, (), classes_per_head=2, num_heads=2)  # CL3: a head per task
    per_task = [[torch.cat([W0[0], W0[0]]), torch.zeros(4)],
                [torch.cat([W1[0], W1[0]]), torch.zeros(4)]]
    assert right_answers(heads, per_task, cl3, partial(infer_task, heads), 1, X, y) == 1
    given = head_layout(1, "hnet", classes=2, num_tasks=2)
    assert right_answers(heads, per_task, given, None, 1, X, y) == 2  # answers 0, 1, 0, 0


def test_a_baselines_growing_head_answers_among_the_classes_seen():
    """One head of four classes (two tasks): after task 0 only classes 0-1 compete, after
    task 1 all four; the answer must be the global class."""
    head = TargetMLP(2, (), classes_per_head=4, num_heads=1)
    weights = [torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 0.5]]), torch.zeros(4)]
    layout = head_layout(3, "finetune", classes=2, num_tasks=2)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])       # logits [1, 0, 3, 0], [0, 1, 0, 0.5]
    task0 = torch.tensor([0, 1])                       # global classes 0, 1
    assert right_answers(head, [weights], layout, None, 0, x, task0) == 2
    assert right_answers(head, [weights, weights], layout, None, 0, x, task0) == 1  # 2 wins
    task1 = torch.tensor([0, 1])                       # global classes 2, 3
    assert right_answers(head, [weights, weights], layout, None, 1, x, task1) == 1
    shared = head_layout(2, "finetune", classes=2, num_tasks=2)
    two = TargetMLP(2, (), classes_per_head=2, num_heads=1)  # CL2: classes 0-1 of each task
    assert right_answers(two, [[weights[0][:2], torch.zeros(2)]] * 2, shared, None, 1, x,
                         task1) == 2


def _task(name: str, classes: int) -> Task:
    split = TaskSplit(torch.zeros(4, 3), torch.arange(4) % classes)
    return Task(name, split, split, num_classes=classes)


@pytest.mark.parametrize("scenario", [2, 3])
def test_a_shared_output_needs_tasks_of_equal_class_counts(scenario):
    """CL2 and CL3 share outputs between tasks, so a task of 2 classes beside one of 3 is
    refused (a benchmark of our own would need it; SplitMNIST and PermutedMNIST are equal);
    CL1, a head per task, takes them."""
    tasks = [_task("a", 2), _task("b", 3)]
    config = ContinualTrainConfig(method="finetune", scenario=scenario, device="cpu")
    with pytest.raises(ValueError, match=re.escape("same classes; got [2, 3]")):
        build_learner(TargetNetConfig(hidden=(4,)), HNET, config, tasks, torch.device("cpu"))
    given = dataclasses.replace(config, scenario=1)
    learner = build_learner(TargetNetConfig(hidden=(4,)), HNET, given, tasks,
                            torch.device("cpu"))
    assert learner.target.param_shapes[-1] == (2 * 3,)  # two heads of the larger count


SMALL = dict(iterations=150, batch_size=64, lr=1e-3, max_eval_examples=500, device="cpu")
HNET = HyperMLPConfig(num_tasks=2, task_embedding_size=8, hidden=(20,), chunk_size=4000,
                      chunk_embedding_size=8)


@pytest.mark.needs_data
@pytest.mark.parametrize("scenario", [2, 3])
def test_splitmnist_without_the_task(scenario, data_dir):
    """Two SplitMNIST tasks in CL2 and CL3: fine-tuning's class-incremental head forgets the
    first task outright (its classes are never trained on again), which the shared head of
    CL2 does not; HNET+ENT infers the task and keeps both."""
    tasks = split_mnist(data_dir=data_dir)[:2]
    target = TargetNetConfig(hidden=(50,))
    finetune = list(train_continual(target, HNET, ContinualTrainConfig(
        method="finetune", scenario=scenario, **SMALL), tasks))[-1]
    heads = 2 if scenario == 2 else 4
    assert finetune["params"] == 784 * 50 + 50 + 50 * heads + heads
    if scenario == 3:
        assert finetune["acc_task_0"] < 5 and finetune["acc_task_1"] > 90
    ent = list(train_continual(target, HNET, ContinualTrainConfig(
        method="hnet_ent", scenario=scenario, beta_output=0.05, task_inference=True, **SMALL),
        tasks))
    assert ent[0]["acc_task_0"] > 90  # one task seen: nothing to confuse it with
    if scenario == 3:
        assert ent[-1]["final_acc"] > finetune["final_acc"]
    assert ent[-1]["task_inference_acc"] > 60
