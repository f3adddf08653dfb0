"""The playground: a scripted terminal session, as a subprocess and in-process."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from simulator.playground import Playground, configure_server
from tests.probe_cog import ProbeCog

ROOT = Path(__file__).resolve().parent.parent


async def test_a_scripted_session_through_the_command_line(tmp_path):
    script = "\n".join(
        [
            "/config view",
            "as moderator",
            "/config timezone name:Europe/Berlin",
            "complete /config timezone name:kolk",
            "/config time kind:Daily challenge time:25:99",
            "advance 1d",
            "help",
            "quit",
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "LLM_"))}
    env["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "playground",
        "--dir",
        str(tmp_path / "out"),
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(script.encode()), 60)
    text = out.decode()
    assert process.returncode == 0, err.decode()
    assert "Only moderators can do this" in text  # alice, a plain member, is refused
    assert "You are now mo (moderator)." in text
    assert "Server time zone: Europe/Berlin." in text
    assert "- Asia/Kolkata  (name:Asia/Kolkata)" in text
    assert "'25:99' is not a time of day" in text
    assert "Server time is now" in text
    assert "advance 1d | advance 3h" in text  # the help
    assert err.decode() == ""
    assert (tmp_path / "out" / "mentor.db").exists()


def scripted(lines: list[str]):
    queue = list(lines)

    async def read(prompt: str) -> str | None:
        return queue.pop(0) if queue else None

    return read


async def test_buttons_selects_forms_files_and_scheduled_posts(sim, tmp_path):
    await sim.add_cog(ProbeCog(sim.bot))
    await configure_server(sim)
    channel = sim.guild.channel("checkins")

    posted: set[str] = set()

    async def post_daily(now):
        if f"{now:%Y-%m-%d}" not in posted:
            posted.add(f"{now:%Y-%m-%d}")
            await sim.bot.get_channel(channel).send(f"Daily post for {now:%Y-%m-%d}")

    sim.services.scheduler.add_job("test:daily", post_daily)
    output: list[str] = []
    playground = Playground(
        sim,
        tmp_path,
        scripted(
            [
                "/probe buttons",
                "select 5 t3",
                "3",
                "read chapter 3",
                "",
                "click 1",
                "/probe file",
                "/probe echo text:hi there public:true",
                "/probe whois member:@rita role:@reviewer channel:#qa",
                "advance 3h",
                "click 9",
            ]
        ),
        output.append,
    )
    await playground.run()
    text = "\n".join(output)
    assert (
        "[1] (Confirm)\n  [2] (Later)\n  [3] (Explain)\n  [4] (Break)\n  [5] <choose: t1, t2"
        in text
    )
    assert "Picked t3." in text
    assert "== form: A note ==" in text
    assert "Noted: read chapter 3 (no mood)" in text
    assert "Confirmed." in text
    saved = sorted((tmp_path / "files").iterdir())
    assert [p.name.split("-", 1)[1] for p in saved] == ["report.csv"]
    assert "Mentor (#general):\n  hi there" in text
    assert "rita / reviewer / qa" in text
    assert "Mentor posted in #checkins:\n  Daily post for 2026-03-02" in text
    assert "the last message has" in text  # a wrong number is explained, not a crash


async def test_advance_runs_the_scheduler_at_every_due_moment_and_shows_the_day(sim, tmp_path):
    await configure_server(sim)
    sim.clock.set(datetime(2026, 3, 8, 1, 25, tzinfo=UTC))  # Sunday 01:25 UTC
    output: list[str] = []
    playground = Playground(sim, tmp_path, scripted(["advance 1d"]), output.append)
    await playground.run()
    text = "\n".join(output)
    # Sunday's 09:00 daily challenge is posted at 09:00, not skipped by jumping to Monday.
    assert "[Sun 09:00] Mentor posted in #challenges:" in text, text
    assert "Daily challenge of 2026-03-08" in text
    assert "Server time is now Monday 2026-03-09 01:25 UTC." in text
    assert len(sim.messages(sim.guild.channel("challenges"))) == 1
