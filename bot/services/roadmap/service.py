"""The roadmap capability, as the cogs and other services see it: one object of parts."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.services.contracts import MemberContext
from bot.services.roadmap import privacy
from bot.services.roadmap.buddies import BuddyService
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.checkins import CheckinLimits, CheckinService
from bot.services.roadmap.digest import DigestService
from bot.services.roadmap.leaderboard import LeaderboardService
from bot.services.roadmap.maintenance import MaintenanceService
from bot.services.roadmap.member_state import RoleMaps
from bot.services.roadmap.members import MemberService
from bot.services.roadmap.reminders import ReminderService
from bot.services.roadmap.role_sync import RoleSync
from bot.services.roadmap.roles import RoleService
from bot.services.roadmap.streaks import StreakRules
from bot.services.scheduled_posts import ScheduledPosts


class RoadmapService:
    """Enrolment, check-ins, streaks, leaderboards, buddies, reminders, digest and roles.

    Also the roadmap's `MemberContextSource` (for the Q&A helper) and `MemberDataSource`
    (for privacy export and erasure).
    """

    privacy_section = "roadmap"

    def __init__(
        self, settings: Settings, db: Database, clock: Clock, posts: ScheduledPosts
    ) -> None:
        self.db = db
        self.settings = settings
        rules = StreakRules(settings.roadmap_freeze_every_days, settings.roadmap_max_freezes)
        self.rules = rules
        self.catalog = RoadmapCatalog(
            db, clock, settings.roadmap_import_max_bytes, shards=settings.shard_scope
        )
        self.role_maps = RoleMaps()
        self.members = MemberService(db, clock, self.catalog, rules, self.role_maps)
        self.checkins = CheckinService(
            db,
            clock,
            self.catalog,
            rules,
            CheckinLimits(
                text_max=settings.roadmap_checkin_text_max,
                minutes_max=settings.roadmap_checkin_minutes_max,
                per_day_max=settings.roadmap_checkins_per_day_max,
                heatmap_weeks=settings.roadmap_heatmap_weeks,
            ),
            self.role_maps,
        )
        self.leaderboard = LeaderboardService(db, clock, settings.roadmap_leaderboard_page_size)
        self.buddies = BuddyService(db, clock, settings.roadmap_buddy_request_days)
        self.reminders = ReminderService(
            db,
            clock,
            settings.roadmap_reminder_default_time,
            settings.roadmap_reminder_max_misses,
            shards=settings.shard_scope,
        )
        self.digest = DigestService(db, clock, self.catalog, posts, shards=settings.shard_scope)
        self.roles = RoleService(db, clock, posts, self.role_maps, shards=settings.shard_scope)
        self.role_sync = RoleSync(self.roles, settings.roadmap_job_batch)
        self.maintenance = MaintenanceService(db, clock, self.catalog, rules)

    async def member_context(self, guild_id: int, user_id: int) -> MemberContext | None:
        return await self.members.member_context(guild_id, user_id)

    async def export_member(self, user_id: int) -> dict[str, Any]:
        return await privacy.export_member(self.db, user_id)

    async def delete_member(self, user_id: int) -> int:
        async with self.db.transaction() as tx:
            return await privacy.delete_member(tx, user_id)

    async def delete_guild(self, guild_id: int) -> int:
        async with self.db.transaction() as tx:
            removed = await privacy.delete_guild(tx, guild_id)
        self.catalog.forget(guild_id)
        self.role_maps.forget(guild_id)
        return removed
