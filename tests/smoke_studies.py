"""Every shipped study's smoke preset, run once per test session into one results folder and
one storage (the reports' and the browser's tests read them): ``smoke_results``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from studies._runner.registry import study_names
from tests.cifar_archive import write_cifar_archive

REPO = Path(__file__).resolve().parents[1]

FAILING = "synthetic-failing"
EXAMPLE, EXAMPLE_FILE = "chunked_mlp_mnist", "examples/chunked_mlp_mnist.py"  # a user's study


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory, data_dir):
    """Every study's smoke preset run once into one results folder (and one storage), plus
    a synthetic study whose every trial fails and the README's example of a user's study."""
    root = tmp_path_factory.mktemp("report")
    archive = root / "cifar-10-python.tar.gz"
    write_cifar_archive(archive, per_batch=16)
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    extra = {"static_hnet_cifar10": ["--set", f"archive={archive}", "--set", "valid_size=16"],
             FAILING: ["--study-name", FAILING, "--set", "raise_x_above=-2", "--n-trials", "2",
                       "--max-failures", "1"]}
    try:
        for name in [*study_names(), FAILING, EXAMPLE]:
            study = {FAILING: "synthetic", EXAMPLE: EXAMPLE_FILE}.get(name, name)
            done = subprocess.run(
                [sys.executable, "-m", "studies.run", study, "--preset", "smoke", "--quiet",
                 "--results-dir", str(root / "results"), "--ray-cpus", "2", "--data-dir",
                 str(data_dir), *extra.get(name, [])], cwd=REPO, capture_output=True,
                text=True, timeout=400, env={**os.environ, "RAY_TMPDIR": ray_tmp})
            assert done.returncode == (1 if name == FAILING else 0), done.stderr[-2000:]
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    return root / "results"
