"""The services the cogs use, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from openai import AsyncOpenAI

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.scheduler import Scheduler
from bot.services.challenges import ChallengeService, describe_bank, load_shipped
from bot.services.command_sync import CommandSyncState
from bot.services.guild_settings import GuildSettingsService
from bot.services.portfolio import PortfolioRules, PortfolioService
from bot.services.portfolio.rubric import default_rubric, load_rubric
from bot.services.qa import QAService
from bot.services.qa.documents import load_shipped_documents
from bot.services.scheduled_posts import ScheduledPosts


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    scheduler: Scheduler
    llm: AsyncOpenAI | None
    guild_settings: GuildSettingsService
    scheduled_posts: ScheduledPosts
    command_sync: CommandSyncState
    portfolio: PortfolioService
    challenges: ChallengeService
    qa: QAService


def build_llm_client(settings: Settings) -> AsyncOpenAI | None:
    """The OpenAI-compatible client, or None when no LLM is configured.

    Retries (429, 5xx, timeouts, with back-off) are the client's own: nothing wraps it.
    """
    if not settings.llm_enabled:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return AsyncOpenAI(
        api_key=key,
        base_url=settings.llm_base_url,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )


def build_services(
    settings: Settings, db: Database, clock: Clock, llm: AsyncOpenAI | None = None
) -> Services:
    guild_settings = GuildSettingsService(db, clock)
    scheduled_posts = ScheduledPosts(db, clock)
    challenges = ChallengeService(
        db, clock, settings, guild_settings, scheduled_posts, load_shipped()
    )
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        scheduler=Scheduler(clock, settings.scheduler_interval_seconds),
        llm=llm,
        guild_settings=guild_settings,
        scheduled_posts=scheduled_posts,
        command_sync=CommandSyncState(db, clock),
        portfolio=PortfolioService(
            db, clock, PortfolioRules.from_settings(settings), default_rubric()
        ),
        challenges=challenges,
        qa=QAService(db, clock, settings, llm, open_challenges=challenges),
    )


def validate_content() -> list[str]:
    """Load every shipped content file; return one line per file checked.

    Each capability with content adds its loader here; a broken file raises StartupError.
    """
    documents = load_shipped_documents()
    sections = sum(len(d.sections) for d in documents)
    return [
        load_rubric().summary(),
        describe_bank(load_shipped()),
        f"knowledge base: {len(documents)} documents, {sections} sections",
    ]
