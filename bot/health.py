"""The optional HTTP endpoint: `/healthz` for liveness checks, `/metrics` for Prometheus.

Off unless HEALTH_PORT is set; bound to HEALTH_HOST (127.0.0.1) so only the machine (or
the container's own health check) can reach it. A port already in use is logged and the
bot carries on without the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bot.metrics import CONTENT_TYPE
from bot.shards import ShardState

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

DATABASE_PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    shards: list[ShardState] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "checks": {**self.checks, **self.failures},
            "failing": sorted(self.failures),
            **self.labels,
            "gateway": {str(shard.id): shard.as_json() for shard in self.shards},
        }


def scheduler_stale_after(interval_seconds: float) -> float:
    """Seconds without a finished tick before the scheduler counts as stuck."""
    return 3 * interval_seconds + 60


async def check_health(bot: MentorBot) -> HealthReport:
    """Every shard connected, database writable, scheduler ticking, not shutting down."""
    checks: dict[str, str] = {}
    failures: dict[str, str] = {}

    shards = bot.shard_states()
    down = [str(shard.id) for shard in shards if not shard.connected]
    if bot.is_closed():
        failures["gateway"] = "closed"
    elif not bot.is_ready():
        failures["gateway"] = "not connected yet"
    elif down:
        failures["gateway"] = f"shard {', '.join(down)} disconnected, reconnecting"
    else:
        checks["gateway"] = "connected" if len(shards) < 2 else f"{len(shards)} shards connected"

    try:
        await asyncio.wait_for(bot.services.bot_state.probe(), DATABASE_PROBE_TIMEOUT)
    except TimeoutError:
        failures["database"] = f"no write within {DATABASE_PROBE_TIMEOUT:.0f} s"
    except Exception as exc:
        failures["database"] = f"not writable: {exc}"
    else:
        checks["database"] = "writable"

    scheduler = bot.services.scheduler
    lag = scheduler.lag_seconds()
    limit = scheduler_stale_after(scheduler.interval_seconds)
    if not scheduler.running:
        failures["scheduler"] = "stopped"
    elif lag is None:
        failures["scheduler"] = "no tick finished yet"
    elif lag > limit:
        failures["scheduler"] = f"last tick finished {lag:.0f} s ago (limit {limit:.0f} s)"
    else:
        checks["scheduler"] = f"last tick {lag:.0f} s ago"

    if not bot.accepting_interactions:
        failures["shutdown"] = "shutting down"
    return HealthReport(checks, failures, shards, bot.shard_labels())


class HealthServer:
    def __init__(self, bot: MentorBot, host: str, port: int) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        self._site: web.TCPSite | None = None

    @property
    def bound_port(self) -> int | None:
        """The port actually listened on (differs from `port` when it was 0)."""
        if self._site is None or not self._runner.addresses:
            return None
        return self._runner.addresses[0][1]

    async def start(self) -> bool:
        """Listen; False (and one clear log line) when the address cannot be used."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            log.error(
                "Cannot serve /healthz and /metrics on %s:%s (%s). The bot runs without "
                "them; set HEALTH_PORT to a free port, or leave it empty to turn this off.",
                self.host,
                self.port,
                exc.strerror or exc,
            )
            return False
        self._site = site
        log.info("Serving /healthz and /metrics on http://%s:%s", self.host, self.bound_port)
        return True

    async def stop(self) -> None:
        if self._site is not None:
            await self._runner.cleanup()
            self._site = None

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await check_health(self.bot)
        return web.json_response(report.as_json(), status=200 if report.healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.bot.services.metrics.render(self.bot.shard_labels())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
