"""Static hypernetworks (Ha et al. 2017, sec. 3.1, 4.1): eq. 2-3, tiling, the paper's counts."""

from __future__ import annotations

import pytest
import torch

from hnet_core.data import mnist_splits
from hnet_core.models import (
    HyperConv2d,
    ImageClassifierConfig,
    KernelGenerator,
    build_classifier,
    count_parameters,
    paper_parameter_count,
)


def test_generator_follows_eq_2_and_3():
    """K_i = W_out (W_i z + B_i) + B_out, slice i reading input channel i."""
    torch.manual_seed(0)
    g = KernelGenerator(in_channels=3, out_channels=5, kernel_size=2, embedding_size=4,
                        hidden_size=6)
    for p in g.parameters():
        torch.nn.init.normal_(p)
    z = torch.randn(2, 4)
    kernels = g(z)
    assert kernels.shape == (2, 5, 3, 2, 2)                  # [M, N_out, N_in, f, f]
    for m in range(2):
        for i in range(3):
            a_i = g.w_in[i] @ z[m] + g.b_in[i]               # eq. 2
            k_i = (g.w_out @ a_i + g.b_out).view(5, 2, 2)    # eq. 3: [N_out, f, f]
            torch.testing.assert_close(kernels[m, :, i], k_i)


def test_mnist_generated_layer_has_the_papers_counts():
    hyper = build_classifier(ImageClassifierConfig(arch="mnist_convnet", hyper=True,
                                                   embedding_size=4, hidden_size=4))
    plain = build_classifier(ImageClassifierConfig(arch="mnist_convnet", hyper=False))
    g = hyper.generator
    assert g.w_in.numel() + g.b_in.numel() == 16 * (4 * 4 + 4) == 320     # W_i, B_i
    assert g.w_out.numel() + g.b_out.numel() == 7 * 7 * 16 * 4 + 7 * 7 * 16 == 3920
    assert count_parameters(g) == 4240
    assert hyper.conv2.z.numel() == 4
    assert count_parameters(g) + hyper.conv2.z.numel() == 4244
    assert plain.conv2.weight.numel() == 12544
    assert hyper.conv2.kernel().shape == plain.conv2.weight.shape == (16, 16, 7, 7)
    # the rest of the network is the same: conv1, conv2's bias, the linear head
    assert count_parameters(plain) - 12544 == count_parameters(hyper) - 4244


@pytest.mark.parametrize("widen,plain_paper,hyper_paper", [(1, 0.563e6, 0.097e6),
                                                           (2, 2.236e6, 0.148e6)])
def test_wide_resnet_counts_match_the_paper(widen, plain_paper, hyper_paper):
    """Plain within 1%, hyper within 5% (batch-norm scales and shifts not counted; see
    hnet_core.models.convnets)."""
    plain = build_classifier(ImageClassifierConfig(arch="wrn", depth=40, widen=widen,
                                                   hyper=False))
    hyper = build_classifier(ImageClassifierConfig(arch="wrn", depth=40, widen=widen,
                                                   hyper=True, embedding_size=64,
                                                   hidden_size=64))
    assert abs(paper_parameter_count(plain) / plain_paper - 1) < 0.01
    assert abs(paper_parameter_count(hyper) / hyper_paper - 1) < 0.05
    assert count_parameters(hyper.generator) == 16 * (64 * 64 + 64) + 9 * 16 * 64 + 9 * 16
    embeddings = sum(m.z.numel() for m in hyper.modules() if isinstance(m, HyperConv2d))
    blocks = {1: 12 + (2 + 11 * 4) + (8 + 11 * 16), 2: 46 + 184 + (32 + 11 * 64)}[widen]
    assert embeddings == blocks * 64


def test_tiled_kernel_places_each_block_from_its_own_embedding():
    g = KernelGenerator(16, 16, 3, embedding_size=8, hidden_size=8)
    conv = HyperConv2d(g, in_channels=32, out_channels=48, padding=1)
    kernel = conv.kernel()
    assert kernel.shape == (48, 32, 3, 3) and conv.z.shape == (3, 2, 8)
    block = g(conv.z[2, 1].unsqueeze(0))[0]                 # output rows 32..47, inputs 16..31
    torch.testing.assert_close(kernel[32:48, 16:32], block)
    with pytest.raises(ValueError, match="not tiled"):
        HyperConv2d(g, in_channels=24, out_channels=16)


def test_generated_kernels_start_with_he_variance():
    torch.manual_seed(0)
    g = KernelGenerator(16, 16, 3, embedding_size=64, hidden_size=64)
    kernels = g(torch.randn(256, 64))
    assert kernels.var().item() == pytest.approx(2.0 / (16 * 9), rel=0.15)


@pytest.mark.parametrize("arch", ["mnist_convnet", "wrn"])
def test_gradients_reach_the_embeddings_and_the_generator(arch):
    config = ImageClassifierConfig(arch=arch, hyper=True, depth=10, embedding_size=8,
                                   hidden_size=8)
    model = build_classifier(config)
    shape = (4, 1, 28, 28) if arch == "mnist_convnet" else (4, 3, 32, 32)
    model(torch.randn(shape)).logsumexp(1).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(m.z.grad.abs().sum() > 0 for m in model.modules() if isinstance(m, HyperConv2d))


@pytest.mark.needs_data
def test_forward_on_a_real_mnist_batch_gives_finite_logits(data_dir):
    data = mnist_splits(data_dir)
    x = (data.test_x[:64].float() / 255 - data.mean[0]) / data.std[0]
    logits = build_classifier(ImageClassifierConfig(hyper=True))(x)
    assert logits.shape == (64, 10) and torch.isfinite(logits).all()
    assert data.train_x.shape == (55000, 1, 28, 28) and data.valid_x.shape[0] == 5000
