"""The weekly digest: which servers are due one, and what last week looked like.

A server is due once its Monday digest time (its own time zone) has passed and the post for
the week just ended is open (never claimed, or given back after a failure and due a retry).
After downtime only the latest week is posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, to_db_time
from bot.db import Database
from bot.services.guild_settings import zone_table, zones_in_use
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.dates import monday, week_key
from bot.services.scheduled_posts import ScheduledPosts
from bot.shards import EVERY_SHARD, ShardScope
from bot.timezones import format_time_of_day, local_midnight

DIGEST_KIND = "roadmap:digest"
TOP_STREAKS = 5
PHASE_ENTRIES_SHOWN = 10


@dataclass(frozen=True)
class DigestDue:
    guild_id: int
    channel_id: int
    week_start: date

    @property
    def period(self) -> str:
        return week_key(self.week_start)


@dataclass(frozen=True)
class Digest:
    guild_id: int
    week_start: date
    checkins: int
    members_active: int
    minutes: int
    milestones: int
    top_streaks: tuple[tuple[int, int], ...]  # (user_id, streak)
    phase_entries: tuple[tuple[int, str], ...]  # (user_id, phase name)
    phase_entries_total: int
    per_day: tuple[int, ...]  # check-ins Monday..Sunday
    enrolled: int

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


class DigestService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: RoadmapCatalog,
        posts: ScheduledPosts,
        *,
        shards: ShardScope = EVERY_SHARD,
    ) -> None:
        self.db = db
        self.clock = clock
        self.shards = shards  # `due` picks this process's servers only
        self.catalog = catalog
        self.posts = posts

    async def due(self, now: datetime) -> list[DigestDue]:
        """Servers due last week's digest, found in SQL from each time zone's week (two
        queries however many servers: a tick must not walk every server)."""
        zones = await zones_in_use(self.db, self.shards)
        if not zones:
            return []
        weeks = []
        for name in zones:
            zone = ZoneInfo(name)
            local = now.astimezone(zone)
            this_monday = monday(local.date())
            weeks.append(
                (
                    name,
                    "1" if local.date() > this_monday else "0",  # past Monday: any time is
                    format_time_of_day(local.time()),
                    to_db_time(local_midnight(this_monday, zone)),
                    (this_monday - timedelta(7)).isoformat(),
                    week_key(this_monday - timedelta(7)),
                )
            )
        table, values = zone_table(
            "week", ("timezone", "past_monday", "at", "began", "last_start", "last_key"), weeks
        )
        unheld, held_values = self.posts.unheld_sql("g.guild_id", DIGEST_KIND, "week.last_key")
        rows = await self.db.fetch_all(
            f"{table}SELECT g.guild_id, g.checkin_channel_id, week.last_start"
            " FROM guild_settings g JOIN week ON week.timezone = g.timezone"
            " WHERE g.checkin_channel_id IS NOT NULL"
            " AND (week.past_monday = '1' OR g.digest_time <= week.at)"
            # Somebody was on the roadmap during the week the digest would summarise.
            " AND EXISTS (SELECT 1 FROM roadmap_members m WHERE m.guild_id = g.guild_id"
            " AND m.enrolled_at < week.began)"
            f" AND {self.shards.sql('g.guild_id')} AND {unheld} ORDER BY g.guild_id",
            (*values, *held_values),
        )
        return [DigestDue(row[0], row[1], date.fromisoformat(row[2])) for row in rows]

    async def build(self, guild_id: int, week_start: date) -> Digest:
        roadmap = await self.catalog.get(guild_id)
        period = week_key(week_start)
        week_end = week_start + timedelta(days=6)
        totals = await self.db.fetch_one(
            "SELECT coalesce(sum(checkins), 0), count(*) FILTER (WHERE days > 0), "
            "coalesce(sum(minutes), 0), coalesce(sum(milestones), 0) "
            "FROM roadmap_period_stats WHERE guild_id = ? AND period = ?",
            (guild_id, period),
        )
        streaks = await self.db.fetch_all(
            "SELECT user_id, streak_max FROM roadmap_period_stats WHERE guild_id = ? "
            "AND period = ? AND streak_max > 0 ORDER BY streak_max DESC, user_id LIMIT ?",
            (guild_id, period, TOP_STREAKS),
        )
        entries = await self.db.fetch_all(
            "SELECT user_id, phase FROM roadmap_phase_entries WHERE guild_id = ? "
            "AND entered_on BETWEEN ? AND ? ORDER BY phase DESC, entered_on, user_id",
            (guild_id, week_start.isoformat(), week_end.isoformat()),
        )
        # One index range per member: no index on (server, day) to slow every check-in
        # down for the sake of a weekly chart.
        per_day = dict(
            await self.db.fetch_all(
                "SELECT c.local_date, count(*) FROM roadmap_members m "
                "JOIN roadmap_checkins c ON c.guild_id = m.guild_id AND c.user_id = m.user_id "
                "AND c.local_date BETWEEN ? AND ? WHERE m.guild_id = ? GROUP BY c.local_date",
                (week_start.isoformat(), week_end.isoformat(), guild_id),
            )
        )
        enrolled = await self.db.fetch_value(
            "SELECT count(*) FROM roadmap_members WHERE guild_id = ?", (guild_id,)
        )
        # The newest phase each member entered this week, once per member.
        newest: dict[int, int] = {}
        for user_id, phase in entries:
            newest.setdefault(user_id, phase)
        names = [
            (
                user_id,
                "finished the roadmap" if p > len(roadmap.phases) else roadmap.phase(p).name,
            )
            for user_id, p in newest.items()
        ]
        return Digest(
            guild_id=guild_id,
            week_start=week_start,
            checkins=totals[0],
            members_active=totals[1],
            minutes=totals[2],
            milestones=totals[3],
            top_streaks=tuple((r[0], r[1]) for r in streaks),
            phase_entries=tuple(names[:PHASE_ENTRIES_SHOWN]),
            phase_entries_total=len(names),
            per_day=tuple(
                per_day.get((week_start + timedelta(days=i)).isoformat(), 0) for i in range(7)
            ),
            enrolled=enrolled,
        )
