"""CIFAR-10 (Krizhevsky 2009) from its python-pickle archive, ``cifar-10-python.tar.gz``.

The archive holds ``cifar-10-batches-py/data_batch_{1..5}`` and ``test_batch``: pickled dicts
with ``b"data"`` (uint8 ``[10000, 3072]``, channel-major rows) and ``b"labels"``. The pickles are
read with an unpickler that admits only the numpy types those files use, so a tampered archive
cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hnet_core.data._files import CorruptDatasetError, resolve

ARCHIVE = "cifar10/cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


@dataclass(frozen=True)
class CIFAR10:
    """CIFAR-10 arrays: images uint8 ``[N, 3, 32, 32]``, labels int64 ``[N]``."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def _read_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise CorruptDatasetError(f"{where} is not a CIFAR-10 batch ({err})") from err
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise CorruptDatasetError(f"{where} holds data {data.shape}, labels {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise CorruptDatasetError(f"{where} has labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def _member_bytes(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The raw bytes of each batch file, from the archive or an extracted folder."""
    if path.is_dir():
        folder = path / FOLDER if (path / FOLDER).is_dir() else path
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise CorruptDatasetError(f"{folder} lacks CIFAR-10 batches {', '.join(missing)}")
        return {n: (folder / n).read_bytes() for n in names}
    try:
        with tarfile.open(path) as tar:
            out = {}
            for n in names:
                member = tar.extractfile(f"{FOLDER}/{n}")
                if member is None:
                    raise KeyError(n)
                out[n] = member.read()
            return out
    except (tarfile.TarError, KeyError, OSError) as err:
        raise CorruptDatasetError(f"{path} is not a CIFAR-10 python archive ({err})") from err


def read_cifar10(path: str | os.PathLike, *, expected_counts: tuple[int, int] | None = None
                 ) -> CIFAR10:
    """Read CIFAR-10 from ``cifar-10-python.tar.gz`` or the folder it extracts to.

    Args:
        path: the archive, the extracted ``cifar-10-batches-py`` folder, or its parent.
        expected_counts: (train, test) image counts to insist on; the real set has
            (50000, 10000).

    Raises:
        CorruptDatasetError: the archive or a batch is malformed, or the counts differ.
    """
    path = Path(path)
    raw = _member_bytes(path, (*TRAIN_BATCHES, TEST_BATCH))
    train = [_read_batch(raw[n], f"{path}:{n}") for n in TRAIN_BATCHES]
    test_x, test_y = _read_batch(raw[TEST_BATCH], f"{path}:{TEST_BATCH}")
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    counts = (train_x.shape[0], test_x.shape[0])
    if expected_counts is not None and counts != tuple(expected_counts):
        raise CorruptDatasetError(f"{path} holds {counts} train/test images, expected "
                                  f"{tuple(expected_counts)}")
    return CIFAR10(torch.from_numpy(train_x), torch.from_numpy(train_y),
                   torch.from_numpy(test_x), torch.from_numpy(test_y))


def load_cifar10(data_dir: str | os.PathLike | None = None) -> CIFAR10:
    """Find (SHA-256 checked) and read the official archive: 50,000 train and 10,000 test."""
    return read_cifar10(resolve(ARCHIVE, data_dir), expected_counts=(50000, 10000))
