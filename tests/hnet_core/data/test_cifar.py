"""CIFAR-10 from a small archive in the official format, written by the test."""

from __future__ import annotations

import pickle
import tarfile

import pytest
import torch

from hnet_core.data import CorruptDatasetError, MissingDatasetError, load_cifar10, read_cifar10
from hnet_core.data.cifar import TEST_BATCH, TRAIN_BATCHES
from tests.cifar_archive import write_cifar_archive


def test_reads_archive_and_folder_alike(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    members = write_cifar_archive(archive)
    data = read_cifar10(archive, expected_counts=(20, 4))
    assert data.train_images.shape == (20, 3, 32, 32) and data.train_images.dtype == torch.uint8
    first = pickle.loads(members[TRAIN_BATCHES[0]])
    assert torch.equal(data.train_images[0].flatten(), torch.from_numpy(first[b"data"][0]))
    assert data.train_labels[:4].tolist() == first[b"labels"]
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    again = read_cifar10(tmp_path / "x")
    assert torch.equal(again.test_images, data.test_images)


def test_counts_and_format_are_checked(tmp_path):
    archive = tmp_path / "a.tar.gz"
    write_cifar_archive(archive)
    with pytest.raises(CorruptDatasetError, match="expected"):
        read_cifar10(archive, expected_counts=(50000, 10000))
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    with pytest.raises(CorruptDatasetError, match="not a CIFAR-10 python archive"):
        read_cifar10(tmp_path / "junk.tar.gz")


def test_pickles_cannot_run_code(tmp_path):
    evil = pickle.dumps({b"data": print, b"labels": []})
    archive = tmp_path / "a.tar.gz"
    write_cifar_archive(archive, extra={TEST_BATCH: evil})
    with pytest.raises(CorruptDatasetError, match="not allowed"):
        read_cifar10(archive)


def test_missing_official_archive(tmp_path, monkeypatch):
    monkeypatch.delenv("HNET_DATA_DIR", raising=False)
    with pytest.raises(MissingDatasetError, match="cifar10/cifar-10-python.tar.gz"):
        load_cifar10(tmp_path)
