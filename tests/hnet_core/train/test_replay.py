"""Generative replay (HNET+R, HNET+TIR) as the authors train it: the replay VAE on real MNIST
digits, its per-pixel loss scale, its decoder hypernetwork protected by the output regulariser,
the order of training (learner first with the replay model frozen, then the VAE; none for the
last task), the task-inference network's and HNET+R's losses, and both methods on SplitMNIST
without the task (CL3)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hnet_core.data import split_mnist
from hnet_core.models import HyperMLPConfig, TargetNetConfig
from hnet_core.models.replay_vae import ReplayVAE, ReplayVAEConfig
from hnet_core.train import ContinualTrainConfig, train_continual
from hnet_core.train._replay import GenerativeReplay, distillation_loss
from hnet_core.train.continual import build_learner

VAE = ReplayVAEConfig(enc_hidden=(100,), dec_hidden=(100,), latent_size=8, hnet_hidden=(10,),
                      chunk_size=4000, chunk_embedding_size=8, task_embedding_size=8,
                      beta=1.0, condition_size=10)  # this small a VAE forgets at beta 0.01


@pytest.fixture(scope="module")
def three_tasks(data_dir):
    return split_mnist(data_dir=data_dir)[:3]


def _replay(beta: float, iterations: int = 300) -> GenerativeReplay:
    torch.manual_seed(0)
    config = ContinualTrainConfig(method="hnet_r", scenario=3, lookahead=False,
                                  iterations=iterations, batch_size=64,
                                  replay=ReplayVAEConfig(**{**VAE.__dict__, "beta": beta}))
    return GenerativeReplay(ReplayVAE(config.replay, 784, 2), config,
                            torch.Generator().manual_seed(0))


def test_the_vae_loss_is_per_pixel_as_the_authors_average_it():
    """BCE averaged over pixels plus the KL divided by D, mean over the batch
    (``train_vae_one_t``, ``compute_kld``): by hand with the same noise, and D times below
    the summed ELBO, so ``rp_beta`` weighs the regulariser D times more than on a sum."""
    torch.manual_seed(0)
    vae = ReplayVAE(ReplayVAEConfig(enc_hidden=(16,), dec_hidden=(12,), latent_size=3,
                                    chunk_size=None, hnet_hidden=(5,), condition_size=4),
                    20, 2)
    x = torch.rand(5, 20)
    torch.manual_seed(1)
    loss = vae.loss(x, 1)
    torch.manual_seed(1)
    mu, logvar = vae.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    code = torch.zeros(5, 4)
    code[:, 1] = 1.0                                     # the task's one-hot condition
    p = torch.sigmoid(vae.decoder(torch.cat([z, code], 1), vae.decoder_weights(1)))
    bce = -(x * p.log() + (1 - x) * (1 - p).log())       # [B, D]
    kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
    summed = (bce.sum(1) + kl).mean()                    # the negative ELBO per example
    assert loss.item() == pytest.approx(summed.item() / 20, rel=1e-5)
    assert loss.item() == pytest.approx((bce.mean(1).mean() + kl.mean() / 20).item(), rel=1e-5)


def test_the_decoder_is_conditioned_and_sampled_in_one_batch():
    """The decoder reads ``[z, one-hot(t)]`` (the authors' ``conditional_replay``, size 100 by
    default); the batched sample equals each decoder run on its own."""
    assert ReplayVAE(ReplayVAEConfig(chunk_size=None), 784, 4).decoder.param_shapes[0] == \
        (250, 100 + 100)
    torch.manual_seed(0)
    vae = ReplayVAE(ReplayVAEConfig(enc_hidden=(8,), dec_hidden=(6, 7), latent_size=3,
                                    chunk_size=50, hnet_hidden=(5,), condition_size=4), 12, 3)
    batched = vae.sample([0, 2], 4, torch.Generator().manual_seed(5))
    z = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(5))
    one_by_one = [torch.sigmoid(vae.decoder(vae.decoder_input(z[i], torch.full((4,), t)),
                                            vae.decoder_weights(t)))
                  for i, t in enumerate([0, 2])]
    torch.testing.assert_close(batched, torch.cat(one_by_one))
    with pytest.raises(ValueError, match="size 4 codes at most that many tasks, got 5"):
        ReplayVAE(ReplayVAEConfig(condition_size=4, chunk_size=None), 12, 5)


@pytest.mark.needs_data
def test_the_vae_learns_digits_and_replays_the_earlier_tasks(three_tasks):
    replay = _replay(0.01, iterations=200)
    before = replay.vae.loss(three_tasks[0].train.images[:256], 0).item()
    replay.learn(0, three_tasks[0].train, torch.device("cpu"))
    assert replay.vae.loss(three_tasks[0].train.images[:256], 0).item() < 0.6 * before
    replay.learn(1, three_tasks[1].train, torch.device("cpu"))
    x, tasks = replay.sample(9, 2)                       # ceil(9 / 2) = 5 of each earlier task
    assert x.shape == (10, 784) and tasks.tolist() == [0] * 5 + [1] * 5
    assert 0 <= x.min() and x.max() <= 1
    assert sorted(replay.learned) == [0, 1]
    replay.learn(2, three_tasks[2].train, torch.device("cpu"))  # past the last decoder
    assert sorted(replay.learned) == [0, 1]


@pytest.mark.needs_data
def test_the_output_regulariser_keeps_the_earlier_decoder(three_tasks):
    """Learning task 1 moves task 0's generated decoder; beta holds it far closer."""
    drift = {}
    for beta in (0.0, 1.0):
        replay = _replay(beta, iterations=100)
        replay.learn(0, three_tasks[0].train, torch.device("cpu"))
        assert replay.drift() == {0: 0.0}
        replay.learn(1, three_tasks[1].train, torch.device("cpu"))
        drift[beta] = replay.drift()[0]
    assert drift[1.0] < 0.2 * drift[0.0]


