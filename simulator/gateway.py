"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME, dispatch.

Frames go out as uncompressed JSON text. discord.py asks for `compress=zlib-stream` (or
zstd) in the URL but only decompresses binary frames, so plain text frames are what a
server that ignores the parameter would send, and discord.py reads them as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from simulator import payloads
from simulator.state import SimState

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41_250
REPLAY_BUFFER = 5_000
GUILDS_INTENT = 1 << 0
PRESENCES_INTENT = 1 << 8
# Events and the intent they need (None: always sent).
EVENT_INTENTS: dict[str, int | None] = {
    "GUILD_CREATE": GUILDS_INTENT,
    "GUILD_DELETE": GUILDS_INTENT,
    "CHANNEL_CREATE": GUILDS_INTENT,
    "CHANNEL_UPDATE": GUILDS_INTENT,
    "CHANNEL_DELETE": GUILDS_INTENT,
    "THREAD_CREATE": GUILDS_INTENT,
    "THREAD_UPDATE": GUILDS_INTENT,
    "THREAD_DELETE": GUILDS_INTENT,
    "THREAD_MEMBER_UPDATE": GUILDS_INTENT,
    "GUILD_ROLE_CREATE": GUILDS_INTENT,
    "GUILD_ROLE_UPDATE": GUILDS_INTENT,
    "GUILD_MEMBER_UPDATE": 1 << 1,  # GUILD_MEMBERS, privileged: Mentor does not ask for it
    "MESSAGE_CREATE": 1 << 9,  # GUILD_MESSAGES
    "INTERACTION_CREATE": None,
}
AUTHENTICATION_FAILED = 4004
# Discord recommends about one shard per 1,000 servers, and requires one per 2,500.
SERVERS_PER_RECOMMENDED_SHARD = 1_000
# One IDENTIFY per 5 s in each bucket (shard_id % max_concurrency).
IDENTIFY_WINDOW_SECONDS = 5.0


@dataclass
class GatewaySession:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    sent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wants(self, event: str) -> bool:
        needed = EVENT_INTENTS.get(event)
        return needed is None or bool(self.intents & needed)


