"""Log lines (JSON fields, secrets blanked), draining interactions, stopping the scheduler."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.clock import FixedClock
from bot.logs import configure_logging
from bot.scheduler import Scheduler
from bot.shutdown import drain_interactions, interactions_in_flight

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.very-secret-token-value"
API_KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


def use_stream(handler: logging.Handler, stream: io.StringIO) -> None:
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def test_json_lines_carry_the_command_fields(captured: io.StringIO) -> None:
    use_stream(configure_logging("INFO", "json"), captured)
    logging.getLogger("bot.commands").info(
        "command /privacy export guild=5 outcome=ok duration_ms=12 ref=ABC123",
        extra={
            "command": "privacy export",
            "guild_id": 5,
            "outcome": "ok",
            "duration_ms": 12,
            "ref": "ABC123",
        },
    )
    entry = json.loads(captured.getvalue())
    assert entry["level"] == "INFO" and entry["logger"] == "bot.commands"
    assert (entry["command"], entry["guild_id"], entry["outcome"]) == ("privacy export", 5, "ok")
    assert (entry["duration_ms"], entry["ref"]) == (12, "ABC123")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_the_log(captured: io.StringIO, fmt: str) -> None:
    use_stream(configure_logging("DEBUG", fmt, [TOKEN, API_KEY]), captured)
    log = logging.getLogger("discord.gateway")
    log.debug("Sending IDENTIFY %s", {"token": TOKEN})
    log.info("header Authorization: Bot " + TOKEN)
    try:
        raise RuntimeError(f"request failed with key {API_KEY}")
    except RuntimeError:
        log.exception("LLM call failed")
    output = captured.getvalue()
    assert TOKEN not in output and API_KEY not in output
    assert "very-secret" not in output
    assert output.count("[redacted]") >= 3


async def test_drain_waits_for_running_interactions_and_is_bounded() -> None:
    done: list[str] = []

    async def command(seconds: float, name: str) -> None:
        await asyncio.sleep(seconds)
        done.append(name)

    running = [
        asyncio.create_task(command(0.1, "quick"), name="CommandTree-invoker"),
        asyncio.create_task(command(0.15, "click"), name="discord-ui-view-dispatch-abc"),
    ]
    unrelated = asyncio.create_task(asyncio.sleep(5), name="mentor-scheduler")
    await asyncio.sleep(0)
    assert interactions_in_flight() == 2
    assert await drain_interactions(2.0) == 0
    assert sorted(done) == ["click", "quick"]
    assert all(task.done() for task in running)

    slow = asyncio.create_task(command(5, "slow"), name="CommandTree-invoker")
    started = asyncio.get_running_loop().time()
    assert await drain_interactions(0.2) == 1
    assert asyncio.get_running_loop().time() - started < 1
    give_up = asyncio.Event()
    give_up.set()
    assert await drain_interactions(5.0, give_up) == 1
    slow.cancel()
    unrelated.cancel()


async def test_scheduler_stop_lets_the_running_tick_finish(clock: FixedClock) -> None:
    scheduler = Scheduler(clock, interval_seconds=60)
    finished: list[str] = []
    started = asyncio.Event()

    async def posting(now) -> None:
        started.set()
        await asyncio.sleep(0.1)  # claimed, now sending
        finished.append("sent")

    scheduler.add_job("demo:post", posting)
    scheduler.start()
    await started.wait()
    await scheduler.stop(grace_seconds=2)
    assert finished == ["sent"]
    assert not scheduler.running


async def test_scheduler_stop_cancels_a_tick_past_the_grace(clock: FixedClock) -> None:
    scheduler = Scheduler(clock, interval_seconds=60)
    started = asyncio.Event()

    async def stuck(now) -> None:
        started.set()
        await asyncio.sleep(30)

    scheduler.add_job("demo:stuck", stuck)
    scheduler.start()
    await started.wait()
    before = asyncio.get_running_loop().time()
    await scheduler.stop(grace_seconds=0.1)
    assert asyncio.get_running_loop().time() - before < 1
    assert not scheduler.running
