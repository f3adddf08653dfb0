"""/privacy export and /privacy delete; erasing a server's data after the bot leaves it."""

from __future__ import annotations

import io
import logging
from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.delivery import passing
from bot.discord_limits import THREAD_ARCHIVED
from bot.parts import Parts
from bot.scheduler import Job
from bot.services.member_posts import RENAMED_THREAD, Cleanup, PendingCleanup
from bot.services.privacy import DeletionReport
from bot.ui.confirm import Confirmation, confirm_view
from bot.ui.replies import reply

log = logging.getLogger(__name__)

ERASE = "privacy-delete"
CLEANUPS_PER_TICK = 20

ERASE_WARNING = (
    "**Erase everything Mentor stores about you?**\n"
    "This removes your roadmap progress, check-ins and streaks, challenge answers and "
    "points, portfolio review requests and the reviews you wrote, and your questions, in "
    "every server Mentor shares with you, and deletes Mentor's own posts that quote you "
    "(check-ins, review requests, questions sent to the mentors). Totals that name nobody "
    "(such as how many answers a challenge had) stay. It cannot be undone; run "
    "`/privacy export` first if you want a copy."
)


def describe_erasure(report: DeletionReport) -> str:
    if report.failed_sections:
        failed = ", ".join(report.failed_sections)
        return (
            f"Erased {report.rows} record(s), but {failed} could not be erased just now. "
            "Nothing else is left; run `/privacy delete` again in a few minutes to finish."
        )
    if report.rows == 0:
        return "There was nothing stored about you to erase."
    return (
        f"Done: erased {report.rows} record(s) about you. If you use Mentor again, it "
        "starts afresh."
    )


class PrivacyJobs:
    """Scheduled privacy work: servers that left past their grace period, Q&A logs past
    their retention, and the posts quoting members who erased their data. None of it is per
    server's shard: in a cluster one process does it all (cluster jobs, bot/scheduler.py)."""

    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.privacy = bot.services.privacy

    def jobs(self) -> dict[str, Job]:
        """In the order they run within one tick."""
        return {
            "privacy:guild-erasure": self.erase_departed_guilds,
            "privacy:qa-retention": self.purge_qa_logs,
            "privacy:post-cleanups": self.clean_up_posts,
        }

    async def erase_departed_guilds(self, now: datetime) -> None:
        await self.privacy.purge_departed_guilds(now)

    async def purge_qa_logs(self, now: datetime) -> None:
        await self.privacy.purge_qa_logs(now)

    async def clean_up_posts(self, now: datetime) -> None:
        """Delete the posts, and rename the threads, that quoted members who erased."""
        posts = self.bot.services.member_posts
        for item in await posts.due_cleanups(now, CLEANUPS_PER_TICK):
            try:
                await self._clean_up(item)
            except Exception as error:
                # The failure policy of scheduled posts (bot/delivery.py): a passing failure
                # (or a bug) is tried again after a back-off; a refusal (the post is gone, or
                # out of reach) leaves nothing more to do.
                if passing(error) or not isinstance(error, discord.HTTPException):
                    log.warning(
                        "Could not clean up a post of an erased member; retrying later",
                        exc_info=not passing(error),
                    )
                    await posts.cleanup_failed(item, now)
                    continue
            await posts.cleanup_done(item)

    async def _clean_up(self, item: PendingCleanup) -> None:
        """Delete the post or rename the thread; an archived thread is reopened for it and
        archived again (Discord changes nothing in an archived thread)."""
        http = self.bot.http
        thread = item.message_id if item.action is Cleanup.RENAME else item.channel_id
        try:
            if item.action is Cleanup.DELETE:
                await http.delete_message(item.channel_id, item.message_id)
            else:
                await http.edit_channel(item.message_id, name=RENAMED_THREAD)
            return
        except discord.HTTPException as error:
            if error.code != THREAD_ARCHIVED:
                raise
        await http.edit_channel(thread, archived=False)
        if item.action is Cleanup.DELETE:
            await http.delete_message(item.channel_id, item.message_id)
            await http.edit_channel(thread, archived=True)
        else:
            await http.edit_channel(thread, name=RENAMED_THREAD, archived=True)


class PrivacyCog(
    commands.GroupCog,
    group_name="privacy",
    description="See or erase what Mentor stores about you",
):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.privacy = bot.services.privacy
        erase = Confirmation(ERASE, self._erase, cancelled="Cancelled: nothing was erased.")
        self.parts = Parts(confirmations=(erase,), cluster_jobs=PrivacyJobs(bot).jobs())
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_parts(self.parts)

    async def cog_unload(self) -> None:
        self.bot.remove_parts(self.parts)

    @app_commands.command(name="export", description="Get a file of all Mentor stores about you")
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        export = await self.privacy.export_file(interaction.user.id)
        note = " (gzip-compressed: it is large)" if export.compressed else ""
        await reply(
            interaction,
            f"Here is everything Mentor stores about you, as JSON{note}. Only you can see this.",
            file=discord.File(io.BytesIO(export.data), filename=export.filename),
        )

    @app_commands.command(name="delete", description="Erase everything Mentor stores about you")
    async def delete(self, interaction: discord.Interaction) -> None:
        view = confirm_view(ERASE, interaction.user.id, "Erase my data")
        await reply(interaction, ERASE_WARNING, view=view)

    async def _erase(self, confirm: discord.Interaction, _: int | None) -> None:
        await confirm.response.edit_message(content="Erasing your data…", view=None)
        report = await self.privacy.delete_member(confirm.user.id)
        await confirm.edit_original_response(content=describe_erasure(report))

    # --- Servers the bot leaves and rejoins --------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.privacy.guild_left(guild.id)
        log.info(
            "Removed from server %s; its data is erased in %d day(s) unless Mentor is added back",
            guild.id,
            self.bot.services.settings.guild_data_grace_days,
        )

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.privacy.guild_present([guild.id])

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.privacy.guild_present([guild.id])

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Servers that removed the bot while it was offline are not in Discord's list."""
        # Only servers on this process's shards can be missing from its list.
        shards = self.bot.services.settings.shard_scope
        await self.privacy.reconcile_guilds([g.id for g in self.bot.guilds], shards.owns)


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
