"""`python -m bot playground`: try Mentor in a terminal against a simulated Discord.

The real bot runs against the simulator with its own SQLite file and a simulated clock. A
person types slash commands as one of three members, clicks buttons and fills forms by
number, and moves the clock forward to see scheduled posts.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from bot.config import Settings
from bot.services.guild_settings import ChannelKind, RoleKind
from simulator import invocations, render
from simulator.harness import Reply, SimHarness, UnansweredInteraction
from simulator.state import SimMessage, SimUser

HELP = """\
Commands:
  as member | as moderator | as reviewer   act as another member (now: {who})
  /config view                             run a slash command
  /checkin note:read chapter 3             options as name:value (value runs to the next name:)
  complete /config timezone name:berl      show the autocomplete choices for the last option
  click 2   (or just 2)                    press button 2 of the last message
  select 3 value[,value]                   choose in select menu 3 of the last message
  advance 1d | advance 3h | advance 30m    move the clock, running scheduled work on the way
  channel checkins                         show the last posts in #checkins
  help | quit
Option values: members as @alice, channels as #checkins, roles as @reviewer, files as a
path; forms ask for each field in turn. Files the bot sends are saved to {files}."""

ROLE_NAMES = {"member": "alice", "moderator": "mo", "reviewer": "rita"}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([wdhm])$")
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
TICK = timedelta(minutes=1)  # configured times are whole minutes
MAX_TICKS = 1440  # a longer jump runs the scheduler at this many evenly spaced moments

Reader = Callable[[str], Awaitable[str | None]]
Writer = Callable[[str], None]


class Playground:
    def __init__(self, sim: SimHarness, out_dir: Path, read: Reader, write: Writer) -> None:
        self.sim = sim
        self.files = out_dir / "files"
        self.read = read
        self.write = write
        self.members = {role: self._member(role) for role in ROLE_NAMES}
        self.who = "member"
        self.last: SimMessage | None = None
        self.shown: dict[int, int] = {}

    def _member(self, role: str) -> SimUser:
        name = ROLE_NAMES[role]
        if role == "moderator":
            return self.sim.member(name, moderator=True)
        if role == "reviewer":
            return self.sim.member(name, roles=["reviewer"])
        return self.sim.member(name)

    @property
    def user(self) -> SimUser:
        return self.members[self.who]

    async def run(self) -> None:
        self.write("Mentor playground: a simulated Discord server, no Discord account needed.")
        self.write(f"Server time is {self._now()}. Type 'help' for the commands.")
        self._mark_all_shown()
        while True:
            line = await self.read(f"{self.who} ({self.user.name})> ")
            if line is None:
                return
            try:
                if not await self.handle(line.strip()):
                    return
            except (invocations.InvalidInvocation, ValueError, KeyError) as exc:
                self.write(f"  ! {exc}")
            except UnansweredInteraction as exc:
                self.write(f"  ! {exc}")

    async def handle(self, line: str) -> bool:
        """Run one typed line; False means quit."""
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self.write(HELP.format(who=self.who, files=self.files))
        elif word == "as":
            if rest.strip() not in ROLE_NAMES:
                raise ValueError("choose member, moderator or reviewer")
            self.who = rest.strip()
            self.write(f"  You are now {self.user.name} ({self.who}).")
        elif line.startswith("/"):
            path, options = self._parse_command(line)
            await self._present(await self.sim.slash(self.user, path, **options))
        elif word == "complete":
            await self._complete(rest)
        elif word == "click" or word.isdigit():
            number = rest if word == "click" else word
            await self._use_component(int(number.split()[0]), [])
        elif word == "select":
            number, _, values = rest.partition(" ")
            await self._use_component(int(number), [v.strip() for v in values.split(",") if v])
        elif word == "advance":
            await self._advance(rest.strip())
        elif word == "channel":
            self._show_channel(rest.strip().lstrip("#"))
        else:
            self.write("  ? Unknown command; type 'help'.")
        return True

    # --- slash commands -------------------------------------------------------------------

    def _parse_command(self, line: str) -> tuple[str, dict[str, Any]]:
        commands = self.sim.server.state.commands_for(self.sim.guild.id)
        path, typed = invocations.parse_typed_command(commands, line)
        options = {
            schema["name"]: invocations.typed_value(schema, text, self.sim.guild, self.sim.member)
            for schema, text in typed
        }
        return path, options

    async def _complete(self, rest: str) -> None:
        path, options = self._parse_command(rest.strip())
        if not options:
            raise ValueError("type the option to complete, e.g. complete /config timezone name:eu")
        focused = list(options)[-1]
        choices = await self.sim.autocomplete(
            self.user, path, focused=focused, **{k: str(v) for k, v in options.items()}
        )
        for choice in choices:
            self.write(f"  - {choice['name']}  ({focused}:{choice['value']})")
        if not choices:
            self.write("  (no suggestions)")

    # --- components and forms ----------------------------------------------------------------

    async def _use_component(self, number: int, values: list[str]) -> None:
        if self.last is None:
            raise ValueError("no message with buttons yet")
        usable = render.numbered_components(self.last)
        if not 1 <= number <= len(usable):
            raise ValueError(f"the last message has {len(usable)} usable components")
        component = usable[number - 1]
        if component["type"] == render.BUTTON:
            reply = await self.sim.click(self.user, self.last, custom_id=component["custom_id"])
        else:
            if not values:
                raise ValueError(f"say what to pick: select {number} value")
            reply = await self.sim.select(
                self.user, self.last, custom_id=component["custom_id"], values=values
            )
        await self._present(reply)

    async def _fill(self, reply: Reply) -> None:
        answers: dict[str, str] = {}
        for number, item in enumerate(render.modal_inputs(reply.modal or {}), start=1):
            value = await self.read(f"  [{number}] {item.get('label')}: ")
            if value is None:
                return
            answers[item["custom_id"]] = value.rstrip("\n")
        await self._present(await self.sim.submit_modal(self.user, reply, answers))

    # --- showing what happened --------------------------------------------------------------------

    async def _present(self, reply: Reply) -> None:
        """Show the answer; when it is a form, ask for each field and send it."""
        self._show_reply(reply)
        if reply.modal is not None:
            await self._fill(reply)

    def _show_reply(self, reply: Reply) -> None:
        if reply.modal is not None:
            self.write(render.modal(reply.modal))
        messages = {m.id: m for m in [reply.message, *reply.followups] if m is not None}
        for message in messages.values():
            where = "only you can see this" if message.ephemeral else self._where(message)
            header = f"Mentor ({where}):"
            self.write(render.message(self.sim.server.state, message, self.files, header=header))
            self.shown[message.id] = message.edits
            if message.components:
                self.last = message
        self._show_new_posts()

    def _where(self, message: SimMessage) -> str:
        channel = self.sim.server.state.channels.get(message.channel_id)
        if channel is None:
            return "?"
        if channel.type == 1:
            return f"DM to {self.sim.server.state.users[channel.recipient_ids[0]].name}"
        prefix = "thread " if channel.is_thread else "#"
        return f"{prefix}{channel.name}"

    def _show_new_posts(self, at: datetime | None = None) -> None:
        """Print what the bot posted or edited since last time (`at`: the scheduler's time)."""
        state = self.sim.server.state
        when = f"[{at:%a %H:%M}] " if at is not None else ""
        for message in sorted(state.messages.values(), key=lambda m: m.id):
            if message.deleted or message.ephemeral or message.loading:
                continue
            if self.shown.get(message.id) == message.edits:
                continue
            verb = "edited" if message.id in self.shown else "posted"
            header = f"{when}Mentor {verb} in {self._where(message)}:"
            self.write(render.message(state, message, self.files, header=header))
            self.shown[message.id] = message.edits
            if message.components:
                self.last = message

    def _mark_all_shown(self) -> None:
        for message in self.sim.server.state.messages.values():
            self.shown[message.id] = message.edits

    def _show_channel(self, name: str) -> None:
        state = self.sim.server.state
        posts = self.sim.messages(self.sim.guild.channel(name))[-10:]
        if not posts:
            self.write(f"  (nothing in #{name} yet)")
        for message in posts:
            self.write(render.message(state, message, self.files, header=f"#{name}:"))
            if message.components:
                self.last = message

    async def _advance(self, text: str) -> None:
        """Move the clock, running the scheduler at every minute on the way (at most
        `MAX_TICKS` evenly spaced moments for long jumps), and show each post as it comes."""
        match = DURATION.match(text)
        if match is None:
            raise ValueError("say how far, e.g. advance 1d, advance 3h or advance 30m")
        amount, unit = float(match.group(1)), UNITS[match.group(2)]
        clock = self.sim.clock
        end = clock.now() + timedelta(**{unit: amount})
        step = max(TICK, (end - clock.now()) / MAX_TICKS)
        while clock.now() < end:
            clock.set(min(clock.now() + step, end))
            await self.sim.run_scheduler()
            self._show_new_posts(at=clock.now())
        self.write(f"  Server time is now {self._now()}.")

    def _now(self) -> str:
        return self.sim.clock.now().strftime("%A %Y-%m-%d %H:%M UTC")


async def configure_server(sim: SimHarness) -> None:
    """Set the channels and roles a moderator would set with /config, so posts have a home."""
    settings, guild = sim.services.guild_settings, sim.guild
    await settings.set_channel(guild.id, ChannelKind.CHECKIN, guild.channel("checkins"))
    await settings.set_channel(guild.id, ChannelKind.CHALLENGE, guild.channel("challenges"))
    await settings.set_channel(guild.id, ChannelKind.REVIEW, guild.channel("forum-reviews"))
    await settings.set_channel(guild.id, ChannelKind.QA, guild.channel("qa"))
    await settings.set_role(guild.id, RoleKind.MODERATOR, guild.role("moderator"))
    await settings.set_role(guild.id, RoleKind.REVIEWER, guild.role("reviewer"))


async def read_line(prompt: str) -> str | None:
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = await asyncio.to_thread(sys.stdin.readline)
    if not line:
        sys.stdout.write("\n")
        return None
    if not sys.stdin.isatty():
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
    return line


def fresh_folder(out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)


async def run_playground(settings: Settings, out_dir: Path) -> None:
    """Start a fresh simulated server and the real bot, then read commands until quit."""
    fresh_folder(out_dir)
    settings = settings.model_copy(update={"database_path": out_dir / "mentor.db"})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    sim = await SimHarness.start(settings, FixedClock(now))
    try:
        await configure_server(sim)
        await Playground(sim, out_dir, read_line, print).run()
    finally:
        await sim.close()
