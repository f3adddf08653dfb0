"""The challenge bank: challenges shipped in content/challenges/, plus each server's own."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from functools import cache
from pathlib import Path

from bot.clock import Clock, to_db_time
from bot.config import Settings
from bot.db import Database
from bot.errors import DomainError, NotFound, StartupError
from bot.services.challenges.bank_format import (
    BankFormatError,
    parse_challenge,
    parse_challenges,
    parse_document,
)
from bot.services.challenges.model import BankEntry, Challenge

CONTENT_DIR = Path(__file__).resolve().parents[3] / "content" / "challenges"


@cache
def load_shipped(directory: Path = CONTENT_DIR) -> tuple[Challenge, ...]:
    """Every challenge in the content folder's .toml files, validated, ids unique (cached)."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise StartupError(f"No challenge files in {directory}: the bank is missing.")
    challenges: list[Challenge] = []
    origin: dict[str, str] = {}
    for path in files:
        try:
            entries, locate = parse_document(path.read_text(encoding="utf-8"), "toml")
            parsed = parse_challenges(entries, locate)
        except BankFormatError as exc:
            raise StartupError(f"{path.name}: " + "; ".join(exc.problems)) from None
        for challenge in parsed:
            if challenge.id in origin:
                raise StartupError(
                    f"{path.name}: id '{challenge.id}' is also used in {origin[challenge.id]}"
                )
            origin[challenge.id] = path.name
            challenges.append(challenge)
    return tuple(challenges)


def describe_bank(challenges: tuple[Challenge, ...]) -> str:
    kinds = Counter(c.kind.value for c in challenges)
    return (
        f"challenges: {len(challenges)} ({kinds['quiz']} quizzes, {kinds['task']} tasks), "
        f"{len({c.phase for c in challenges})} phases, {len({c.topic for c in challenges})} topics"
    )


