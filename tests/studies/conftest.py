"""Running the real runner in a subprocess: real Ray (2 CPUs, no dashboard), real SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage

from studies._runner.journal import journal_path

REPO = Path(__file__).resolve().parents[2]


class Runner:
    """``python -m studies.run`` with a results folder and Ray temp folder of the test's own."""

    def __init__(self, tmp_path: Path, ray_tmp: str) -> None:
        self.results = tmp_path / "results"
        self.env = dict(os.environ, RAY_TMPDIR=ray_tmp, PYTHONUNBUFFERED="1")
        self.env.pop("RAY_ADDRESS", None)

    def command(self, *args: str, module: str = "studies.run") -> list[str]:
        return [sys.executable, "-m", module, *args, "--results-dir", str(self.results),
                "--quiet", "--ray-cpus", "2"]

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=self.env, cwd=REPO, capture_output=True,
                              text=True, timeout=timeout)

    def confirm(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        """``python -m studies.confirm`` on this runner's results folder."""
        return subprocess.run(self.command(*args, module="studies.confirm"), env=self.env,
                              cwd=REPO, capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=self.env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)

    @property
    def journal_url(self) -> str:
        """The default storage of the runs: the journal in the results folder."""
        return f"journal:///{self.results / 'optuna.journal'}"

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{self.results / 'optuna.db'}"

    def load_study(self, study_name: str, url: str | None = None) -> optuna.Study:
        url = url or self.journal_url
        path = journal_path(url)
        storage = url if path is None else JournalStorage(JournalFileBackend(str(path)))
        return optuna.load_study(study_name=study_name, storage=storage)

    def trials(self, study_name: str) -> pd.DataFrame:
        return pd.read_parquet(self.results / study_name / "trials.parquet")

    def epochs(self, study_name: str) -> pd.DataFrame:
        return pd.read_parquet(self.results / study_name / "epochs.parquet")


@pytest.fixture
def runner(tmp_path: Path):
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    yield Runner(tmp_path, ray_tmp)
    shutil.rmtree(ray_tmp, ignore_errors=True)