def _learner(method: str, scenario: int, tasks, **changes):
    torch.manual_seed(0)
    config = ContinualTrainConfig(method=method, scenario=scenario, iterations=3, batch_size=8,
                                  device="cpu", replay=VAE, **changes)
    hnet = HyperMLPConfig(num_tasks=len(tasks), task_embedding_size=4, hidden=(5,),
                          chunk_size=2000, chunk_embedding_size=4)
    learner = build_learner(TargetNetConfig(hidden=(10,)), hnet, config, tasks,
                            torch.device("cpu"))
    return learner, config


def _batches(split, n: int, size: int = 8):
    generator = torch.Generator().manual_seed(0)
    return [split[torch.randint(len(split), (size,), generator=generator)] for _ in range(n)]


def _state(module_params) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module_params]


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.needs_data
@pytest.mark.parametrize("method", ["hnet_r", "hnet_tir"])
def test_the_learner_trains_with_the_replay_model_frozen_then_the_vae(method, three_tasks):
    """Each task: the learner first (the VAE unchanged), then the VAE (``consolidate``);
    no decoder for the last task; HNET+TIR's task-inference network not trained on task 0."""
    import random

    learner, _ = _learner(method, 3, three_tasks)
    vae = learner.replay.vae
    assert vae.num_decoders == 2
    rng = random.Random(0)
    for t, task in enumerate(three_tasks):
        vae_before = _state(vae.parameters())
        tir_before = _state(learner.tir_weights) if method == "hnet_tir" else []
        learner.learn(t, iter(_batches(task.train, 3)), rng)
        assert _same(vae_before, _state(vae.parameters()))
        if method == "hnet_tir":
            assert _same(tir_before, _state(learner.tir_weights)) == (t == 0)
        learner.consolidate(t, task.train, torch.Generator().manual_seed(t),
                            torch.device("cpu"))
        assert _same(vae_before, _state(vae.parameters())) == (t == 2)
    assert sorted(learner.replay.learned) == [0, 1]