class ChallengeBank:
    def __init__(
        self, db: Database, clock: Clock, settings: Settings, shipped: tuple[Challenge, ...]
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.shipped = shipped
        self._shipped_by_id = {c.id: c for c in shipped}

    async def entries(self, guild_id: int) -> list[BankEntry]:
        """Every challenge this server has, disabled ones flagged, shipped ones first."""
        disabled = await self.disabled_ids(guild_id)
        custom = await self._custom(guild_id)
        return [BankEntry(c, c.id in disabled) for c in (*self.shipped, *custom)]

    async def available(self, guild_id: int) -> list[Challenge]:
        return [e.challenge for e in await self.entries(guild_id) if not e.disabled]

    async def get(self, guild_id: int, challenge_id: str) -> Challenge:
        """A challenge by id (enabled or not); NotFound when this server has no such id."""
        shipped = self._shipped_by_id.get(challenge_id)
        if shipped is not None:
            return shipped
        row = await self.db.fetch_one(
            "SELECT payload FROM challenge_custom WHERE guild_id = ? AND challenge_id = ?",
            (guild_id, challenge_id),
        )
        if row is None:
            raise NotFound(f"There is no challenge '{challenge_id[:40]}' in this server's bank.")
        return parse_challenge(json.loads(row["payload"]), custom=True)

    def from_snapshot(self, payload: str | None) -> Challenge | None:
        """A challenge as stored when it was posted (its import format, as JSON); None
        without a snapshot, or when this version's validation no longer accepts it."""
        if payload is None:
            return None
        try:
            challenge = parse_challenge(json.loads(payload))
        except ValueError:
            return None
        return replace(challenge, custom=challenge.id not in self._shipped_by_id)

    async def disabled_ids(self, guild_id: int) -> set[str]:
        rows = await self.db.fetch_all(
            "SELECT challenge_id FROM challenge_disabled WHERE guild_id = ?", (guild_id,)
        )
        return {row["challenge_id"] for row in rows}

    async def _custom(self, guild_id: int) -> list[Challenge]:
        rows = await self.db.fetch_all(
            "SELECT payload FROM challenge_custom WHERE guild_id = ? "
            "ORDER BY created_at, challenge_id",
            (guild_id,),
        )
        return [parse_challenge(json.loads(row["payload"]), custom=True) for row in rows]

    async def add(self, guild_id: int, user_id: int, raw: dict[str, object]) -> Challenge:
        """Validate and store one challenge written by a moderator."""
        try:
            challenge = parse_challenge(raw, custom=True)
        except ValueError as exc:
            raise DomainError(f"Not added: {exc}.") from None
        await self._insert(guild_id, user_id, [challenge])
        return challenge

    async def import_file(
        self, guild_id: int, user_id: int, filename: str, data: bytes
    ) -> list[Challenge]:
        """Import every challenge in a .json or .toml file, or none with precise errors."""
        limit = self.settings.challenge_import_max_bytes
        if len(data) > limit:
            raise DomainError(f"That file is {len(data):,} bytes; the limit is {limit:,}.")
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if suffix not in ("json", "toml"):
            raise DomainError("Attach a .json or .toml file (see the README for the format).")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DomainError(f"line {line}: the file is not UTF-8 text.") from None
        entries, locate = parse_document(text, suffix)
        if not entries:
            raise DomainError("That file has no challenges in it.")
        challenges = parse_challenges(entries, locate, custom=True)
        await self._insert(guild_id, user_id, challenges, locate=locate)
        return challenges

    async def _insert(
        self, guild_id: int, user_id: int, challenges: list[Challenge], locate=None
    ) -> None:
        now = to_db_time(self.clock.now())
        async with self.db.transaction() as tx:
            await tx.lock("challenge_custom", guild_id)
            rows = await tx.fetch_all(
                "SELECT challenge_id FROM challenge_custom WHERE guild_id = ?", (guild_id,)
            )
            existing = {row[0] for row in rows}
            problems = []
            for index, challenge in enumerate(challenges):
                if challenge.id in self._shipped_by_id or challenge.id in existing:
                    line = locate(index, {"id": challenge.id}) if locate else None
                    where = f"line {line}: " if line else ""
                    problems.append(f"{where}id '{challenge.id}' is already in the bank")
            if problems:
                if locate is None:
                    raise DomainError(f"Not added: {problems[0]}; pick another id.")
                raise BankFormatError(problems)
            limit = self.settings.challenge_custom_max
            if len(existing) + len(challenges) > limit:
                raise DomainError(
                    f"This server's bank would hold {len(existing) + len(challenges)} custom "
                    f"challenges; the limit is {limit}. Disable or trim some first."
                )
            await tx.executemany(
                "INSERT INTO challenge_custom (guild_id, challenge_id, payload, phase, topic,"
                " difficulty, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        guild_id,
                        c.id,
                        json.dumps(c.to_payload(), ensure_ascii=False),
                        c.phase.value,
                        c.topic,
                        c.difficulty.value,
                        user_id,
                        now,
                    )
                    for c in challenges
                ],
            )

    async def disable(self, guild_id: int, user_id: int, challenge_id: str) -> Challenge:
        challenge = await self.get(guild_id, challenge_id.strip())
        changed = await self.db.execute(
            "INSERT INTO challenge_disabled (guild_id, challenge_id, disabled_by, disabled_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, challenge.id, user_id, to_db_time(self.clock.now())),
        )
        if changed == 0:
            raise DomainError(f"'{challenge.id}' is already disabled.")
        return challenge

    async def search(
        self,
        guild_id: int,
        *,
        phase: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
    ) -> list[BankEntry]:
        return [
            e
            for e in await self.entries(guild_id)
            if (phase is None or e.challenge.phase == phase)
            and (topic is None or e.challenge.topic == topic)
            and (difficulty is None or e.challenge.difficulty == difficulty)
        ]

    async def ids_matching(self, guild_id: int, text: str, limit: int = 25) -> list[str]:
        needle = text.strip().lower()
        return [e.challenge.id for e in await self.entries(guild_id) if needle in e.challenge.id][
            :limit
        ]
