"""Shared fixtures: a real migrated database, a fixed clock, settings and services.

The engine is SQLite (a file per test) unless `TEST_DATABASE=postgres` (a database per test
on a throwaway cluster the session starts, or on `TEST_DATABASE_URL`): see tests/pgcluster.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database, open_database
from bot.wiring import Services, build_services
from tests import pgcluster

pytest_plugins = ["tests.simfixture", "tests.log_guard", "tests.bot_cli"]

# A Monday, mid-morning UTC: a fixed point every test can reason about.
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ENGINE = (
    "postgres"
    if os.environ.get("TEST_DATABASE", "sqlite").lower().startswith("postgres")
    else "sqlite"
)
ON_POSTGRES = ENGINE == "postgres"
_server: pgcluster.TestServer | None = None
_cluster: pgcluster.Cluster | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _server, _cluster
    if not ON_POSTGRES:
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _server = pgcluster.TestServer(url)
        return
    binaries = pgcluster.find_binaries()
    if binaries is None:
        raise pytest.UsageError(pgcluster.INSTALL_HINT)
    _cluster = pgcluster.Cluster(binaries)
    _server = pgcluster.TestServer(_cluster.start())


def pytest_unconfigure(config: pytest.Config) -> None:
    if _cluster is not None:
        _cluster.stop()


def pytest_report_header(config: pytest.Config) -> str:
    if not ON_POSTGRES:
        return "database engine: sqlite (a file per test)"
    if _cluster is not None:
        return (
            f"database engine: postgres (throwaway cluster of {_cluster.binaries}, "
            f"127.0.0.1:{_cluster.port})"
        )
    return "database engine: postgres (TEST_DATABASE_URL)"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str | None]:
    """The test's own migrated PostgreSQL database, or None on SQLite."""
    if _server is None:
        yield None
        return
    url = await _server.create()
    yield url
    await _server.release(url)


@pytest.fixture
async def empty_database_url() -> AsyncIterator[str | None]:
    """An empty PostgreSQL database (for migration tests), or None on SQLite."""
    if _server is None:
        yield None
        return
    url = await _server.create(migrated=False)
    yield url
    await _server.drop(url)


@pytest.fixture
def db_settings(tmp_path: Path, database_url: str | None) -> dict[str, Any]:
    """The settings naming this test's database, to spread into `Settings(...)`."""
    values: dict[str, Any] = {"database_path": tmp_path / "mentor.db"}
    if database_url is not None:
        values["database_url"] = database_url
    return values


@pytest.fixture
def settings(db_settings: dict[str, Any]) -> Settings:
    return Settings(_env_file=None, **db_settings)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await open_database(settings.database_target)
    yield database
    await database.close()


@pytest.fixture
def services(settings: Settings, db: Database, clock: FixedClock) -> Services:
    return build_services(settings, db, clock)


@pytest.fixture
def sqlite_only() -> Iterator[None]:
    """For tests of what only the SQLite engine has (files, backups, the write lock)."""
    if ON_POSTGRES:
        pytest.skip("SQLite only")
    yield
