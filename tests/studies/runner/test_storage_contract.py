"""Optuna's own storage contract suite against every storage the runner opens: the journal
(with its flock and WAITING index), SQLite in WAL mode with heartbeats, and PostgreSQL where a
server is there (``.ci/run`` starts one; HNET_REQUIRE_SERVERS=1 makes its absence a failure)."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy
from optuna.testing.pytest_storages import StorageTestCase

from studies._runner.storage import open_storage


def _postgres_url() -> str:
    url = os.environ.get("HNET_TEST_POSTGRES_URL")
    if not url:
        message = "HNET_TEST_POSTGRES_URL is not set (.ci/run starts the server and sets it)"
        if os.environ.get("HNET_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


def _fresh_postgres_database(url: str):
    """A new empty database on the server (each test of the suite expects an empty storage);
    returns its URL and a function that drops it."""
    name = f"contract_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    fresh = sqlalchemy.engine.make_url(url).set(database=name).render_as_string(
        hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()

    return fresh, drop


@pytest.fixture(params=["journal", "sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "journal":
        yield open_storage(f"journal:///{tmp_path / 'optuna.journal'}")
        return
    if request.param == "sqlite":
        opened = open_storage(f"sqlite:///{tmp_path / 'optuna.db'}")
        yield opened
        opened.engine.dispose()
        return
    url, drop = _fresh_postgres_database(_postgres_url())
    opened = open_storage(url)
    try:
        yield opened
    finally:
        opened.engine.dispose()
        drop()


class TestRunnerStorages(StorageTestCase):
    """Every test of ``optuna.testing.pytest_storages.StorageTestCase``, on each storage."""
