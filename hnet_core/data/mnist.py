"""MNIST from the original IDX files, and the continual-learning benchmarks built on it.

- :func:`load_mnist`: the four ``*-idx?-ubyte.gz`` files, magic numbers and counts checked.
- :func:`permuted_mnist`: PermutedMNIST-K (Goodfellow et al. 2013; von Oswald et al. 2020,
  sec. 4.2): task ``k`` applies one fixed random pixel permutation to every image; the first task
  may be left unpermuted, and images may be zero-padded to 32x32 as the hypercl code does.
- :func:`split_mnist`: SplitMNIST (Zenke et al. 2017): 5 binary tasks, digits 0/1, 2/3, 4/5,
  6/7, 8/9 (other groupings of the digits on request, e.g. 0-4 / 5-9).

Images come as float32 in [0, 1], flattened to ``[N, D]`` (D = 784, or 1024 when padded).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from hnet_core.data._files import CorruptDatasetError, resolve_all

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
SPLIT_MNIST_DIGITS = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
_FILES = {
    "train_images": ("mnist/train-images-idx3-ubyte.gz", IMAGE_MAGIC, 60000),
    "train_labels": ("mnist/train-labels-idx1-ubyte.gz", LABEL_MAGIC, 60000),
    "test_images": ("mnist/t10k-images-idx3-ubyte.gz", IMAGE_MAGIC, 10000),
    "test_labels": ("mnist/t10k-labels-idx1-ubyte.gz", LABEL_MAGIC, 10000),
}
#: The MNIST files under the data folder, as ``resolve_all`` takes them.
MNIST_FILES = tuple(path for path, _, _ in _FILES.values())


def read_idx(path: Path, magic: int, count: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes.

    Args:
        path: the ``.gz`` file.
        magic: 2051 for images (3 dimensions), 2049 for labels (1 dimension).
        count: the number of items the first dimension must hold.

    Returns:
        A uint8 array of shape ``[count, ...]``.

    Raises:
        CorruptDatasetError: the file is not gzip, or its magic number, dimensions or size are
            not the expected ones.
    """
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise CorruptDatasetError(f"{path} is not a readable gzip file ({err})") from err
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        raise CorruptDatasetError(f"{path} has IDX magic number {found_magic}, expected {magic}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if dims[0] != count or len(raw) != header + int(np.prod(dims)):
        raise CorruptDatasetError(f"{path} holds dims {dims} in {len(raw)} bytes, expected "
                                  f"{count} items")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


@dataclass(frozen=True)
class MNIST:
    """The MNIST arrays: images uint8 ``[N, 28, 28]``, labels int64 ``[N]``."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_mnist(data_dir: str | os.PathLike | None = None) -> MNIST:
    """Load MNIST (60,000 train and 10,000 test images) from the IDX ``.gz`` files."""
    paths = resolve_all([relpath for relpath, _, _ in _FILES.values()], data_dir)
    arrays = {}
    for (key, (_, magic, count)), path in zip(_FILES.items(), paths, strict=True):
        array = torch.from_numpy(read_idx(path, magic, count).copy())
        arrays[key] = array if magic == IMAGE_MAGIC else array.long()
    return MNIST(**arrays)


class TaskSplit(Dataset):
    """One split of one task: flattened images, labels and an optional pixel permutation.

    Indexing with an int gives one ``(x [D], y)`` pair; with a list or tensor of indices, a batch
    ``(x [n, D], y [n])``, which is what :meth:`batches` uses (one gather per batch). The
    permutation is applied on read, so K permuted tasks share one copy of the images.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor,
                 permutation: torch.Tensor | None = None) -> None:
        self.images = images
        self.labels = labels
        self.permutation = permutation

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index):
        x = self.images[index]
        if self.permutation is not None:
            x = x[..., self.permutation]
        return x, self.labels[index]

    def batches(self, batch_size: int, *, shuffle: bool = False,
                generator: torch.Generator | None = None) -> DataLoader:
        """A DataLoader of ``(x, y)`` batches, shuffled with ``generator`` if asked."""
        order = RandomSampler(self, generator=generator) if shuffle else SequentialSampler(self)
        sampler = BatchSampler(order, batch_size, drop_last=False)
        return DataLoader(self, sampler=sampler, batch_size=None)


@dataclass(frozen=True)
class Task:
    """A continual-learning task: its name, train and test splits and number of classes."""

    name: str
    train: TaskSplit
    test: TaskSplit
    num_classes: int


