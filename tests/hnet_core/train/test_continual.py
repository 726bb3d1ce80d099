"""The continual-learning loop on real PermutedMNIST and SplitMNIST (small sizes)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from hnet_core.data import permuted_mnist, split_mnist
from hnet_core.data.mnist import Task, TaskSplit
from hnet_core.models.hypercl import HyperMLPConfig, TargetNetConfig
from hnet_core.train import TrainingDiverged
from hnet_core.train.continual import (
    ContinualTrainConfig,
    _task_inference_accuracy,
    build_learner,
    train_continual,
)

TARGET = TargetNetConfig(hidden=(100,))
HNET = HyperMLPConfig(num_tasks=3, task_embedding_size=8, hidden=(20,), chunk_size=4000,
                      chunk_embedding_size=8)
SMALL = dict(iterations=150, batch_size=64, lr=1e-3, max_eval_examples=1000, device="cpu")


@pytest.fixture(scope="module")
def three_permutations(data_dir):
    return permuted_mnist(3, data_dir=data_dir)


@pytest.mark.needs_data
def test_the_output_regularizer_keeps_what_beta_zero_forgets(three_permutations):
    finals = {}
    for beta in (0.0, 0.05):
        history = list(train_continual(TARGET, HNET, ContinualTrainConfig(beta_output=beta,
                                                                          **SMALL),
                                       three_permutations))
        assert [sorted(k for k in m if k.startswith("acc_task_")) for m in history] == [
            ["acc_task_0"], ["acc_task_0", "acc_task_1"],
            ["acc_task_0", "acc_task_1", "acc_task_2"]]
        finals[beta] = history[-1]
        assert history[0]["acc_task_0"] > 85           # learned right after training
    # task 0 after two more tasks: forgotten without the regulariser, kept with it
    assert finals[0.05]["acc_task_0"] - finals[0.0]["acc_task_0"] > 10
    assert finals[0.05]["final_acc"] > finals[0.0]["final_acc"]


@pytest.mark.needs_data
@pytest.mark.parametrize("method", ["finetune", "ewc"])
def test_baselines_train_the_target_directly(method, data_dir):
    tasks = split_mnist(data_dir=data_dir)[:2]
    history = list(train_continual(TargetNetConfig(hidden=(50,)), HNET, ContinualTrainConfig(
        method=method, ewc_samples=20, **SMALL), tasks))
    assert history[-1]["compression_ratio"] == 1.0
    assert history[-1]["params"] == 784 * 50 + 50 + 50 * 4 + 4     # two 2-way heads
    assert min(history[-1][f"acc_task_{j}"] for j in range(2)) > 80


@pytest.mark.needs_data
def test_task_inference_and_lookahead_run(three_permutations):
    config = ContinualTrainConfig(beta_output=0.05, lookahead=True, targets="frozen",
                                  reg_tasks_per_step=1, task_inference=True, **SMALL)
    last = list(train_continual(TARGET, HNET, config, three_permutations))[-1]
    assert 0 <= last["task_inference_acc"] <= 100
    assert last["compression_ratio"] == pytest.approx(
        (4000 * 21 + 3 * 8 + 16 * 20 + 20 + 8 * 21) / (1024 * 0 + 784 * 100 + 100 + 100 * 30 + 30),
        rel=1e-6)


@pytest.mark.needs_data
def test_a_diverging_run_raises(three_permutations):
    with pytest.raises(TrainingDiverged, match="on task 0"):
        list(train_continual(TARGET, HNET, ContinualTrainConfig(lr=1e12, iterations=20,
                                                                device="cpu"),
                             three_permutations))


def test_bad_configs_are_refused():
    for fields, message in [({"method": "si"}, "unknown method 'si'"),
                            ({"targets": "cached"}, "targets must be stored or frozen"),
                            ({"beta_output": -1.0}, "beta_output must be finite and >= 0"),
                            ({"reg_tasks_per_step": 0}, "reg_tasks_per_step must be >= 1"),
                            ({"ewc_gamma": 0.0}, "ewc_gamma must be in"),
                            ({"direct_init": "glorot"}, "unknown direct_init 'glorot'")]:
        with pytest.raises(ValueError, match=message):
            ContinualTrainConfig(**fields)


@pytest.mark.parametrize("method", ["finetune", "hnet_tir"])
def test_directly_trained_networks_take_the_configured_init(method):
    """``direct_init`` reaches the baselines' target and HNET+TIR's task-inference network:
    Xavier-uniform weights lie within the bound sqrt(6 / (fan_in + fan_out)); He-normal ones
    (fan-in 784) pass it."""
    probe = [Task("probe", *(TaskSplit(torch.zeros(1, 784), torch.zeros(1, dtype=torch.long)),)
                  * 2, num_classes=2)] * 2
    for init in ("he", "xavier"):
        torch.manual_seed(0)
        config = ContinualTrainConfig(method=method, scenario=1 if method == "finetune" else 3,
                                      direct_init=init, device="cpu")
        learner = build_learner(TargetNetConfig(hidden=(400,)), HNET, config, probe,
                                torch.device("cpu"))
        first = (learner.params if method == "finetune" else learner.tir_weights)[0].detach()
        bound = math.sqrt(6 / sum(first.shape))
        assert (first.abs().max() <= bound) == (init == "xavier")


def _two_vector_task(name: str, first: torch.Tensor, second: torch.Tensor, n_first: int,
                     n_second: int) -> Task:
    """A hand-built task whose test set is ``n_first`` copies of one input, then ``n_second``
    copies of another."""
    x = torch.cat([first.expand(n_first, -1), second.expand(n_second, -1)])
    split = TaskSplit(x, torch.zeros(len(x), dtype=torch.long))
    return Task(name, split, split, num_classes=2)


def test_task_inference_with_no_limit_evaluates_every_test_example():
    """max_eval_examples=None means all examples, in batches (not only the first batch)."""
    torch.manual_seed(0)
    config = ContinualTrainConfig(eval_batch_size=1000, max_eval_examples=None, device="cpu")
    probe = [Task("probe", *(TaskSplit(torch.zeros(1, 6), torch.zeros(1, dtype=torch.long)),) * 2,
                  num_classes=2)] * 2
    learner = build_learner(TargetNetConfig(hidden=(4,)), HNET, config, probe,
                            torch.device("cpu"))
    candidates = torch.randn(64, 6) * 3

    def inferred(x: torch.Tensor) -> torch.Tensor:  # the task of lowest predictive entropy
        logp = [F.log_softmax(learner.target(x, learner.weights(t), t), 1) for t in (0, 1)]
        return torch.stack([-(p.exp() * p).sum(1) for p in logp]).argmin(0)

    with torch.no_grad():
        to_task = inferred(candidates)
    a, b = candidates[to_task == 0][0], candidates[to_task == 1][0]  # go to task 0 / task 1
    # each task: its first 1000 inputs inferred right, the 1500 after them wrong
    tasks = [_two_vector_task("t0", a, b, 1000, 1500), _two_vector_task("t1", b, a, 1000, 1500)]
    accuracy = _task_inference_accuracy(learner, tasks, config, torch.device("cpu"))
    assert accuracy == pytest.approx(100 * 2000 / 5000)  # the first batch alone: 100
    limited = dataclasses.replace(config, max_eval_examples=1200)
    assert _task_inference_accuracy(learner, tasks, limited, torch.device("cpu")) == (
        pytest.approx(100 * 2000 / 2400))


@pytest.mark.needs_data
def test_without_eval_during_each_task_is_evaluated_when_learned_and_at_the_end(data_dir):
    """A long sequence's cost: the diagonal of the accuracy matrix and its last row."""
    tasks = split_mnist(data_dir=data_dir)[:3]
    config = ContinualTrainConfig(**{**SMALL, "iterations": 5, "max_eval_examples": 50},
                                  eval_during=False)
    history = list(train_continual(TargetNetConfig(hidden=(10,)), HNET, config, tasks))
    assert [sorted(k for k in m if k.startswith("acc_task_")) for m in history] == [
        ["acc_task_0"], ["acc_task_1"], ["acc_task_0", "acc_task_1", "acc_task_2"]]
    assert history[1]["final_acc"] == history[1]["acc_task_1"]
    assert history[-1]["during_acc"] == pytest.approx(
        sum(history[t][f"acc_task_{t}"] for t in range(3)) / 3)
