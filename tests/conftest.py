"""Shared fixtures: a real migrated SQLite file, a fixed clock, settings and services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database, open_database
from bot.wiring import Services, build_services

pytest_plugins = ["tests.simfixture", "tests.log_guard"]

# A Monday, mid-morning UTC: a fixed point every test can reason about.
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_path=tmp_path / "mentor.db")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await open_database(settings.database_path)
    yield database
    await database.close()


@pytest.fixture
def services(settings: Settings, db: Database, clock: FixedClock) -> Services:
    return build_services(settings, db, clock)
