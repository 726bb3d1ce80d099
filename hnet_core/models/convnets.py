"""The main networks of Ha et al. (2017), sec. 4.1, each plain or with generated kernels.

- ``mnist_convnet``: conv 7x7 1->16, ReLU, 2x2 max-pool, conv 7x7 16->16, ReLU, 2x2 max-pool,
  linear 784->10 (``[B, 1, 28, 28]`` -> logits ``[B, 10]``). With ``hyper`` the second kernel
  (12,544 weights) comes from a :class:`KernelGenerator` with ``N_in = N_out = 16``, ``f = 7``
  and one embedding: 4,240 generator weights and 4 embedding weights at ``N_z = d = 4``.
- ``wrn``: Wide ResNet ``depth-k`` for CIFAR-10 (Zagoruyko & Komodakis 2016; pre-activation
  blocks BN-ReLU-conv3x3-BN-ReLU-conv3x3, ``(depth - 4) / 6`` blocks per group, widths
  ``16k, 32k, 64k``, 1x1 shortcut convs where the shape changes, BN-ReLU-global-pool-linear).
  With ``hyper`` every 3x3 kernel of conv groups 2-4 (the residual blocks) is tiled from
  16x16x3x3 blocks of one shared generator (``N_z = d = 64`` in the paper), each block with its
  own embedding; the stem conv (3->16), the 1x1 shortcuts, the batch norms and the classifier
  stay ordinary parameters.

Parameter counts. ``count_parameters`` counts every trainable parameter (what a trial reports
as ``params``). The paper does not say what its WRN counts include; its figures are matched by
:func:`paper_parameter_count`, every trainable parameter except the batch norms' scales and
shifts (generator, embeddings, stem, shortcuts, classifier). With that count the plain WRN 40-1
and 40-2 have 561,210 and 2,238,138 parameters (paper: 0.563M, 2.236M) and the hyper ones
95,050 and 150,218 (paper: 0.097M, 0.148M); with the batch norms, 563,930 / 2,243,546 and
97,770 / 155,626. The MNIST convnet has no batch norm: 21,210 plain, 12,910 hyper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from hnet_core.models.static_hypernet import HyperConv2d, KernelGenerator

ARCHITECTURES = ("mnist_convnet", "wrn")


@dataclass(frozen=True)
class ImageClassifierConfig:
    """A main network for image classification.

    Attributes:
        arch: ``mnist_convnet`` or ``wrn``.
        hyper: generate the kernels named in the module docstring with a static hypernetwork.
        embedding_size: ``N_z``.
        hidden_size: ``d``.
        depth: WRN depth (``6n + 4``).
        widen: WRN widening factor ``k``.
        num_classes: classes of the linear head.
    """

    arch: Literal["mnist_convnet", "wrn"] = "mnist_convnet"
    hyper: bool = True
    embedding_size: int = 4
    hidden_size: int = 4
    depth: int = 40
    widen: int = 1
    num_classes: int = 10

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown arch {self.arch!r}; expected one of {ARCHITECTURES}")
        for name in ("embedding_size", "hidden_size", "widen", "num_classes"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.arch == "wrn" and (self.depth < 10 or (self.depth - 4) % 6):
            raise ValueError(f"WRN depth must be 6n + 4 with n >= 1, got {self.depth}")


class MNISTConvNet(nn.Module):
    """``[B, 1, 28, 28]`` -> ``[B, num_classes]``; see the module docstring."""

    def __init__(self, config: ImageClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv2d(1, 16, 7, padding=3)
        if config.hyper:
            self.generator = KernelGenerator(16, 16, 7, config.embedding_size, config.hidden_size)
            self.conv2: nn.Module = HyperConv2d(self.generator, 16, 16, padding=3, bias=True)
        else:
            self.conv2 = nn.Conv2d(16, 16, 7, padding=3)
        self.fc = nn.Linear(16 * 7 * 7, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def _conv3x3(generator: KernelGenerator | None, c_in: int, c_out: int, stride: int) -> nn.Module:
    if generator is None:
        return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
    return HyperConv2d(generator, c_in, c_out, stride=stride, padding=1)


class WideBlock(nn.Module):
    """Pre-activation residual block: BN-ReLU-conv3x3(stride)-BN-ReLU-conv3x3, plus shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int,
                 generator: KernelGenerator | None) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = _conv3x3(generator, c_in, c_out, stride)
        self.conv2 = _conv3x3(generator, c_out, c_out, 1)
        self.shortcut = (nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
                         if stride != 1 or c_in != c_out else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class WideResNet(nn.Module):
    """WRN ``depth-k``: ``[B, 3, 32, 32]`` -> ``[B, num_classes]``; see the module docstring."""

    def __init__(self, config: ImageClassifierConfig) -> None:
        super().__init__()
        self.config = config
        n = (config.depth - 4) // 6
        widths = [16, 16 * config.widen, 32 * config.widen, 64 * config.widen]
        self.generator = (KernelGenerator(16, 16, 3, config.embedding_size, config.hidden_size)
                          if config.hyper else None)
        self.stem = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        blocks = []
        for group in range(3):
            for i in range(n):
                c_in = widths[group] if i == 0 else widths[group + 1]
                stride = 2 if (group > 0 and i == 0) else 1
                blocks.append(WideBlock(c_in, widths[group + 1], stride, self.generator))
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], config.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = F.relu(self.bn(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def paper_parameter_count(model: nn.Module) -> int:
    """Trainable parameters outside batch-norm layers: the count the paper's figures match."""
    norms = {id(p) for m in model.modules() if isinstance(m, nn.BatchNorm2d)
             for p in m.parameters()}
    return sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in norms)


def build_classifier(config: ImageClassifierConfig) -> nn.Module:
    """The network ``config.arch`` names."""
    return MNISTConvNet(config) if config.arch == "mnist_convnet" else WideResNet(config)
