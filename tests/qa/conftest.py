"""Q&A fixtures: the fake OpenAI-compatible server, a real openai client, the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from openai import AsyncOpenAI

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database
from bot.services.contracts import MemberContext, OpenChallenge
from bot.services.qa import QAService
from bot.wiring import build_llm_client, build_text_search
from tests.qa.fake_llm import FakeLLM

GUILD = 1001
OTHER_GUILD = 2002
ALICE = 11
BOB = 12
CHANNEL = 500


@dataclass
class FakeRoadmap:
    """Stands in for the roadmap service's `member_context`."""

    contexts: dict[int, MemberContext] = field(default_factory=dict)

    async def member_context(self, guild_id: int, user_id: int) -> MemberContext | None:
        return self.contexts.get(user_id)


@dataclass
class FakeChallenges:
    """Stands in for the challenges service's `open_challenges`."""

    open: list[OpenChallenge] = field(default_factory=list)

    async def open_challenges(self, guild_id: int) -> list[OpenChallenge]:
        return list(self.open)


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLM]:
    server = FakeLLM()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def llm_settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return settings.model_copy(
        update={
            "llm_base_url": fake_llm.base_url,
            "llm_max_retries": 0,
            "llm_timeout_seconds": 2.0,
        }
    )


@pytest.fixture
async def llm_client(llm_settings: Settings) -> AsyncIterator[AsyncOpenAI]:
    client = build_llm_client(llm_settings)
    assert client is not None
    yield client
    await client.close()


@pytest.fixture
def roadmap() -> FakeRoadmap:
    return FakeRoadmap()


@pytest.fixture
def challenges() -> FakeChallenges:
    return FakeChallenges()


@pytest.fixture
async def qa(settings: Settings, db: Database, clock: FixedClock) -> QAService:
    """The service with no LLM configured: the default of a fresh install."""
    service = QAService(db, clock, settings, search=build_text_search(db))
    await service.kb.sync_shipped()
    return service


@pytest.fixture
async def qa_llm(
    llm_settings: Settings,
    db: Database,
    clock: FixedClock,
    llm_client: AsyncOpenAI,
    roadmap: FakeRoadmap,
    challenges: FakeChallenges,
) -> QAService:
    service = QAService(
        db,
        clock,
        llm_settings,
        llm_client,
        search=build_text_search(db),
        member_context=roadmap,
        open_challenges=challenges,
    )
    await service.kb.sync_shipped()
    return service
