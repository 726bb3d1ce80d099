"""MNIST IDX reading and the continual-learning task sequences built on it."""

from __future__ import annotations

import gzip

import pytest
import torch

from hnet_core.data import CorruptDatasetError, load_mnist, permuted_mnist, split_mnist
from hnet_core.data.mnist import read_idx, task_permutation


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_mnist(data_dir)


def test_counts_shapes_and_label_histogram(mnist):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_images.dtype == torch.uint8
    assert mnist.train_labels.bincount().tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert mnist.test_labels.numel() == 10000


@pytest.mark.parametrize("header,match", [
    ((2049).to_bytes(4, "big") + (2).to_bytes(4, "big"), "magic number 2049"),
    ((2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (3, 2, 2)), "dims"),
])
def test_idx_header_is_checked(tmp_path, header, match):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(header + bytes(8)))
    with pytest.raises(CorruptDatasetError, match=match):
        read_idx(path, 2051, 2)


def test_non_gzip_file_is_a_corrupt_dataset(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"plain bytes")
    with pytest.raises(CorruptDatasetError, match="gzip"):
        read_idx(path, 2051, 2)


def test_permutations_are_deterministic_and_distinct():
    a, b = task_permutation(3, 784, seed=7), task_permutation(3, 784, seed=7)
    assert torch.equal(a, b)
    assert torch.equal(a.sort().values, torch.arange(784))
    assert not torch.equal(a, task_permutation(4, 784, seed=7))
    assert not torch.equal(a, task_permutation(3, 784, seed=8))


def test_permuted_mnist_tasks(mnist):
    tasks = permuted_mnist(3, seed=1, mnist=mnist)
    longer = permuted_mnist(4, seed=1, mnist=mnist)
    assert tasks[0].train.permutation is None
    for k in (1, 2):
        assert torch.equal(tasks[k].train.permutation, longer[k].train.permutation)
        x, y = tasks[k].test[torch.tensor([0, 5])]
        base, base_y = tasks[0].test[torch.tensor([0, 5])]
        assert torch.equal(x, base[:, tasks[k].train.permutation])
        assert torch.equal(y, base_y)
    assert not torch.equal(tasks[1].train.permutation, tasks[2].train.permutation)
    all_permuted = permuted_mnist(2, first_unpermuted=False, mnist=mnist)
    assert all_permuted[0].train.permutation is not None


def test_padding_to_32(mnist):
    task = permuted_mnist(1, pad_to_32=True, mnist=mnist)[0]
    x, _ = task.train[0]
    image = x.view(32, 32)
    assert x.shape == (1024,) and 0.0 <= x.min() and x.max() <= 1.0
    assert image[:2].abs().sum() == 0 and image[:, -2:].abs().sum() == 0
    assert torch.allclose(image[2:30, 2:30], mnist.train_images[0].float() / 255)


def test_split_mnist_membership(mnist):
    tasks = split_mnist(mnist=mnist)
    assert [t.name for t in tasks] == ["split-01", "split-23", "split-45", "split-67", "split-89"]
    assert sum(len(t.train) for t in tasks) == 60000
    assert sum(len(t.test) for t in tasks) == 10000
    assert len(tasks[0].train) == 5923 + 6742
    for task in tasks:
        assert set(task.train.labels.tolist()) == {0, 1}
    raw = split_mnist(relabel=False, mnist=mnist)
    for (a, b), task in zip([(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)], raw, strict=True):
        assert set(task.train.labels.tolist()) == {a, b}
        assert set(task.test.labels.tolist()) == {a, b}


def test_split_mnist_other_digit_groups(mnist):
    """Two 5-way tasks (0-4, 5-9), and groups given out of order: a task's classes are its
    digits in increasing order."""
    low, high = split_mnist(((0, 1, 2, 3, 4), (9, 5, 6, 7, 8)), mnist=mnist)
    assert (low.name, high.name) == ("split-01234", "split-56789")
    assert (low.num_classes, high.num_classes) == (5, 5)
    assert len(low.train) + len(high.train) == 60000
    assert set(high.test.labels.tolist()) == {0, 1, 2, 3, 4}
    digits = mnist.test_labels[torch.isin(mnist.test_labels, torch.tensor([5, 6, 7, 8, 9]))]
    assert torch.equal(high.test.labels, digits - 5)
    (odd,) = split_mnist(((1, 3, 7),), relabel=False, mnist=mnist)
    assert odd.num_classes == 10 and set(odd.train.labels.tolist()) == {1, 3, 7}


@pytest.mark.parametrize("digits,message", [
    (((0,), (1, 2)), "two digits or more each"),
    ((), "two digits or more each"),
    (((0, 1), (1, 2)), "each in one task only"),
    (((0, 10),), "must be 0-9"),
])
def test_split_mnist_refuses_bad_digit_groups(digits, message):
    with pytest.raises(ValueError, match=message):
        split_mnist(digits, mnist=None, data_dir="/nonexistent")


def test_batches_visit_every_example_once(mnist):
    task = split_mnist(mnist=mnist)[4]
    seen = 0
    for x, y in task.test.batches(512, shuffle=True, generator=torch.Generator().manual_seed(0)):
        assert x.shape[1] == 784 and x.shape[0] == y.shape[0] <= 512
        seen += y.numel()
    assert seen == len(task.test)
