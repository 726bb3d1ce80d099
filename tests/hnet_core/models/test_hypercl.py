"""Task-conditioned, chunked hypernetworks and the output regulariser (von Oswald et al. 2020)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from hnet_core.models.hypercl import (
    ChunkedHyperMLP,
    HyperMLPConfig,
    TargetConvNet,
    TargetMLP,
    TaskHyperMLP,
    init_target_weights,
    split_weights,
)
from hnet_core.models.output_regularizer import (
    FrozenTargets,
    adam_lookahead,
    output_regularizer,
    output_regularizer_direct,
    take_targets,
)
from hnet_core.models.replay_vae import ReplayVAE, ReplayVAEConfig


@pytest.mark.parametrize("setting", [
    # PermutedMNIST-10: 1024-1000-1000, ten 10-way heads; hnet 25,25 ELU, chunk 78000, 8, 24
    dict(target=(1024, (1000, 1000), 10, 10), hnet=dict(num_tasks=10, task_embedding_size=24,
         hidden=(25, 25), chunk_size=78000, chunk_embedding_size=8),
         params=2_126_100, chunks=28, ratio=0.955),
    # SplitMNIST: 784-400-400, five 2-way heads; hnet 10,10, chunk 42000, embeddings 96 and 96
    dict(target=(784, (400, 400), 2, 5), hnet=dict(num_tasks=5, task_embedding_size=96,
         hidden=(10, 10), chunk_size=42000, chunk_embedding_size=96),
         params=478_410, chunks=12, ratio=0.973),
])
def test_the_papers_settings_have_its_sizes(setting):
    target = TargetMLP(*setting["target"])
    assert target.num_params == setting["params"]
    hnet = ChunkedHyperMLP(HyperMLPConfig(**setting["hnet"], activation="elu"), target.num_params)
    assert hnet.num_chunks == setting["chunks"] == math.ceil(target.num_params / hnet.chunk_size)
    assert round(hnet.num_trainable() / target.num_params, 3) == setting["ratio"]


def test_chunks_of_all_tasks_run_as_one_batch_and_the_last_is_cut():
    torch.manual_seed(0)
    target = TargetMLP(12, (7,), 3, num_heads=2)
    hnet = ChunkedHyperMLP(HyperMLPConfig(num_tasks=3, task_embedding_size=4, hidden=(6,),
                                          chunk_size=25, chunk_embedding_size=2),
                           target.num_params)
    out = hnet([2, 0])
    assert out.shape == (2, target.num_params)
    torch.testing.assert_close(out[1], hnet([0])[0])
    weights = split_weights(out[0], target.param_shapes)
    assert [tuple(w.shape) for w in weights] == [tuple(s) for s in target.param_shapes]
    assert target(torch.randn(5, 12), weights, task=1).shape == (5, 3)
    plain = TaskHyperMLP(HyperMLPConfig(num_tasks=1, hidden=(6,)), target.num_params)
    assert plain.num_chunks == 1 and plain.chunk_embeddings.numel() == 0
    with pytest.raises(ValueError, match="does not chunk"):
        TaskHyperMLP(HyperMLPConfig(num_tasks=1, chunk_size=5), 10)


def test_convnet_target_takes_flat_images():
    target = TargetConvNet((1, 28, 28), (4, 6), hidden=20, classes_per_head=2, num_heads=5)
    weights = [torch.randn(s) * 0.1 for s in target.param_shapes]
    assert target(torch.rand(3, 784), weights, task=4).shape == (3, 2)


def _problem(chunk_size: int):
    torch.manual_seed(1)
    target = TargetMLP(9, (5,), 3, num_heads=5)                     # 50 + 5*... weights
    hnet = ChunkedHyperMLP(HyperMLPConfig(num_tasks=5, task_embedding_size=3, hidden=(6, 4),
                                          chunk_size=chunk_size, chunk_embedding_size=2),
                           target.num_params).double()
    return hnet


@pytest.mark.parametrize("chunk_size", [13, 20, 200])  # cut last chunk, exact fit, one chunk
@pytest.mark.parametrize("lookahead", [False, True])
def test_gram_regularizer_equals_the_direct_sum_in_value_and_gradient(chunk_size, lookahead):
    hnet = _problem(chunk_size)
    earlier = [0, 1, 2, 3]
    stored = take_targets(hnet, earlier)
    frozen = FrozenTargets(hnet, earlier)
    with torch.no_grad():
        target_outputs = hnet(earlier).clone()
        for p in hnet.parameters():
            p.add_(0.2 * torch.randn_like(p))
    delta = [0.05 * torch.randn_like(p) for p in hnet.theta()] if lookahead else None
    for targets in (stored, frozen):
        for tasks in (earlier, [3, 1]):                              # all, or a subsample
            rows = target_outputs[[earlier.index(t) for t in tasks]]
            hnet.zero_grad()
            gram = output_regularizer(hnet, targets, tasks, delta)
            gram.backward()
            gram_grads = [p.grad.clone() for p in hnet.parameters() if p.grad is not None]
            hnet.zero_grad()
            direct = output_regularizer_direct(hnet, rows, tasks, delta)
            direct.backward()
            direct_grads = [p.grad.clone() for p in hnet.parameters() if p.grad is not None]
            assert gram.item() > 0.1
            torch.testing.assert_close(gram, direct, rtol=1e-10, atol=1e-12)
            for a, b in zip(gram_grads, direct_grads, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_regularizer_is_zero_right_after_the_targets_are_taken():
    hnet = _problem(13).float()
    for targets in (take_targets(hnet, [0, 1, 2]), FrozenTargets(hnet, [0, 1, 2])):
        assert output_regularizer(hnet, targets, [0, 1, 2]).item() == 0.0


@pytest.mark.parametrize("fused", [None, True])
def test_lookahead_is_adams_next_step_and_leaves_its_state_alone(fused):
    """Torch's Adam, its default (single-tensor on CPU) and fused kernels alike, takes the
    step predicted (in float64, where the step is not lost in the parameter's rounding)."""
    hnet = _problem(13)
    params = hnet.theta()
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=0.1, fused=fused)
    for _ in range(3):                                        # some state: moments, step 3
        optimizer.zero_grad()
        hnet([0, 1]).square().sum().backward()
        optimizer.step()
    before = copy.deepcopy(optimizer.state_dict())
    grads = torch.autograd.grad(hnet([1]).sin().sum(), params)
    delta = adam_lookahead(optimizer, params, grads)
    after = optimizer.state_dict()
    assert after["state"].keys() == before["state"].keys()
    for key, state in before["state"].items():
        for name, value in state.items():
            assert torch.equal(after["state"][key][name], value), name
    old = [p.detach().clone() for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    optimizer.step()                                          # the step it predicted
    for p, o, d in zip(params, old, delta, strict=True):
        torch.testing.assert_close(p.detach() - o, d, rtol=1e-9, atol=1e-12)


def _xavier_bound(weight: torch.Tensor) -> float:
    fan_out, fan_in = weight.shape
    return math.sqrt(6.0 / (fan_in + fan_out))


def test_xavier_init_is_the_authors_on_every_weight_matrix():
    """``xavier``: Xavier-uniform on every layer (hypercl's generate_classifier), zero biases,
    N(0, 1) embeddings; ``he_hidden`` keeps He-normal hidden layers and Xavier output."""
    torch.manual_seed(0)
    config = dict(num_tasks=2, task_embedding_size=64, hidden=(300, 400), chunk_size=2000,
                  chunk_embedding_size=64, activation="relu")
    xavier = ChunkedHyperMLP(HyperMLPConfig(**config, init="xavier"), 10_000)
    he = ChunkedHyperMLP(HyperMLPConfig(**config), 10_000)
    for hnet in (xavier, he):
        weight = hnet.out_weight.detach()
        assert weight.abs().max() <= _xavier_bound(weight)
        assert weight.std().item() == pytest.approx(_xavier_bound(weight) / math.sqrt(3),
                                                    rel=0.02)
        assert all(torch.equal(layer.bias, torch.zeros_like(layer.bias))
                   for layer in hnet.hidden_layers)
        assert torch.equal(hnet.out_bias, torch.zeros_like(hnet.out_bias))
        assert hnet.chunk_embeddings.std().item() == pytest.approx(1.0, rel=0.1)
    for x_layer, he_layer in zip(xavier.hidden_layers, he.hidden_layers, strict=True):
        w = x_layer.weight.detach()
        assert w.abs().max() <= _xavier_bound(w)
        assert w.std().item() == pytest.approx(_xavier_bound(w) / math.sqrt(3), rel=0.02)
        fan_in = he_layer.weight.shape[1]
        assert he_layer.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    # He keeps the hidden activations' scale; Xavier shrinks them, so it generates smaller
    # weights (PermutedMNIST-100's hypernetwork: std 0.09 against 0.33, median of five).
    assert xavier([0]).std() < 0.6 * he([0]).std()


def test_directly_trained_weights_take_he_or_the_authors_xavier():
    """A network trained directly: ``he`` is He-normal (fan-in), ``xavier`` Xavier-uniform
    (hypercl's generate_classifier and generate_replay_networks); biases zero in both."""
    torch.manual_seed(0)
    shapes = [(400, 784), (400,), (10, 400), (10,)]
    he, xavier = init_target_weights(shapes), init_target_weights(shapes, "xavier")
    for h, x in zip(he[::2], xavier[::2], strict=True):
        assert h.std().item() == pytest.approx(math.sqrt(2 / h.shape[1]), rel=0.05)
        assert x.abs().max() <= _xavier_bound(x)
        assert x.std().item() == pytest.approx(_xavier_bound(x) / math.sqrt(3), rel=0.05)
    assert all(torch.equal(b, torch.zeros_like(b)) for b in (*he[1::2], *xavier[1::2]))
    torch.manual_seed(0)
    vae = ReplayVAE(ReplayVAEConfig(enc_hidden=(50,), dec_hidden=(20,), latent_size=4,
                                    chunk_size=None, enc_init="xavier"), 784, 2)
    first = vae.encoder_weights[0].detach()
    assert first.std().item() == pytest.approx(_xavier_bound(first) / math.sqrt(3), rel=0.05)
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        init_target_weights(shapes, "glorot")
    with pytest.raises(ValueError, match="unknown replay enc_init"):
        ReplayVAEConfig(enc_init="glorot")


def test_an_unknown_init_is_refused():
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        HyperMLPConfig(num_tasks=1, init="glorot")
