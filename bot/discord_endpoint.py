"""Point discord.py at another Discord (DISCORD_API_URL: the simulator) through its two URL
globals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import discord.gateway
import discord.http
import yarl

API_SUFFIX = "/api/v10"


def point_discord_at(api_url: str, gateway_url: str | None = None) -> None:
    """Send discord.py's REST calls to `api_url` and its gateway connection to `gateway_url`.

    `api_url` is the base of API v10 (".../api/v10"); the gateway defaults to "/gateway"
    on the same host, which is where the simulator serves it.
    """
    api_url = api_url.rstrip("/")
    if gateway_url is None:
        root = api_url.removesuffix(API_SUFFIX)
        gateway_url = root.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        gateway_url += "/gateway"
    discord.http.Route.BASE = api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


@contextmanager
def discord_pointed_at(api_url: str, gateway_url: str | None = None) -> Iterator[None]:
    """`point_discord_at` for a block, restoring discord.py's own URLs afterwards."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_at(api_url, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