def _flat_images(images: torch.Tensor, pad_to_32: bool) -> torch.Tensor:
    x = images.float().div_(255.0)
    if pad_to_32:
        x = torch.nn.functional.pad(x, (2, 2, 2, 2))
    return x.flatten(1)


def task_permutation(task: int, num_pixels: int, seed: int) -> torch.Tensor:
    """The pixel permutation of PermutedMNIST task ``task``: a function of (seed, task) only."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + task)
    return torch.randperm(num_pixels, generator=generator)


def permuted_mnist(num_tasks: int, *, seed: int = 0, first_unpermuted: bool = True,
                   pad_to_32: bool = False, data_dir: str | os.PathLike | None = None,
                   mnist: MNIST | None = None) -> list[Task]:
    """PermutedMNIST-K: ``num_tasks`` 10-way tasks, each a fixed pixel permutation of MNIST.

    Args:
        num_tasks: K.
        seed: permutation seed; task ``k``'s permutation depends only on ``(seed, k)``, so the
            first tasks of a longer sequence are the same tasks.
        first_unpermuted: task 0 is plain MNIST.
        pad_to_32: zero-pad 28x28 to 32x32 (D = 1024) before permuting, as the hypercl code does.
        data_dir: a data root searched first.
        mnist: already loaded arrays (skips loading).
    """
    if num_tasks < 1:
        raise ValueError(f"num_tasks must be >= 1, got {num_tasks}")
    mnist = mnist or load_mnist(data_dir)
    train_x = _flat_images(mnist.train_images, pad_to_32)
    test_x = _flat_images(mnist.test_images, pad_to_32)
    tasks = []
    for k in range(num_tasks):
        plain = k == 0 and first_unpermuted
        perm = None if plain else task_permutation(k, train_x.shape[1], seed)
        tasks.append(Task(f"pmnist-{k}", TaskSplit(train_x, mnist.train_labels, perm),
                          TaskSplit(test_x, mnist.test_labels, perm), num_classes=10))
    return tasks


def _digit_subset(images: torch.Tensor, labels: torch.Tensor, digits: tuple[int, ...],
                  relabel: bool) -> TaskSplit:
    keep = torch.isin(labels, torch.tensor(digits))
    y = labels[keep]
    if relabel:
        y = torch.searchsorted(torch.tensor(digits), y)
    return TaskSplit(images[keep], y)


def check_digit_groups(digits: Sequence[Sequence[int]]) -> None:
    """ValueError unless ``digits`` are groups of at least two of the digits 0-9, none of them
    in two groups."""
    flat = [d for group in digits for d in group]
    if not digits or any(len(group) < 2 for group in digits):
        raise ValueError(f"SplitMNIST tasks need two digits or more each, got {digits}")
    if any(not 0 <= d <= 9 for d in flat) or len(set(flat)) != len(flat):
        raise ValueError(f"SplitMNIST digits must be 0-9, each in one task only, got {digits}")


def split_mnist(digits: Sequence[Sequence[int]] = SPLIT_MNIST_DIGITS, *, relabel: bool = True,
                data_dir: str | os.PathLike | None = None,
                mnist: MNIST | None = None) -> list[Task]:
    """SplitMNIST: by default 5 tasks of two digits each (0/1, 2/3, 4/5, 6/7, 8/9).

    Args:
        digits: the digits of each task, in task order (e.g. ``((0, 1, 2, 3, 4), (5, 6, 7, 8,
            9))``); a task's classes are its digits in increasing order.
        relabel: labels within a task become 0 .. len(digits) - 1 (task-incremental heads);
            otherwise the digits themselves are kept.
        data_dir: a data root searched first.
        mnist: already loaded arrays (skips loading).

    Raises:
        ValueError: a task of fewer than two digits, a digit outside 0-9 or in two tasks.
    """
    check_digit_groups(digits)
    mnist = mnist or load_mnist(data_dir)
    train_x = _flat_images(mnist.train_images, False)
    test_x = _flat_images(mnist.test_images, False)
    groups = [tuple(sorted(group)) for group in digits]
    return [
        Task("split-" + "".join(map(str, group)),
             _digit_subset(train_x, mnist.train_labels, group, relabel),
             _digit_subset(test_x, mnist.test_labels, group, relabel),
             num_classes=len(group) if relabel else 10)
        for group in groups
    ]
