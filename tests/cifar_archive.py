"""A CIFAR-10 archive in the official python format with random content, for tests (the real
set is not among the shared datasets)."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from hnet_core.data.cifar import FOLDER, TEST_BATCH, TRAIN_BATCHES


def _batch(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return pickle.dumps({b"batch_label": b"x",
                         b"labels": rng.integers(0, 10, n).tolist(),
                         b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)})


def write_cifar_archive(path: Path, per_batch: int = 4, extra: dict | None = None
                        ) -> dict[str, bytes]:
    """Write ``cifar-10-python.tar.gz`` in the official layout with random images and labels:
    ``per_batch`` images in each of the five train batches and the test batch; ``extra``
    members replace or add batch files. Returns the members' raw bytes."""
    members = {name: _batch(per_batch, i) for i, name in enumerate((*TRAIN_BATCHES, TEST_BATCH))}
    members.update(extra or {})
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"{FOLDER}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return members
