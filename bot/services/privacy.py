"""Privacy: a member's export and erasure across every capability, and data retention.

The service does not know the capabilities. It finds every `MemberDataSource` among the
services at the moment it is asked, so a new capability joins exports and erasure by
implementing the protocol and becoming a field of `Services`, without a change here.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_db_time, to_db_time
from bot.config import Settings
from bot.db import Database
from bot.errors import DomainError
from bot.services.contracts import LogRetention, MemberDataSource
from bot.services.scheduled_posts import ScheduledPosts

log = logging.getLogger(__name__)

EXPORT_NOTE = (
    "Everything Mentor stores about you, in every server it shares with you. "
    "Each section is one part of the bot. See the README section "
    "'What Mentor stores and why' for what each part keeps and for how long."
)


QA_PURGE_EVERY = timedelta(hours=1)

# Core tables keyed by guild_id that no MemberDataSource owns (names fixed here, not input).
CORE_GUILD_TABLES = ("guild_settings", "scheduled_posts", "known_guilds")


def member_data_sources(services: object) -> list[MemberDataSource]:
    """Every `MemberDataSource` among the attributes of `services`, in field order, once each.

    Two sources may not share a `privacy_section`: their exports would overwrite each other.
    """
    found: list[MemberDataSource] = []
    sections: dict[str, str] = {}
    for name, value in vars(services).items():
        if not isinstance(value, MemberDataSource) or any(value is f for f in found):
            continue
        section = value.privacy_section
        if section in sections:
            raise ValueError(
                f"services.{name} and services.{sections[section]} both use the privacy "
                f"section {section!r}; each MemberDataSource needs its own."
            )
        sections[section] = name
        found.append(value)
    return found


@dataclass(frozen=True)
class MemberExport:
    user_id: int
    generated_at: datetime
    sections: dict[str, dict[str, Any]]

    @property
    def is_empty(self) -> bool:
        """True when no section holds anything (only empty lists, dicts, zeros or None)."""
        return not any(value for section in self.sections.values() for value in section.values())

    def to_json(self) -> bytes:
        document = {
            "about": EXPORT_NOTE,
            # A string: Discord ids do not fit the doubles JavaScript reads numbers into.
            "user_id": str(self.user_id),
            "generated_at": self.generated_at.isoformat(),
            "sections": self.sections,
        }
        return json.dumps(document, indent=2, ensure_ascii=False, default=str).encode()


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    compressed: bool


@dataclass(frozen=True)
class DeletionReport:
    user_id: int
    rows_by_section: dict[str, int]
    failed_sections: tuple[str, ...]

    @property
    def rows(self) -> int:
        return sum(self.rows_by_section.values())


@dataclass(frozen=True)
class GuildPurge:
    guild_id: int
    rows: int
    failed_sections: tuple[str, ...]


class PrivacyService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        services: Callable[[], object],
        posts: ScheduledPosts,
    ) -> None:
        self.db = db
        self.posts = posts
        self.clock = clock
        self.settings = settings
        self._services = services
        self._member_locks: dict[int, asyncio.Lock] = {}
        self._last_qa_purge: datetime | None = None

    def sources(self) -> list[MemberDataSource]:
        return member_data_sources(self._services())

    # --- A member's own data ----------------------------------------------------------

    async def export_member(self, user_id: int) -> MemberExport:
        sections = {}
        for source in self.sources():
            sections[source.privacy_section] = await source.export_member(user_id)
        return MemberExport(user_id, self.clock.now(), sections)

    async def export_file(self, user_id: int) -> ExportFile:
        """The export as an attachment within PRIVACY_EXPORT_MAX_BYTES, gzipped if needed."""
        export = await self.export_member(user_id)
        # Megabytes of JSON and gzip would hold up every other member's interactions.
        data = await asyncio.to_thread(export.to_json)
        name = f"mentor-data-{user_id}-{export.generated_at:%Y%m%d}.json"
        limit = self.settings.privacy_export_max_bytes
        if len(data) <= limit:
            return ExportFile(name, data, compressed=False)
        packed = await asyncio.to_thread(gzip.compress, data, mtime=0)
        if len(packed) <= limit:
            return ExportFile(f"{name}.gz", packed, compressed=True)
        raise DomainError(
            f"Your data export is {len(packed) / 1_000_000:.1f} MB even compressed, more than "
            "Discord lets me attach. Ask a server admin to run "
            f"`python -m bot export-member {user_id}` and send it to you."
        )

    async def delete_member(self, user_id: int) -> DeletionReport:
        """Erase the member everywhere. Safe to repeat: a second run finds nothing left.

        One source failing does not stop the others; it is named in the report, and the
        member can run the erasure again.
        """
        lock = self._member_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            rows: dict[str, int] = {}
            failed: list[str] = []
            for source in self.sources():
                try:
                    rows[source.privacy_section] = await source.delete_member(user_id)
                except Exception:
                    log.exception("Erasing user %s from %s failed", user_id, source.privacy_section)
                    failed.append(source.privacy_section)
        self._member_locks.pop(user_id, None)
        report = DeletionReport(user_id, rows, tuple(failed))
        log.info(
            "Erased a member's data: %d rows%s",
            report.rows,
            f", failed in {', '.join(failed)}" if failed else "",
        )
        return report

    # --- Servers the bot left --------------------------------------------------------

    async def guild_left(self, guild_id: int) -> None:
        """Start the grace period of a server that removed the bot (the first time counts)."""
        await self.db.execute(
            "INSERT INTO guild_departures (guild_id, left_at) VALUES (?, ?) "
            "ON CONFLICT (guild_id) DO NOTHING",
            (guild_id, to_db_time(self.clock.now())),
        )

    async def guild_present(self, guild_ids: list[int]) -> list[int]:
        """The bot is in these servers: remember them and cancel their pending erasure;
        return those cancelled."""
        rows = await self.db.fetch_all("SELECT guild_id FROM guild_departures")
        departed = {row["guild_id"] for row in rows}
        back = sorted(departed.intersection(guild_ids))
        now = to_db_time(self.clock.now())
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO known_guilds (guild_id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET seen_at = excluded.seen_at",
                [(g, now) for g in guild_ids],
            )
            if back:
                await conn.executemany(
                    "DELETE FROM guild_departures WHERE guild_id = ?", [(g,) for g in back]
                )
        if back:
            log.info("Cancelled the pending erasure of %d server(s) the bot is back in", len(back))
        return back

    async def reconcile_guilds(
        self, present: list[int], owned: Callable[[int], bool] = lambda _: True
    ) -> list[int]:
        """At start-up: the bot is in `present`. A known server missing from it (and `owned`:
        on this process's shards) removed the bot while it was offline, so its grace period
        starts now, as for a live removal. Returns those servers."""
        rows = await self.db.fetch_all("SELECT guild_id FROM known_guilds")
        here = set(present)
        gone = sorted(row["guild_id"] for row in rows if row["guild_id"] not in here)
        gone = [guild_id for guild_id in gone if owned(guild_id)]
        for guild_id in gone:
            await self.guild_left(guild_id)
        if gone:
            log.info(
                "%d server(s) removed the bot while it was offline; their data is erased in "
                "%d day(s) unless Mentor is added back",
                len(gone),
                self.settings.guild_data_grace_days,
            )
        await self.guild_present(present)
        return gone

    async def departed_at(self, guild_id: int) -> datetime | None:
        text = await self.db.fetch_value(
            "SELECT left_at FROM guild_departures WHERE guild_id = ?", (guild_id,)
        )
        return None if text is None else from_db_time(text)

    async def purge_departed_guilds(self, now: datetime) -> list[GuildPurge]:
        """Erase every server whose grace period has ended."""
        cutoff = now - timedelta(days=self.settings.guild_data_grace_days)
        rows = await self.db.fetch_all(
            "SELECT guild_id FROM guild_departures WHERE left_at <= ? ORDER BY left_at",
            (to_db_time(cutoff),),
        )
        return [await self.purge_guild(row["guild_id"]) for row in rows]

    async def purge_guild(self, guild_id: int) -> GuildPurge:
        """Erase one server's data in every source, then its settings and post keys.

        The departure row goes last, so an interrupted purge is finished by the next tick.
        """
        total = 0
        failed: list[str] = []
        for source in self.sources():
            try:
                total += await source.delete_guild(guild_id)
            except Exception:
                log.exception("Erasing server %s from %s failed", guild_id, source.privacy_section)
                failed.append(source.privacy_section)
        if failed:
            return GuildPurge(guild_id, total, tuple(failed))
        async with self.db.transaction() as conn:
            for table in CORE_GUILD_TABLES:
                changed = await conn.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
                total += changed
            await conn.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,))
        log.info("Erased the data of server %s after its grace period (%d rows)", guild_id, total)
        return GuildPurge(guild_id, total, ())

    # --- Retention ----------------------------------------------------------------------

    async def purge_qa_logs(self, now: datetime) -> int | None:
        """Drop Q&A logs older than QA_LOG_RETENTION_DAYS, and the keys of posts to members
        past their time, at most once per QA_PURGE_EVERY.

        None when it did not run (no service keeps such logs, or it ran recently); else the
        rows removed.
        """
        logs = [v for v in vars(self._services()).values() if isinstance(v, LogRetention)]
        if not logs:
            return None
        if self._last_qa_purge is not None and now - self._last_qa_purge < QA_PURGE_EVERY:
            return None
        await self.posts.expire_member_keys(now)
        cutoff = now - timedelta(days=self.settings.qa_log_retention_days)
        removed = sum([await log_source.purge_older_than(cutoff) for log_source in logs])
        self._last_qa_purge = now
        if removed:
            log.info("Purged %d Q&A log entries past their retention period", removed)
        return removed
