"""/challenge bank: the moderators' challenge bank (add, import, disable, list)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import MentorBot
from bot.discord_limits import MESSAGE
from bot.markdown import inline
from bot.services.challenges.model import PHASE_LABELS, TOPIC_LABELS, Phase
from bot.ui.checks import ensure_moderator, moderator_only
from bot.ui.pager import Page, embed_page, reply_paged
from bot.ui.replies import clip, reply
from cogs.challenges._embeds import bank_pages
from cogs.challenges._forms import AddChallengeModal

BANK = "chal-bank"
PHASE_CHOICES = [
    app_commands.Choice(name=label, value=p.value) for p, label in PHASE_LABELS.items()
]
TOPIC_CHOICES = [app_commands.Choice(name=label, value=t) for t, label in TOPIC_LABELS.items()]
DIFFICULTY_CHOICES = [
    app_commands.Choice(name=d.title(), value=d) for d in ("easy", "medium", "hard")
]
KIND_CHOICES = [
    app_commands.Choice(name="Quiz (options, one correct)", value="quiz"),
    app_commands.Choice(name="Task (answered with a link)", value="task"),
]
PHASES, TOPICS, DIFFICULTIES = (
    [p.value for p in Phase],
    list(TOPIC_LABELS),
    ["easy", "medium", "hard"],
)


def bank_filters(phase: str | None, topic: str | None, difficulty: str | None) -> str:
    """The bank list's filters, short enough for a custom_id: indexes, or '' for none."""
    chosen = zip((phase, topic, difficulty), (PHASES, TOPICS, DIFFICULTIES), strict=True)
    return ",".join("" if value is None else str(names.index(value)) for value, names in chosen)


def parse_bank_filters(text: str) -> tuple[str | None, str | None, str | None]:
    parts = [*text.split(","), "", "", ""][:3]
    phase, topic, difficulty = (
        names[int(part)] if part.isdigit() and int(part) < len(names) else None
        for part, names in zip(parts, (PHASES, TOPICS, DIFFICULTIES), strict=True)
    )
    return phase, topic, difficulty


class BankCommands(app_commands.Group, name="bank", description="Moderators: the challenge bank"):
    def __init__(self, bot: MentorBot) -> None:
        super().__init__()
        self.services = bot.services
        self.challenges = bot.services.challenges

    @app_commands.command(name="add", description="Add a challenge to this server's bank")
    @app_commands.describe(id="Short id: lower-case letters, digits, dashes (3-40)")
    @app_commands.choices(
        kind=KIND_CHOICES, phase=PHASE_CHOICES, topic=TOPIC_CHOICES, difficulty=DIFFICULTY_CHOICES
    )
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[str, 3, 40],
        kind: str,
        phase: str,
        topic: str,
        difficulty: str,
    ) -> None:
        fields = {"id": id.strip(), "kind": kind, "phase": phase, "topic": topic}
        fields["difficulty"] = difficulty
        await AddChallengeModal(fields).send_to(interaction)

    @app_commands.command(name="import", description="Import challenges from a .json or .toml file")
    @moderator_only()
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        limit = self.services.settings.challenge_import_max_bytes
        if file.size > limit:
            await reply(interaction, f"That file is {file.size:,} bytes; the limit is {limit:,}.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        added = await self.challenges.bank.import_file(
            interaction.guild_id, interaction.user.id, file.filename, data
        )
        await reply(
            interaction,
            clip(f"Imported {len(added)} challenges: " + ", ".join(c.id for c in added), MESSAGE),
        )

    @app_commands.command(name="disable", description="Stop a challenge from being posted here")
    @app_commands.describe(id="The challenge id (autocompletes)")
    @moderator_only()
    async def disable(self, interaction: discord.Interaction, id: str) -> None:
        challenge = await self.challenges.bank.disable(
            interaction.guild_id, interaction.user.id, id
        )
        await reply(interaction, f"Disabled `{challenge.id}` ({inline(challenge.title)}).")

    @disable.autocomplete("id")
    async def id_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        ids = await self.challenges.bank.ids_matching(interaction.guild_id, current)
        return [app_commands.Choice(name=i, value=i) for i in ids]

    @app_commands.command(name="list", description="Browse the challenge bank")
    @app_commands.choices(phase=PHASE_CHOICES, topic=TOPIC_CHOICES, difficulty=DIFFICULTY_CHOICES)
    @moderator_only()
    async def list_(
        self,
        interaction: discord.Interaction,
        phase: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
    ) -> None:
        await reply_paged(interaction, BANK, bank_filters(phase, topic, difficulty))

    async def page(self, interaction: discord.Interaction, args: str, page: int) -> Page:
        """A page of `/challenge bank list` (a pager: bot/ui/pager.py)."""
        await ensure_moderator(interaction)
        phase, topic, difficulty = parse_bank_filters(args)
        entries = await self.challenges.bank.search(
            interaction.guild_id, phase=phase, topic=topic, difficulty=difficulty
        )
        filters = " · ".join(f for f in (phase, topic, difficulty) if f)
        size = self.services.settings.challenge_page_size
        return embed_page(bank_pages(entries, size, filters), page)
