"""/portfolio: the commands, and what the capability registers when it loads."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.discord_limits import CHOICE_NAME
from bot.errors import DomainError
from bot.parts import Parts
from bot.services.portfolio.models import ACTIVE, Request, Status
from bot.services.portfolio.rubric import default_rubric
from bot.ui.checks import (
    ensure_reviewer,
    member_is_reviewer,
    moderator_only,
    reviewer_only,
    settings_for,
)
from bot.ui.pager import Page, reply_paged
from bot.ui.replies import reply
from cogs.portfolio._actions import Actions
from cogs.portfolio._checklist import ChecklistButton, checklist_view
from cogs.portfolio._embeds import (
    STATUS_NAMES,
    checklist_embed,
    mine_embed,
    queue_embed,
    stats_embed,
    view_embeds,
)
from cogs.portfolio._forms import FORMS
from cogs.portfolio._jobs import PortfolioJobs
from cogs.portfolio._notices import PortfolioNotices
from cogs.portfolio._publisher import Publisher
from cogs.portfolio._sent import actor
from cogs.portfolio._views import PostActions, RequestButton

ARCHETYPE_CHOICES = [
    app_commands.Choice(name=a.name, value=a.key) for a in default_rubric().archetypes
]
RequestId = app_commands.Range[int, 1, 2**53 - 1]
MINE, QUEUE = "portfolio-mine", "portfolio-queue"


def choice(request: Request) -> app_commands.Choice[int]:
    label = f"#{request.id} {request.title}"
    status = f" ({STATUS_NAMES[request.status].lower()})"
    return app_commands.Choice(name=label[: CHOICE_NAME - len(status)] + status, value=request.id)


@app_commands.guild_only()
class PortfolioCog(
    commands.GroupCog, group_name="portfolio", description="Portfolio project reviews"
):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.portfolio = bot.services.portfolio
        self.rubric = bot.services.portfolio.rubric
        self.publisher = Publisher(bot)
        self.actions = Actions(bot, self.publisher)
        self.parts = Parts(
            components=(RequestButton, ChecklistButton),
            forms=FORMS,
            confirmations=(self.actions.confirmation,),
            pagers={MINE: self._mine_page, QUEUE: self._queue_page},
            jobs=PortfolioJobs(bot, self.publisher).jobs(),
            shared={PostActions: self.actions},
        )
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_parts(self.parts)

    async def cog_unload(self) -> None:
        self.bot.remove_parts(self.parts)

    # --- Members --------------------------------------------------------------

    @app_commands.command(name="submit", description="Ask for a review of a portfolio project")
    @app_commands.describe(archetype="What kind of project it is")
    @app_commands.choices(archetype=ARCHETYPE_CHOICES)
    async def submit(self, interaction: discord.Interaction, archetype: str) -> None:
        chosen = self.rubric.archetype(archetype)
        await self.portfolio.ensure_can_submit(interaction.guild_id, interaction.user.id)
        await self.publisher.review_channel(await settings_for(interaction))
        await reply(
            interaction,
            embed=checklist_embed(self.rubric, chosen),
            view=checklist_view("submit", chosen.key),
        )

    @app_commands.command(name="resubmit", description="Start a new review round of a project")
    @app_commands.describe(request="Your reviewed request to follow up")
    async def resubmit(self, interaction: discord.Interaction, request: RequestId) -> None:
        previous = await self.portfolio.ensure_can_resubmit(
            interaction.guild_id, interaction.user.id, request
        )
        await self.publisher.review_channel(await settings_for(interaction))
        archetype = self.rubric.archetype(previous.archetype)
        await reply(
            interaction,
            embed=checklist_embed(self.rubric, archetype, previous=previous),
            view=checklist_view("resubmit", previous.id),
        )

    @resubmit.autocomplete("request")
    async def _reviewed_of_mine(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        found = await self.portfolio.search(
            interaction.guild_id, current, owner_id=interaction.user.id, statuses=[Status.REVIEWED]
        )
        return [choice(r) for r in found]

    @app_commands.command(name="withdraw", description="Withdraw one of your open requests")
    @app_commands.describe(request="Your open or claimed request")
    async def withdraw(self, interaction: discord.Interaction, request: RequestId) -> None:
        await self.actions.ask_withdraw(interaction, request)

    @withdraw.autocomplete("request")
    async def _active_of_mine(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        found = await self.portfolio.search(
            interaction.guild_id, current, owner_id=interaction.user.id, statuses=ACTIVE
        )
        return [choice(r) for r in found]

    @app_commands.command(name="mine", description="Your review requests and their states")
    async def mine(self, interaction: discord.Interaction) -> None:
        await reply_paged(interaction, MINE)

    async def _mine_page(self, interaction: discord.Interaction, args: str, page: int) -> Page:
        result = await self.portfolio.mine(interaction.guild_id, interaction.user.id, page=page)
        return Page(mine_embed(result, self.rubric), result.page, result.pages)

    @app_commands.command(name="view", description="Show a request with its rounds and review")
    @app_commands.describe(request="The request number")
    async def view(self, interaction: discord.Interaction, request: RequestId) -> None:
        found = await self.portfolio.get(interaction.guild_id, request)
        history = await self.portfolio.history(found)
        review = await self.portfolio.review_of(found.id)
        await reply(interaction, embeds=view_embeds(found, self.rubric, history, review))

    @view.autocomplete("request")
    async def _any_request(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return [choice(r) for r in await self.portfolio.search(interaction.guild_id, current)]

    @app_commands.command(name="stats", description="Review statistics of this server")
    async def stats(self, interaction: discord.Interaction) -> None:
        stats = await self.portfolio.stats(interaction.guild_id)
        await reply(interaction, embed=stats_embed(stats))

    # --- Reviewers and moderators -----------------------------------------------

    @app_commands.command(name="queue", description="Open requests waiting for a reviewer")
    @app_commands.describe(archetype="Only this kind of project")
    @app_commands.choices(archetype=ARCHETYPE_CHOICES)
    @reviewer_only()
    async def queue(self, interaction: discord.Interaction, archetype: str | None = None) -> None:
        await reply_paged(interaction, QUEUE, archetype or "")

    async def _queue_page(self, interaction: discord.Interaction, args: str, page: int) -> Page:
        await ensure_reviewer(interaction)  # still a reviewer when paging later
        result = await self.portfolio.queue(interaction.guild_id, archetype=args or None, page=page)
        return Page(queue_embed(result, self.rubric), result.page, result.pages)

    @app_commands.command(name="transfer", description="Give a claimed request to another reviewer")
    @app_commands.describe(request="The claimed request", reviewer="Who reviews it instead")
    @moderator_only()
    async def transfer(
        self, interaction: discord.Interaction, request: RequestId, reviewer: discord.Member
    ) -> None:
        if reviewer.bot:
            raise DomainError("Bots can't review projects; pick a member.")
        settings = await settings_for(interaction)
        acting = await actor(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        moved = await self.portfolio.transfer(
            interaction.guild_id,
            request,
            acting,
            reviewer.id,
            target_is_reviewer=member_is_reviewer(reviewer, settings),
        )
        await self.publisher.refresh(moved.request)
        await PortfolioNotices(self.bot, self.publisher).send(moved.notices)  # both reviewers' DMs
        await reply(interaction, f"Request #{request} now belongs to {reviewer.mention}.")

    @transfer.autocomplete("request")
    async def _claimed(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        found = await self.portfolio.search(
            interaction.guild_id, current, statuses=[Status.CLAIMED]
        )
        return [choice(r) for r in found]
