"""Another program holds SQLite's write lock for 4 s (a sqlite3 shell, a copy tool): the bot
keeps answering, and a check-in sent meanwhile is answered in time and written once the
lock goes. Through the simulator, which refuses a first answer later than Discord's 3 s."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.test_db_connections import hold_write_lock

pytestmark = pytest.mark.usefixtures("sqlite_only")

LOCK_SECONDS = 4.0


async def test_a_checkin_during_a_4_s_write_lock_is_answered_and_written(sim, settings):
    alice = sim.member("alice")
    reply = await sim.slash(alice, "roadmap start", track="ai_engineer")
    assert "Welcome to the" in reply.content
    holder = hold_write_lock(settings.database_path, LOCK_SECONDS)
    try:
        locked_at = time.perf_counter()
        checkin = asyncio.create_task(sim.slash(alice, "checkin", note="read chapter 3"))
        await asyncio.sleep(0.5)
        # Meanwhile every other command is answered at once: the event loop never waits.
        pings = [await sim.slash(sim.member("bob"), "ping") for _ in range(5)]
        for ping in pings:
            assert "Pong" in ping.content
            answered = ping.interaction.responded - ping.interaction.created
            assert answered < 0.1
        answer = await checkin
        waited = time.perf_counter() - locked_at
    finally:
        await asyncio.to_thread(holder.wait, 10)
    assert waited >= LOCK_SECONDS - 0.5  # written only once the lock went
    assert answer.deferred  # acknowledged within Discord's 3 s, then answered
    assert "read chapter 3" in str(answer.embeds)
    assert sim.server.state.problems == []
    assert await sim.services.db.fetch_value("SELECT count(*) FROM roadmap_checkins") == 1
