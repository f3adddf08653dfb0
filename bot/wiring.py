"""The services the cogs use, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database, open_database
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.services.backups import BackupService
from bot.services.bot_state import BotState
from bot.services.challenges import ChallengeService, describe_bank, load_shipped
from bot.services.cluster import ClusterService
from bot.services.command_sync import CommandSyncState
from bot.services.guild_settings import GuildSettingsService
from bot.services.member_posts import MemberPosts
from bot.services.portfolio import PortfolioRules, PortfolioService
from bot.services.portfolio.rubric import default_rubric, load_rubric
from bot.services.privacy import PrivacyService
from bot.services.qa import QAService
from bot.services.qa.documents import load_shipped_documents
from bot.services.qa.fts import Fts5Search
from bot.services.qa.retrieval import TextSearch
from bot.services.qa.tsvector import TsvectorSearch
from bot.services.qa.vocabulary import load_vocabulary
from bot.services.roadmap import RoadmapService
from bot.services.roadmap.content import load_builtin
from bot.services.scheduled_posts import ScheduledPosts
from bot.shutdown import interactions_in_flight

# The cluster-wide lock whose holder runs the work that is not per server (bot/scheduler.py).
GLOBAL_WORK = "global-work"

if TYPE_CHECKING:
    from openai import AsyncOpenAI


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
    metrics: Metrics
    bot_state: BotState
    cluster: ClusterService
    backups: BackupService
    privacy: PrivacyService
    roadmap: RoadmapService
    member_posts: MemberPosts


def build_llm_client(settings: Settings) -> AsyncOpenAI | None:
    """The OpenAI-compatible client, or None when no LLM is configured.

    Retries (429, 5xx, timeouts, with back-off) are the client's own: nothing wraps it.
    """
    if not settings.llm_enabled:
        return None
    from openai import AsyncOpenAI  # imported here: it costs a second of start-up without an LLM

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return AsyncOpenAI(
        api_key=key,
        base_url=settings.llm_base_url,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )


async def open_configured_database(settings: Settings) -> Database:
    """The database DATABASE_URL (or DATABASE_PATH) names, open and migrated."""
    return await open_database(
        settings.database_target,
        settings.database_synchronous,
        pool_size=settings.database_pool_size,
    )


def build_text_search(db: Database) -> TextSearch:
    """The knowledge base's full-text search, in the engine's own index: FTS5 on SQLite
    (written by the knowledge base), a generated tsvector with a GIN index on PostgreSQL."""
    return TsvectorSearch(db) if db.engine == "postgres" else Fts5Search(db)


def build_services(
    settings: Settings, db: Database, clock: Clock, llm: AsyncOpenAI | None = None
) -> Services:
    shards = settings.shard_scope  # scheduled work picks these shards' servers only
    guild_settings = GuildSettingsService(db, clock, shards=shards)
    scheduled_posts = ScheduledPosts(db, clock, shards=shards)
    scheduler = Scheduler(
        clock, settings.scheduler_interval_seconds, global_work=lambda: db.hold(GLOBAL_WORK)
    )
    metrics = Metrics()
    metrics.watch(
        database_path=settings.database_path if settings.on_sqlite else None,
        scheduler_lag_seconds=scheduler.lag_seconds,
        scheduler_tick_seconds=lambda: scheduler.last_tick_seconds if scheduler.last_tick else None,
        scheduler_job_failures=lambda: dict(scheduler.failures),
        interactions_in_flight=interactions_in_flight,
    )
    roadmap = RoadmapService(settings, db, clock, scheduled_posts)
    challenges = ChallengeService(
        db,
        clock,
        settings,
        guild_settings,
        scheduled_posts,
        load_shipped(),
        member_context=roadmap,
    )
    services: Services
    services = Services(
        settings=settings,
        db=db,
        clock=clock,
        scheduler=scheduler,
        llm=llm,
        guild_settings=guild_settings,
        scheduled_posts=scheduled_posts,
        command_sync=CommandSyncState(db, clock),
        portfolio=PortfolioService(
            db, clock, PortfolioRules.from_settings(settings), default_rubric(), shards=shards
        ),
        challenges=challenges,
        qa=QAService(
            db,
            clock,
            settings,
            llm,
            search=build_text_search(db),
            open_challenges=challenges,
            member_context=roadmap,
            metrics=metrics,
        ),
        metrics=metrics,
        bot_state=BotState(db, clock, shards),
        cluster=ClusterService(
            db, clock, settings, holds_global_work=lambda: bool(scheduler.holds_global_work)
        ),
        backups=BackupService(
            settings, clock, metrics, settings.database_path if settings.on_sqlite else None
        ),
        # Looks its MemberDataSources up among these services each time it is asked.
        privacy=PrivacyService(db, clock, settings, lambda: services, scheduled_posts),
        roadmap=roadmap,
        member_posts=MemberPosts(db, clock),
    )
    return services


def validate_content() -> list[str]:
    """Load every shipped content file; return one line per file checked.

    Each capability with content adds its loader here; a broken file raises StartupError.
    """
    documents = load_shipped_documents()
    sections = sum(len(d.sections) for d in documents)
    vocabulary = load_vocabulary()
    return [
        load_rubric().summary(),
        describe_bank(load_shipped()),
        f"knowledge base: {len(documents)} documents, {sections} sections",
        f"search vocabulary: {len(vocabulary.synonyms)} synonym groups, "
        f"{len(vocabulary.phases)} roadmap phases",
        f"roadmap: {load_builtin().summary()}",
    ]
