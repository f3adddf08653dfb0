"""Per-server configuration: channels, roles, time zone and posting times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.clock import Clock, to_db_time
from bot.db import Database, from_row
from bot.shards import EVERY_SHARD, ShardScope
from bot.timezones import format_time_of_day, parse_time_of_day, parse_timezone


class ChannelKind(StrEnum):
    CHECKIN = "checkin"
    CHALLENGE = "challenge"
    REVIEW = "review"
    QA = "qa"


class RoleKind(StrEnum):
    MODERATOR = "moderator"
    REVIEWER = "reviewer"


class TimeKind(StrEnum):
    DAILY_CHALLENGE = "daily_challenge"
    DIGEST = "digest"


CHANNEL_LABELS = {
    ChannelKind.CHECKIN: "Check-ins and weekly digest",
    ChannelKind.CHALLENGE: "Challenges",
    ChannelKind.REVIEW: "Portfolio reviews",
    ChannelKind.QA: "Q&A escalations",
}
ROLE_LABELS = {RoleKind.MODERATOR: "Moderator", RoleKind.REVIEWER: "Reviewer"}
TIME_LABELS = {
    TimeKind.DAILY_CHALLENGE: "Daily challenge",
    TimeKind.DIGEST: "Weekly digest (Mondays)",
}


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    checkin_channel_id: int | None = None
    challenge_channel_id: int | None = None
    review_channel_id: int | None = None
    qa_channel_id: int | None = None
    moderator_role_id: int | None = None
    reviewer_role_id: int | None = None
    timezone: str = "UTC"
    daily_challenge_time: str = "09:00"
    digest_time: str = "09:00"

    def channel_id(self, kind: ChannelKind) -> int | None:
        return getattr(self, f"{kind.value}_channel_id")

    def role_id(self, kind: RoleKind) -> int | None:
        return getattr(self, f"{kind.value}_role_id")

    def time_of(self, kind: TimeKind) -> time:
        return parse_time_of_day(getattr(self, f"{kind.value}_time"))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


COLUMNS = (
    "checkin_channel_id, challenge_channel_id, review_channel_id, qa_channel_id, "
    "moderator_role_id, reviewer_role_id, timezone, daily_challenge_time, digest_time"
)


def zone_table(
    name: str, columns: Sequence[str], rows: Sequence[tuple[str, ...]]
) -> tuple[str, tuple[str, ...]]:
    """`WITH name(columns) AS (VALUES ...)` and its parameters: values worked out in Python
    once per time zone (its local day, time, month...), for a query to join the servers with.

    `name` and `columns` are the caller's constants; every value is a text parameter.
    """
    row = "(" + ", ".join(["CAST(? AS TEXT)"] * len(columns)) + ")"
    sql = f"WITH {name}({', '.join(columns)}) AS (VALUES {', '.join([row] * len(rows))}) "
    return sql, tuple(value for values in rows for value in values)


async def zones_in_use(db: Database, shards: ShardScope) -> list[str]:
    """The time zones of the configured servers of `shards`: a handful, however many
    servers there are, so a scheduled job works out each zone's local day once."""
    rows = await db.fetch_all(
        f"SELECT DISTINCT timezone FROM guild_settings WHERE {shards.sql('guild_id')} "
        "ORDER BY timezone"
    )
    return [row[0] for row in rows]


class GuildSettingsService:
    def __init__(self, db: Database, clock: Clock, *, shards: ShardScope = EVERY_SHARD) -> None:
        self.db = db
        self.clock = clock
        self.shards = shards

    async def get(self, guild_id: int) -> GuildSettings:
        """The server's settings; a server never configured gets the defaults."""
        row = await self.db.fetch_one(
            f"SELECT guild_id, {COLUMNS} FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return GuildSettings(guild_id=guild_id) if row is None else from_row(GuildSettings, row)

    async def zones(self) -> list[str]:
        return await zones_in_use(self.db, self.shards)

    async def set_channel(
        self, guild_id: int, kind: ChannelKind, channel_id: int | None
    ) -> GuildSettings:
        return await self._set(guild_id, f"{ChannelKind(kind).value}_channel_id", channel_id)

    async def set_role(self, guild_id: int, kind: RoleKind, role_id: int | None) -> GuildSettings:
        return await self._set(guild_id, f"{RoleKind(kind).value}_role_id", role_id)

    async def set_timezone(self, guild_id: int, name: str) -> GuildSettings:
        return await self._set(guild_id, "timezone", parse_timezone(name).key)

    async def set_time(self, guild_id: int, kind: TimeKind, text: str) -> GuildSettings:
        value = format_time_of_day(parse_time_of_day(text))
        return await self._set(guild_id, f"{TimeKind(kind).value}_time", value)

    async def reset(self, guild_id: int) -> GuildSettings:
        await self.db.execute("DELETE FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return GuildSettings(guild_id=guild_id)

    async def _set(self, guild_id: int, column: str, value: object) -> GuildSettings:
        # `column` comes from the enums above, never from member input.
        now = to_db_time(self.clock.now())
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?) "
                "ON CONFLICT (guild_id) DO NOTHING",
                (guild_id, now),
            )
            await conn.execute(
                f"UPDATE guild_settings SET {column} = ?, updated_at = ? WHERE guild_id = ?",
                (value, now, guild_id),
            )
        return await self.get(guild_id)
