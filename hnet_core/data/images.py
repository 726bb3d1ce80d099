"""Image-classification splits held in memory as tensors: MNIST and CIFAR-10 with a validation
split carved from the end of the training set (Ha et al. 2017 use 55k/5k/10k for MNIST).

Images stay uint8 ``[N, C, H, W]`` (MNIST: 47 MB, CIFAR-10: 184 MB); a trainer converts each
batch to float and normalises it with the per-channel ``mean`` and ``std`` of the train split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from hnet_core.data.cifar import load_cifar10, read_cifar10
from hnet_core.data.mnist import load_mnist


@dataclass(frozen=True)
class ImageSplits:
    """Train, valid and test images (uint8 ``[N, C, H, W]``) and labels (int64 ``[N]``).

    ``mean`` and ``std`` are per-channel statistics of the train images scaled to [0, 1].
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int = 10

    def __post_init__(self) -> None:
        for split in ("train", "valid", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if x.dim() != 4 or x.dtype != torch.uint8 or x.shape[0] != y.shape[0]:
                raise ValueError(f"{split} images {tuple(x.shape)} {x.dtype} do not match "
                                 f"labels {tuple(y.shape)}")


def split_train(images: torch.Tensor, labels: torch.Tensor, test_x: torch.Tensor,
                test_y: torch.Tensor, valid_size: int) -> ImageSplits:
    """The last ``valid_size`` train images become the validation split."""
    if not 0 <= valid_size < images.shape[0]:
        raise ValueError(f"valid_size must be in [0, {images.shape[0]}), got {valid_size}")
    cut = images.shape[0] - valid_size
    mean, std = channel_stats(images[:cut])
    return ImageSplits(images[:cut], labels[:cut], images[cut:], labels[cut:], test_x, test_y,
                       mean, std)


def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], ...]:
    """Per-channel mean and standard deviation of uint8 ``[N, C, H, W]`` images scaled to
    [0, 1], summed in float64 chunks so no float copy of the whole set is made."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for start in range(0, images.shape[0], chunk):
        x = images[start:start + chunk].double().div_(255.0)
        total += x.sum(dim=(0, 2, 3))
        squares += x.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(1e-12).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


def mnist_splits(data_dir: str | os.PathLike | None = None, valid_size: int = 5000
                 ) -> ImageSplits:
    """MNIST as ``[N, 1, 28, 28]``: 55,000 / 5,000 / 10,000 by default."""
    mnist = load_mnist(data_dir)
    return split_train(mnist.train_images.unsqueeze(1), mnist.train_labels,
                       mnist.test_images.unsqueeze(1), mnist.test_labels, valid_size)


def cifar10_splits(data_dir: str | os.PathLike | None = None, valid_size: int = 5000,
                   archive: str | os.PathLike | None = None) -> ImageSplits:
    """CIFAR-10 as ``[N, 3, 32, 32]``: 45,000 / 5,000 / 10,000 by default.

    Args:
        data_dir: the root searched first for the official, SHA-256 checked archive.
        valid_size: train images held out for validation.
        archive: read this archive or extracted folder instead (any size, no hash check).
    """
    cifar = read_cifar10(archive) if archive is not None else load_cifar10(data_dir)
    return split_train(cifar.train_images, cifar.train_labels, cifar.test_images,
                       cifar.test_labels, valid_size)
