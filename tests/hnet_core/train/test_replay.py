"""Generative replay (HNET+R, HNET+TIR): the replay VAE on real MNIST digits, its decoder
hypernetwork protected by the output regulariser, and both methods on SplitMNIST without the
task (CL3)."""

from __future__ import annotations

import random

import pytest
import torch

from hnet_core.data import split_mnist
from hnet_core.models import HyperMLPConfig, TargetNetConfig
from hnet_core.models.replay_vae import ReplayVAE, ReplayVAEConfig
from hnet_core.train import ContinualTrainConfig, train_continual
from hnet_core.train._replay import GenerativeReplay

VAE = ReplayVAEConfig(enc_hidden=(100,), dec_hidden=(100,), latent_size=8, hnet_hidden=(10,),
                      chunk_size=4000, chunk_embedding_size=8, task_embedding_size=8,
                      beta=1.0)  # this small a VAE forgets its first decoder at beta 0.01


@pytest.fixture(scope="module")
def two_tasks(data_dir):
    return split_mnist(data_dir=data_dir)[:2]


def _learn(replay: GenerativeReplay, task: int, images: torch.Tensor, steps: int) -> list:
    replay.start(task)
    rng, losses = random.Random(0), []
    for step in range(steps):
        x = images[torch.randint(len(images), (64,))]
        losses.append(replay.step(x, step, rng))
    return losses


def _replay(beta: float) -> GenerativeReplay:
    torch.manual_seed(0)
    config = ContinualTrainConfig(method="hnet_r", scenario=3, lookahead=False,
                                  replay=ReplayVAEConfig(**{**VAE.__dict__, "beta": beta}))
    return GenerativeReplay(ReplayVAE(config.replay, 784, 2), config,
                            torch.Generator().manual_seed(0))


@pytest.mark.needs_data
def test_the_vae_learns_digits_and_replays_them(two_tasks):
    replay = _replay(0.01)
    losses = _learn(replay, 0, two_tasks[0].train.images, 300)
    assert sum(losses[-20:]) / 20 < 0.6 * sum(losses[:20]) / 20   # the ELBO improves
    replay.start(1)
    x, tasks = replay.sample(32)
    assert x.shape == (32, 784) and tasks.eq(0).all()             # only earlier tasks
    assert 0 <= x.min() and x.max() <= 1
    assert replay.vae.num_trainable() == sum(p.numel() for p in replay.vae.parameters())


@pytest.mark.needs_data
def test_the_output_regulariser_keeps_the_earlier_decoder(two_tasks):
    """Learning task 1 moves task 0's generated decoder; beta_output holds it far closer."""
    drift = {}
    for beta in (0.0, 1.0):
        replay = _replay(beta)
        _learn(replay, 0, two_tasks[0].train.images, 100)
        with torch.no_grad():
            before = replay.vae.hnet([0])[0].clone()
        _learn(replay, 1, two_tasks[1].train.images, 100)
        with torch.no_grad():
            drift[beta] = (replay.vae.hnet([0])[0] - before).norm().item()
    assert drift[1.0] < 0.2 * drift[0.0]


SMALL = dict(iterations=300, batch_size=64, lr=1e-3, max_eval_examples=500, device="cpu",
             replay=VAE)
HNET = HyperMLPConfig(num_tasks=2, task_embedding_size=8, hidden=(20,), chunk_size=4000,
                      chunk_embedding_size=8)


@pytest.mark.needs_data
def test_replay_keeps_the_first_task_without_the_task_given(two_tasks):
    """CL3, two SplitMNIST tasks: fine-tuning loses task 0 outright (below 5%); replay keeps
    most of it (HNET+R), and HNET+TIR's task-inference network tells the tasks apart."""
    target = TargetNetConfig(hidden=(50,))
    runs = {method: list(train_continual(target, HNET, ContinualTrainConfig(
        method=method, scenario=3, beta_output=0.05, task_inference=method == "hnet_tir",
        **SMALL), two_tasks)) for method in ("finetune", "hnet_r", "hnet_tir")}
    finals = {m: r[-1] for m, r in runs.items()}
    assert finals["finetune"]["acc_task_0"] < 5
    assert finals["hnet_r"]["acc_task_0"] > 60      # measured 91.6
    assert finals["hnet_tir"]["task_inference_acc"] > 70   # measured 84.8
    assert finals["hnet_tir"]["final_acc"] > finals["finetune"]["final_acc"] + 20
    vae = sum(p.numel() for p in ReplayVAE(VAE, 784, 2).parameters())
    assert finals["hnet_r"]["params"] == finals["finetune"]["params"] + vae