class Gateway:
    def __init__(self, state: SimState, url: Callable[[], str]) -> None:
        self.state = state
        self.url = url
        self.sessions: dict[str, GatewaySession] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.ready = asyncio.Event()
        self.resumed = asyncio.Event()
        # Send every member in GUILD_CREATE even without the presence intent (a worst case,
        # for the memory benchmark).
        self.all_members_in_guild_create = False
        # GET /gateway/bot: `shards` (None: one per 1,000 servers, as Discord recommends)
        # and `session_start_limit.max_concurrency`.
        self.recommended_shards: int | None = None
        self.max_concurrency = 1
        # Off by default (tests start shards at any pace); True refuses, as Discord does, a
        # second IDENTIFY in a bucket within 5 s with INVALID_SESSION.
        self.enforce_identify_limit = False
        self.identifies_refused = 0
        self._last_identify: dict[int, float] = {}
        # (shard id or None, monotonic time) of each accepted IDENTIFY, for the benchmark.
        self.identified: list[tuple[int | None, float]] = []

    def shards_to_recommend(self) -> int:
        if self.recommended_shards is not None:
            return self.recommended_shards
        return max(1, math.ceil(len(self.state.guilds) / SERVERS_PER_RECOMMENDED_SHARD))

    def owns(self, session: GatewaySession, guild_id: int | None) -> bool:
        """Whether events of this guild go to this session: the shard `(guild_id >> 22) %
        count`; direct messages (no guild) go to shard 0 only, as on Discord."""
        if session.shard is None:
            return True
        shard_id, count = session.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id

    def _identify_too_soon(self, shard: list[int] | None) -> bool:
        if not self.enforce_identify_limit:
            return False
        bucket = (shard[0] if shard else 0) % max(1, self.max_concurrency)
        now = time.monotonic()
        last = self._last_identify.get(bucket)
        if last is not None and now - last < IDENTIFY_WINDOW_SECONDS:
            return True
        self._last_identify[bucket] = now
        return False

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await socket.prepare(request)
        self.sockets.add(socket)
        session: GatewaySession | None = None
        try:
            await socket.send_str(
                json.dumps({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            )
            async for frame in socket:
                if frame.type is not WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                op, data = message.get("op"), message.get("d")
                if op == HEARTBEAT:
                    self.heartbeats += 1
                    await socket.send_str(json.dumps({"op": HEARTBEAT_ACK}))
                elif op == IDENTIFY:
                    session = await self._identify(socket, data)
                elif op == RESUME:
                    session = await self._resume(socket, data)
                else:
                    log.debug("Gateway op %s ignored", op)
        finally:
            self.sockets.discard(socket)
            if session is not None and session.socket is socket:
                session.socket = None
        return socket

    async def _identify(
        self, socket: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        if data.get("token") != self.state.token:
            await socket.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return None
        if self._identify_too_soon(data.get("shard")):
            self.identifies_refused += 1
            await socket.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        self.identifies += 1
        self.identified.append(((data.get("shard") or [None])[0], time.monotonic()))
        session = GatewaySession(
            secrets.token_hex(16), int(data.get("intents", 0)), data.get("shard")
        )
        self.sessions[session.id] = session
        session.socket = socket
        guilds = self._guilds_for(session)
        ready = {
            "v": 10,
            "user": payloads.bot_user(self.state),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url(),
            "application": {"id": str(self.state.application_id), "flags": 1 << 19},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["simulated"],
            "user_settings": {},
            "auth": {},
            "_trace": ["simulator"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        await self._send_dispatch(session, "READY", ready)
        threads = payloads.active_threads(self.state)
        for guild in guilds:
            if session.wants("GUILD_CREATE"):
                everyone = self.all_members_in_guild_create or bool(
                    session.intents & PRESENCES_INTENT
                )
                data = payloads.guild_create(
                    self.state, guild, all_members=everyone, threads=threads
                )
                await self._send_dispatch(session, "GUILD_CREATE", data)
        self.ready.set()
        return session

    def _guilds_for(self, session: GatewaySession) -> list[Any]:
        return [g for g in self.state.guilds.values() if self.owns(session, g.id)]

    async def _resume(
        self, socket: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        session = self.sessions.get(data.get("session_id") or "")
        if session is None or data.get("token") != self.state.token:
            await socket.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        self.resumes += 1
        async with session.lock:
            session.socket = socket
            last = int(data.get("seq") or 0)
            for seq, frame in list(session.sent):
                if seq > last:
                    await socket.send_str(frame)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["simulator"]})
        self.resumed.set()
        return session

    async def _send_dispatch(self, session: GatewaySession, event: str, data: Any) -> None:
        async with session.lock:
            session.seq += 1
            frame = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
            session.sent.append((session.seq, frame))
            socket = session.socket
            if socket is not None and not socket.closed:
                try:
                    await socket.send_str(frame)
                except (ConnectionError, RuntimeError):
                    log.debug("Gateway frame %s queued for RESUME", session.seq)

    async def dispatch(self, event: str, data: Any, guild_id: int | None = None) -> None:
        """Send an event to every session that wants it and whose shard owns the guild."""
        for session in list(self.sessions.values()):
            if session.wants(event) and self.owns(session, guild_id):
                await self._send_dispatch(session, event, data)

    async def drop(self) -> None:
        """Close every socket as a network failure would; sessions stay resumable."""
        self.resumed.clear()
        for socket in list(self.sockets):
            await socket.close(code=4000, message=b"Simulated connection drop")

    async def close(self) -> None:
        for socket in list(self.sockets):
            await socket.close(code=1001, message=b"Simulator shutting down")
        self.sessions.clear()