@pytest.mark.needs_data
def test_task_inference_weighs_current_and_replay_half_and_half(three_tasks):
    """At task 2 the loss is 0.5 CE(real, label 2) + 0.5 CE(replay, its labels), over the
    three outputs seen; the replay holds ceil(B / 2) inputs of each of tasks 0 and 1."""
    learner, _ = _learner("hnet_tir", 3, three_tasks)
    x = three_tasks[2].train[torch.arange(8)][0]
    learner.replay.generator.manual_seed(3)
    loss = learner.tir_loss(x, 2)
    learner.replay.generator.manual_seed(3)
    x_r, t_r = learner.replay.sample(8, 2)
    assert t_r.tolist() == [0] * 4 + [1] * 4
    out = lambda v: learner.tir(v, learner.tir_weights)[:, :3]  # noqa: E731
    real = F.cross_entropy(out(x), torch.full((8,), 2))
    assert loss.item() == pytest.approx(0.5 * real.item() + 0.5 * F.cross_entropy(
        out(x_r), t_r).item(), rel=1e-5)


def test_distillation_is_at_temperature_two_with_its_square():
    """Hinton et al.'s loss as the authors' ``knowledge_distillation_loss``: softmax of the
    targets at T, log-softmax of the logits at T, mean over the batch, times T^2."""
    logits, targets = torch.tensor([[1.0, -1.0, 0.5]]), torch.tensor([[2.0, 0.0, 0.0]])
    p = torch.exp(targets / 2) / torch.exp(targets / 2).sum()
    logq = logits / 2 - torch.log(torch.exp(logits / 2).sum())
    assert distillation_loss(logits, targets, 2.0).item() == pytest.approx(
        -(p * logq).sum().item() * 4, rel=1e-6)


@pytest.mark.needs_data
def test_hnet_r_in_cl3_distils_zero_logits_on_the_new_classes(three_tasks):
    """CL3's growing head: the former classifier's logits on the classes seen before the
    task, 0 (not -inf) on the task's own two."""
    learner, _ = _learner("hnet_r", 3, three_tasks)
    logits = torch.arange(12.0).view(2, 6)
    targets = learner.replay_targets(logits, 2)
    assert targets[:, :4].equal(logits[:, :4]) and targets[:, 4:].eq(0).all()
    cl1, _ = _learner("hnet_r", 1, three_tasks)
    assert cl1.replay_targets(logits, 2).equal(logits)


SMALL = dict(iterations=300, batch_size=64, lr=1e-3, max_eval_examples=500, device="cpu",
             replay=VAE)
HNET = HyperMLPConfig(num_tasks=2, task_embedding_size=8, hidden=(20,), chunk_size=4000,
                      chunk_embedding_size=8)


@pytest.mark.needs_data
def test_replay_keeps_the_first_task_without_the_task_given(three_tasks):
    """CL3, two SplitMNIST tasks: fine-tuning loses task 0 outright (below 5%); replay keeps
    most of it (HNET+R), and HNET+TIR's task-inference network tells the tasks apart; the
    diagnostics come with the rows."""
    two_tasks = three_tasks[:2]
    target = TargetNetConfig(hidden=(50,))
    runs = {method: list(train_continual(target, HNET, ContinualTrainConfig(
        method=method, scenario=3, beta_output=0.05, task_inference=method == "hnet_tir",
        **SMALL), two_tasks)) for method in ("finetune", "hnet_r", "hnet_tir")}
    finals = {m: r[-1] for m, r in runs.items()}
    assert finals["finetune"]["acc_task_0"] < 5
    assert finals["hnet_r"]["acc_task_0"] > 60
    assert finals["hnet_tir"]["task_inference_acc"] > 70
    assert finals["hnet_tir"]["final_acc"] > finals["finetune"]["final_acc"] + 20
    vae = sum(p.numel() for p in ReplayVAE(VAE, 784, 1).parameters())  # one decoder
    assert finals["hnet_r"]["params"] == finals["finetune"]["params"] + vae
    for method in ("hnet_r", "hnet_tir"):
        first, last = runs[method]
        assert first["decoder_drift_0"] == 0.0 and "replay_acc_0" not in first
        assert 0 <= last["decoder_drift_0"] < 0.5 and 0 <= last["replay_acc_0"] <= 100
        assert "decoder_drift_1" not in last               # the last task has no decoder
    tir = finals["hnet_tir"]
    assert tir["replay_acc_0"] > 80                        # it learned the replay of task 0
    assert math.isclose((tir["task_inference_acc_0"] + tir["task_inference_acc_1"]) / 2,
                        tir["task_inference_acc"], abs_tol=0.2)
    assert "task_inference_acc_0" not in finals["hnet_r"]
