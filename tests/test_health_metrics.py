"""/healthz and /metrics: what each check reports, the HTTP server, a port already taken."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.health import HealthServer, check_health, scheduler_stale_after
from bot.metrics import Metrics
from bot.shards import ShardState
from bot.wiring import Services
from tests.conftest import ON_POSTGRES
from tests.fakes_ops import FakeBot


@pytest.fixture
async def bot(services: Services) -> AsyncIterator[FakeBot]:
    services.scheduler.interval_seconds = 30
    services.scheduler.start()
    await services.scheduler.run_once()
    yield FakeBot(services)
    await services.scheduler.stop()


async def test_healthy_bot_reports_every_check(bot: FakeBot) -> None:
    report = await check_health(bot)  # type: ignore[arg-type]
    assert report.healthy
    assert set(report.checks) == {"gateway", "database", "scheduler"}
    probe = await bot.services.db.fetch_value(
        "SELECT value FROM bot_state WHERE key = 'health_probe'"
    )
    assert probe == "2026-03-02 10:00:00"


@pytest.mark.parametrize(
    ("breakage", "failing", "reason"),
    [
        (lambda b: setattr(b, "ready", False), "gateway", "not connected yet"),
        (lambda b: setattr(b.ws, "open", False), "gateway", "reconnecting"),
        (lambda b: setattr(b, "closed", True), "gateway", "closed"),
        (lambda b: setattr(b, "accepting_interactions", False), "shutdown", "shutting down"),
    ],
)
async def test_each_failure_is_named(bot: FakeBot, breakage, failing: str, reason: str) -> None:
    breakage(bot)
    report = await check_health(bot)  # type: ignore[arg-type]
    assert not report.healthy
    assert list(report.failures) == [failing]
    assert reason in report.failures[failing]


async def test_a_stuck_scheduler_is_unhealthy(bot: FakeBot, clock: FixedClock) -> None:
    clock.advance(seconds=scheduler_stale_after(30) + 1)
    report = await check_health(bot)  # type: ignore[arg-type]
    assert list(report.failures) == ["scheduler"]
    assert "last tick finished" in report.failures["scheduler"]
    await bot.services.scheduler.stop()
    report = await check_health(bot)  # type: ignore[arg-type]
    assert report.failures["scheduler"] == "stopped"


async def test_healthz_does_not_write_on_every_request(bot: FakeBot, clock: FixedClock) -> None:
    db = bot.services.db

    async def probe() -> str:
        return await db.fetch_value("SELECT value FROM bot_state WHERE key = 'health_probe'")

    assert (await check_health(bot)).healthy  # type: ignore[arg-type]
    written = await probe()
    for _ in range(20):
        clock.advance(seconds=2)
        assert (await check_health(bot)).healthy  # type: ignore[arg-type]
    assert await probe() == written  # reads only, within the minute
    clock.advance(minutes=1)
    await check_health(bot)  # type: ignore[arg-type]
    assert await probe() > written  # one write a minute proves the disk


def test_the_health_endpoint_listens_on_loopback_unless_told_otherwise() -> None:
    assert Settings(_env_file=None).health_host == "127.0.0.1"
    assert Settings(_env_file=None, health_host="0.0.0.0").health_host == "0.0.0.0"


async def test_a_database_that_takes_no_writes_is_unhealthy(bot: FakeBot) -> None:
    db = bot.services.db
    await db.execute("ALTER TABLE bot_state RENAME TO bot_state_away")
    try:
        report = await check_health(bot)  # type: ignore[arg-type]
    finally:
        await db.execute("ALTER TABLE bot_state_away RENAME TO bot_state")
    assert list(report.failures) == ["database"]
    assert "not writable" in report.failures["database"]


@pytest.fixture
async def server(bot: FakeBot) -> AsyncIterator[HealthServer]:
    health = HealthServer(bot, "127.0.0.1", 0)  # type: ignore[arg-type]
    assert await health.start()
    yield health
    await health.stop()


async def get(server: HealthServer, path: str) -> tuple[int, str, str]:
    url = f"http://127.0.0.1:{server.bound_port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthz_over_http_is_200_then_503_with_the_reason(
    server: HealthServer, bot: FakeBot
) -> None:
    status, content_type, body = await get(server, "/healthz")
    assert status == 200 and content_type.startswith("application/json")
    assert '"status": "ok"' in body
    bot.ws = None
    status, _, body = await get(server, "/healthz")
    assert status == 503
    assert '"failing": ["gateway"]' in body


async def test_metrics_over_http_in_prometheus_text(server: HealthServer, bot: FakeBot) -> None:
    metrics = bot.services.metrics
    metrics.commands.labels(command="privacy export", outcome="ok").inc()
    metrics.command_seconds.labels(command="privacy export").observe(0.3)
    metrics.llm_tokens.inc(1234)
    metrics.llm_errors.inc()
    metrics.watch(shard_latencies=lambda: {0: 0.042, 1: None})
    status, content_type, body = await get(server, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    shards = 'shard_count="4",shards="0-1"'  # every sample names the process's shards
    assert f'mentor_commands_total{{command="privacy export",outcome="ok",{shards}}} 1.0' in body
    assert (
        f'mentor_command_duration_seconds_bucket{{command="privacy export",le="0.5",{shards}}} 1.0'
        in body
    )
    assert f"mentor_llm_tokens_total{{{shards}}} 1234.0" in body
    assert f"mentor_llm_errors_total{{{shards}}} 1.0" in body
    assert f"mentor_scheduler_lag_seconds{{{shards}}} 0.0" in body
    assert f'mentor_shard_latency_seconds{{shard="0",{shards}}} 0.042' in body
    assert 'shard="1"' not in body  # no heartbeat answered yet: no figure rather than inf
    sizes = [line for line in body.splitlines() if line.startswith("mentor_database_bytes")]
    if ON_POSTGRES:
        assert sizes == []  # a file's size: PostgreSQL's own monitoring reports its size
    else:
        assert float(sizes[0].split()[1]) >= bot.services.db.path.stat().st_size


async def test_scheduler_lag_and_failures_follow_the_scheduler(
    services: Services, clock: FixedClock
) -> None:
    async def broken(now) -> None:
        raise RuntimeError("job bug")

    services.scheduler.add_job("demo:broken", broken)
    await services.scheduler.run_once()
    clock.advance(seconds=95)
    body = services.metrics.render().decode()
    assert "mentor_scheduler_lag_seconds 95.0" in body
    assert 'mentor_scheduler_job_failures_total{job="demo:broken"} 1.0' in body


def test_each_bot_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.llm_tokens.inc(5)
    assert "mentor_llm_tokens_total 5.0" in one.render().decode()
    assert "mentor_llm_tokens_total 0.0" in two.render().decode()


async def test_port_in_use_is_logged_and_the_bot_goes_on(
    bot: FakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        health = HealthServer(bot, "127.0.0.1", port)  # type: ignore[arg-type]
        with caplog.at_level(logging.ERROR, logger="bot.health"):
            assert await health.start() is False
        await health.stop()
    [record] = caplog.records
    assert f"127.0.0.1:{port}" in record.getMessage()
    assert "runs without them" in record.getMessage()
    assert (await check_health(bot)).healthy  # type: ignore[arg-type]


async def test_healthz_reports_each_shard_and_names_the_one_down(bot: FakeBot) -> None:
    states = [ShardState(0, True, True, 0.042), ShardState(1, False, True, None)]
    bot.shard_states = lambda: states  # type: ignore[method-assign]
    report = await check_health(bot)  # type: ignore[arg-type]
    assert report.failures == {"gateway": "shard 1 disconnected, reconnecting"}
    body = report.as_json()
    assert (body["shards"], body["shard_count"]) == ("0-1", "4")
    assert body["gateway"] == {
        "0": {"connected": True, "ready": True, "latency_ms": 42.0},
        "1": {"connected": False, "ready": True, "latency_ms": None},
    }
    states[1] = ShardState(1, True, True, 0.05)
    report = await check_health(bot)  # type: ignore[arg-type]
    assert report.healthy and report.checks["gateway"] == "2 shards connected"
