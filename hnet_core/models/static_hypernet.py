"""Static hypernetworks for convolution kernels (Ha, Dai & Le 2017, sec. 3.1, appendix A.3).

A kernel generator turns a layer embedding ``z`` (``N_z`` entries) into one basic kernel block
of ``N_in x N_out x f x f`` weights in two linear steps (eq. 2-3)::

    a_i = W_i z + B_i                 i = 1..N_in,  W_i: [d, N_z], B_i: [d]      (eq. 2)
    K_i = <W_out, a_i> + B_out        W_out: [f*f*N_out, d], B_out: [f*f*N_out]  (eq. 3)

and the block is ``K = [K_1 ... K_{N_in}]``: slice ``i`` holds the weights that read input
channel ``i``. The generator has ``N_in (d N_z + d) + d f^2 N_out + f^2 N_out`` parameters and
is shared by every layer it serves; each layer owns its embeddings. A kernel of
``C_in = p N_in`` by ``C_out = q N_out`` channels is tiled from ``q x p`` blocks, one embedding
each, as the paper does for Wide ResNets.

Initialisation: the paper gives none for the static case. Here ``z ~ N(0, 1)``,
``W_i ~ N(0, 1/N_z)``, ``W_out ~ N(0, 2 / (d N_in f^2))`` and zero biases, so ``a`` has unit
variance and a generated block starts with the variance of a He (fan-in) initialised kernel of
``N_in f^2`` inputs (the "hyperfan-in" idea of Chang, Sacramento & Grewe 2020).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class KernelGenerator(nn.Module):
    """``z [M, N_z]`` -> ``M`` kernel blocks ``[M, N_out, N_in, f, f]`` (eq. 2-3).

    Args:
        in_channels: ``N_in``, input channels of one block.
        out_channels: ``N_out``, output channels of one block.
        kernel_size: ``f``.
        embedding_size: ``N_z``.
        hidden_size: ``d``, the size of each ``a_i``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 embedding_size: int, hidden_size: int) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("kernel_size", kernel_size), ("embedding_size", embedding_size),
                            ("hidden_size", hidden_size)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.embedding_size = kernel_size, embedding_size
        f2 = kernel_size * kernel_size
        self.w_in = nn.Parameter(torch.randn(in_channels, hidden_size, embedding_size)
                                 / math.sqrt(embedding_size))                    # W_i
        self.b_in = nn.Parameter(torch.zeros(in_channels, hidden_size))          # B_i
        self.w_out = nn.Parameter(torch.randn(f2 * out_channels, hidden_size)
                                  * math.sqrt(2.0 / (hidden_size * in_channels * f2)))  # W_out
        self.b_out = nn.Parameter(torch.zeros(f2 * out_channels))                # B_out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        f, n_out = self.kernel_size, self.out_channels
        a = torch.einsum("idz,mz->mid", self.w_in, z) + self.b_in       # [M, N_in, d]
        k = F.linear(a, self.w_out, self.b_out)                         # [M, N_in, f*f*N_out]
        k = k.view(z.shape[0], self.in_channels, n_out, f, f)
        return k.transpose(1, 2)                                        # [M, N_out, N_in, f, f]


class HyperConv2d(nn.Module):
    """A convolution whose ``[C_out, C_in, f, f]`` kernel is generated from its own embeddings.

    ``C_in`` and ``C_out`` must be multiples of the generator's ``N_in`` and ``N_out``; the
    layer owns ``q x p`` embeddings (``q = C_out / N_out``, ``p = C_in / N_in``), one per block.
    The generator is shared: pass the same module to every layer it serves (``parameters()``
    counts it once).
    """

    def __init__(self, generator: KernelGenerator, in_channels: int, out_channels: int,
                 stride: int = 1, padding: int = 0, bias: bool = False) -> None:
        super().__init__()
        if in_channels % generator.in_channels or out_channels % generator.out_channels:
            raise ValueError(f"a {in_channels}->{out_channels} kernel is not tiled by "
                             f"{generator.in_channels}->{generator.out_channels} blocks")
        self.generator = generator
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.padding = stride, padding
        self.blocks = (out_channels // generator.out_channels,
                       in_channels // generator.in_channels)              # (q, p)
        self.z = nn.Parameter(torch.randn(*self.blocks, generator.embedding_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def kernel(self) -> torch.Tensor:
        """The generated kernel ``[C_out, C_in, f, f]``: block ``(r, c)`` from ``z[r, c]``."""
        q, p = self.blocks
        g = self.generator
        blocks = g(self.z.view(q * p, -1))                     # [q*p, N_out, N_in, f, f]
        blocks = blocks.view(q, p, g.out_channels, g.in_channels, g.kernel_size, g.kernel_size)
        return blocks.permute(0, 2, 1, 3, 4, 5).reshape(
            self.out_channels, self.in_channels, g.kernel_size, g.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel(), self.bias, self.stride, self.padding)


def conv_kernels(model: nn.Module) -> list[torch.Tensor]:
    """Every convolution kernel of ``model``: the weights of its ``nn.Conv2d`` layers and the
    generated kernels of its :class:`HyperConv2d` layers (differentiable in the generator and
    embeddings), for an L2 penalty on kernels (Ha et al. 2017, A.3.2)."""
    kernels = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            kernels.append(module.weight)
        elif isinstance(module, HyperConv2d):
            kernels.append(module.kernel())
    return kernels
