"""Shared fixtures: an isolated cache and no network for every test, the real data when found."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own empty cache folder and downloads are off unless it turns them on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("HNET_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _recurrent_steps_eager(monkeypatch: pytest.MonkeyPatch):
    """Recurrent stacks at ``impl="auto"`` run eagerly here: compiling every tiny model the
    tests build would cost minutes. The compiled paths are tested where they are asked for by
    name (tests/hnet_core/models/test_step_impls.py, and one study run with the variable
    unset); ``HNET_RECURRENT_IMPL`` set outside pytest wins."""
    if "HNET_RECURRENT_IMPL" not in os.environ:
        monkeypatch.setenv("HNET_RECURRENT_IMPL", "eager")


def _find_real_data() -> Path | None:
    for candidate in (os.environ.get("HNET_DATA_DIR"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "ptb").is_dir():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets (``$HNET_DATA_DIR`` or ``../shared/data``); CI insists they exist."""
    found = _find_real_data()
    if found is None:
        message = "real datasets not found: set HNET_DATA_DIR (see README, 'Data')"
        if os.environ.get("HNET_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


from tests.chromium import chromium, page  # noqa: E402, F401  (headless Chromium)
from tests.smoke_studies import smoke_results  # noqa: E402, F401  (a session fixture)
