"""A test-only cog that uses every Discord feature the simulator serves.

Added to the running bot with `await sim.add_cog(ProbeCog(sim.bot))`; it is not in `cogs/`
so the real bot never loads it.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import DomainError
from bot.ui.base import MentorView
from bot.ui.forms import Answers, Form
from bot.ui.replies import reply


class ConfirmView(MentorView):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success, custom_id="probe:ok")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        button.disabled = True
        await interaction.response.edit_message(content="Confirmed.", view=self)

    @discord.ui.button(label="Later", custom_id="probe:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await interaction.followup.send("Saved for later.", ephemeral=True)

    @discord.ui.button(label="Explain", custom_id="probe:explain")
    async def explain(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await NoteModal().send_to(interaction)

    @discord.ui.button(label="Break", custom_id="probe:break")
    async def breaks(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        raise RuntimeError("button exploded")

    @discord.ui.select(
        custom_id="probe:pick",
        options=[discord.SelectOption(label=f"Track {n}", value=f"t{n}") for n in (1, 2, 3)],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"Picked {select.values[0]}.", ephemeral=True)


class NoteModal(Form, template=r"probe:note-form"):
    labels: ClassVar[dict[str, str]] = {"probe:note": "Your note", "probe:mood": "Mood"}

    def __init__(self) -> None:
        super().__init__(title="A note", custom_id="probe:note-form")
        self.add_item(
            discord.ui.TextInput(label="Your note", custom_id="probe:note", max_length=200)
        )
        self.add_item(discord.ui.TextInput(label="Mood", custom_id="probe:mood", required=False))

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        note, mood = answers.text("probe:note"), answers.text("probe:mood")
        if note == "explode":
            raise RuntimeError("modal exploded")
        await interaction.response.send_message(
            f"Noted: {note} ({mood or 'no mood'})", ephemeral=True
        )


class Claim(discord.ui.DynamicItem[discord.ui.Button], template=r"probe:claim:(?P<id>[0-9]+)"):
    """A persistent button: it works on messages posted before a restart."""

    def __init__(self, item_id: int) -> None:
        super().__init__(discord.ui.Button(label="Claim", custom_id=f"probe:claim:{item_id}"))
        self.item_id = item_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match
    ) -> Claim:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Claimed {self.item_id}.", ephemeral=True)


class ProbeCog(commands.GroupCog, group_name="probe", description="Test-only commands"):
    admin = app_commands.Group(name="admin", description="A sub-command group")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(Claim)
        self.bot.forms.add(NoteModal)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(Claim)
        self.bot.forms.remove(NoteModal)

    @admin.command(name="grade", description="Nested options of every plain type")
    async def grade(
        self,
        interaction: discord.Interaction,
        score: app_commands.Range[int, 0, 10],
        weight: float,
        final: bool,
        who: discord.Member | discord.Role,
        level: app_commands.Range[str, 1, 20] = "junior",
    ) -> None:
        name = who.name
        await reply(interaction, f"{name}: {score} x {weight} final={final} level={level}")

    @app_commands.command(name="offer", description="Post a persistent Claim button")
    async def offer(self, interaction: discord.Interaction, item: int) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(Claim(item))
        await interaction.response.send_message(f"Item {item} is free.", view=view)

    @app_commands.command(name="count", description="Answer, then edit the answer")
    async def count(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("1", ephemeral=True)
        message = await interaction.original_response()
        await message.edit(content=f"{message.content} 2")

    @app_commands.command(name="echo", description="Say it back")
    async def echo(self, interaction: discord.Interaction, text: str, public: bool = False) -> None:
        await reply(interaction, text, ephemeral=not public)

    @app_commands.command(name="slow", description="Defer, then edit the original response")
    async def slow(self, interaction: discord.Interaction, followup: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        if followup:
            await interaction.followup.send("Done via follow-up.", ephemeral=True)
        else:
            await interaction.edit_original_response(content="Done after thinking.")

    @app_commands.command(name="buttons", description="A message with buttons and a select")
    async def buttons(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Ready?", view=ConfirmView())

    @app_commands.command(name="form", description="Open a modal")
    async def form(self, interaction: discord.Interaction) -> None:
        await NoteModal().send_to(interaction)

    @app_commands.command(name="file", description="Answer with a file")
    async def file(self, interaction: discord.Interaction) -> None:
        data = discord.File(io.BytesIO(b"week,checkins\n1,5\n"), filename="report.csv")
        await interaction.response.send_message("Your report.", file=data, ephemeral=True)

    @app_commands.command(name="size", description="Read an attachment")
    async def size(self, interaction: discord.Interaction, upload: discord.Attachment) -> None:
        data = await upload.read()
        await reply(interaction, f"{upload.filename}: {len(data)} bytes, starts {data[:5]!r}")

    @app_commands.command(name="whois", description="Resolved options")
    async def whois(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        role: discord.Role,
        channel: discord.TextChannel,
    ) -> None:
        await reply(interaction, f"{member.name} / {role.name} / {channel.name}")

    @app_commands.command(name="pick", description="Autocomplete")
    async def pick(self, interaction: discord.Interaction, fruit: str) -> None:
        await reply(interaction, f"You picked {fruit}.")

    @pick.autocomplete("fruit")
    async def pick_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        fruit = ["apple", "apricot", "banana", "cherry"]
        return [app_commands.Choice(name=f, value=f) for f in fruit if f.startswith(current)]

    @app_commands.command(name="post", description="Post, thread, forum post, DM and role")
    async def post(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.defer(ephemeral=True)
        guild = interaction.guild
        channel = guild.get_channel(_named(guild, "challenges"))
        message = await channel.send(
            embed=discord.Embed(title="Daily challenge", description="Build a tokenizer.")
        )
        thread = await message.create_thread(name="Daily challenge discussion")
        await thread.send("Post your answers here.")
        forum = guild.get_channel(_named(guild, "forum-reviews"))
        post = await forum.create_thread(name="Review: RAG app", content="Please review my app.")
        role = discord.utils.get(guild.roles, name="reviewer")
        await member.add_roles(role)
        try:
            await member.send("You are now a reviewer.")
            dm = "sent"
        except discord.Forbidden:
            dm = "closed"
        await interaction.followup.send(f"thread {thread.id} forum {post.thread.id} dm {dm}")

    @app_commands.command(name="boom", description="An unexpected error")
    async def boom(self, interaction: discord.Interaction, after_defer: bool = False) -> None:
        if after_defer:
            await interaction.response.defer(ephemeral=True)
        raise RuntimeError("probe exploded")

    @app_commands.command(name="refuse", description="A domain error")
    async def refuse(self, interaction: discord.Interaction) -> None:
        raise DomainError("You have not enrolled yet: use /roadmap start.")

    @app_commands.command(name="wait", description="Answer only when the test says so")
    async def wait(self, interaction: discord.Interaction) -> None:
        self.waiting.set()
        await self.release.wait()
        await interaction.response.send_message("Finally.", ephemeral=True)


def _named(guild: discord.Guild, name: str) -> int:
    channel = discord.utils.get(guild.channels, name=name)
    assert channel is not None
    return channel.id
