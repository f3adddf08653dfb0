"""Which roadmap a server follows: the built-in one, or its own import (replace or extend)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.clock import Clock, to_db_time
from bot.db import Database, Row
from bot.errors import DomainError
from bot.services.roadmap.content import (
    IMPORT_LIMITS,
    Roadmap,
    RoadmapFileError,
    build_roadmap,
    extend_roadmap,
    load_builtin,
    parse_document,
)
from bot.services.roadmap.reconcile import (
    Reconciled,
    reconcile_guild,
    reconcile_members,
    record_reconciled,
)
from bot.shards import EVERY_SHARD, ShardScope

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".toml", ".json")
SYNC_BATCH = 2_000  # members reconciled per transaction at start-up


class ImportMode(StrEnum):
    REPLACE = "replace"
    EXTEND = "extend"
    BUILTIN = "builtin"


@dataclass(frozen=True)
class ImportResult:
    mode: ImportMode
    roadmap: Roadmap
    members_moved: int  # members whose current phase changed with the new content
    milestones_archived: int  # ticked milestones the new content no longer offers


@dataclass(frozen=True)
class SyncReport:
    servers: int  # servers whose roadmap changed since their members were last reconciled
    archived: int
    restored: int
    moved: int


class RoadmapCatalog:
    def __init__(
        self, db: Database, clock: Clock, max_bytes: int, *, shards: ShardScope = EVERY_SHARD
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_bytes = max_bytes
        self.shards = shards
        self.builtin = load_builtin()
        self._cache: dict[int, Roadmap] = {}

    async def get(self, guild_id: int) -> Roadmap:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        row = await self.db.fetch_one(
            "SELECT mode, body, filename FROM roadmap_custom WHERE guild_id = ?", (guild_id,)
        )
        try:
            roadmap = self.builtin if row is None else self._from_stored(row)
        except RoadmapFileError:
            # A stored extension can clash with a newer built-in roadmap: fall back, loudly.
            log.exception(
                "Server %s's stored roadmap no longer loads; using the built-in", guild_id
            )
            roadmap = self.builtin
        self._cache[guild_id] = roadmap
        return roadmap

    def _from_stored(self, row: Row) -> Roadmap:
        document = json.loads(row["body"])
        if row["mode"] == ImportMode.EXTEND:
            return extend_roadmap(self.builtin, document, {}, row["filename"], IMPORT_LIMITS)
        return build_roadmap(document, {}, row["filename"], IMPORT_LIMITS)

    def parse(self, filename: str, data: bytes, mode: ImportMode) -> tuple[Roadmap, dict]:
        """Validate an uploaded file; raise a `RoadmapFileError` naming lines on failure."""
        name = filename.strip()[:100] or "roadmap"
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise DomainError("Attach a .toml or .json file (see content/roadmap/roadmap.toml).")
        if len(data) > self.max_bytes:
            raise DomainError(f"{name} is larger than {self.max_bytes // 1024} KB.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise RoadmapFileError(name, [(line, "the file is not UTF-8 text")]) from None
        document, lines = parse_document(text, name)
        if mode is ImportMode.EXTEND:
            roadmap = extend_roadmap(self.builtin, document, lines, name, IMPORT_LIMITS)
        else:
            roadmap = build_roadmap(document, lines, name, IMPORT_LIMITS)
        return roadmap, document

    async def import_file(
        self, guild_id: int, user_id: int, filename: str, data: bytes | None, mode: ImportMode
    ) -> ImportResult:
        """Store a server's roadmap (or go back to the built-in one) and move members' phases."""
        if mode is ImportMode.BUILTIN:
            roadmap, document = self.builtin, None
        else:
            if data is None:
                raise DomainError("Attach the roadmap file (.toml or .json) to import.")
            roadmap, document = self.parse(filename, data, mode)
        now = self.clock.now()

        async with self.db.transaction() as tx:
            await tx.lock("roadmap-custom", guild_id)
            rows = await tx.fetch_all(
                "SELECT DISTINCT track FROM roadmap_members WHERE guild_id = ?", (guild_id,)
            )
            tracks_in_use = {r[0] for r in rows}
            missing = sorted(t for t in tracks_in_use if roadmap.track(t) is None)
            if missing:
                raise DomainError(
                    f"Members follow the track(s) {', '.join(missing)}, which this roadmap "
                    "does not have. Keep those track keys, or ask those members to leave first."
                )
            if document is None:
                await tx.execute("DELETE FROM roadmap_custom WHERE guild_id = ?", (guild_id,))
            else:
                await tx.execute(
                    "INSERT INTO roadmap_custom (guild_id, mode, body, filename, imported_by, "
                    "imported_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
                    "mode = excluded.mode, body = excluded.body, filename = excluded.filename, "
                    "imported_by = excluded.imported_by, imported_at = excluded.imported_at",
                    (
                        guild_id,
                        mode.value,
                        json.dumps(document, ensure_ascii=False),
                        filename[:100],
                        user_id,
                        to_db_time(now),
                    ),
                )
            done = await reconcile_guild(tx, guild_id, roadmap, now)
        self._cache[guild_id] = roadmap
        return ImportResult(mode, roadmap, done.moved, done.archived)

    async def sync_members(self) -> SyncReport:
        """Reconcile the members of every server of this process's shards whose roadmap
        changed since the last time.

        Run at start-up: a new built-in roadmap reaches every server that follows or extends
        it. An unchanged roadmap costs one query for all servers. In a shard cluster each
        process reconciles its own servers, so none is done twice at once.
        """
        rows = await self.db.fetch_all(
            "SELECT g.guild_id, s.fingerprint, c.guild_id IS NOT NULL AS custom "
            "FROM (SELECT DISTINCT guild_id FROM roadmap_members "
            f"WHERE {self.shards.sql('guild_id')}) g "
            "LEFT JOIN roadmap_content_state s ON s.guild_id = g.guild_id "
            "LEFT JOIN roadmap_custom c ON c.guild_id = g.guild_id ORDER BY g.guild_id"
        )
        builtin = self.builtin.fingerprint()
        servers, total = 0, Reconciled()
        for guild_id, stored, custom in rows:
            if not custom and stored == builtin:
                continue
            roadmap = await self.get(guild_id)
            if roadmap.fingerprint() == stored:
                continue
            servers += 1
            total += await self._reconcile_in_batches(guild_id, roadmap)
        report = SyncReport(servers, total.archived, total.restored, total.moved)
        if report.servers:
            log.info(
                "Roadmap content changed for %d server(s): %d milestone(s) archived, "
                "%d restored, %d member(s) changed phase",
                report.servers,
                report.archived,
                report.restored,
                report.moved,
            )
        return report

    async def _reconcile_in_batches(self, guild_id: int, roadmap: Roadmap) -> Reconciled:
        """A server's members a batch per transaction, so writes never wait long; recorded
        as done only after the last batch (a crash half-way redoes it at the next start)."""
        rows = await self.db.fetch_all(
            "SELECT user_id FROM roadmap_members WHERE guild_id = ? ORDER BY user_id",
            (guild_id,),
        )
        ids = [row[0] for row in rows]
        total = Reconciled()
        for start in range(0, len(ids), SYNC_BATCH):
            batch = ids[start : start + SYNC_BATCH]
            async with self.db.transaction() as conn:
                total += await reconcile_members(
                    conn, guild_id, roadmap, self.clock.now(), (batch[0], batch[-1])
                )
        async with self.db.transaction() as conn:
            await record_reconciled(conn, guild_id, roadmap, self.clock.now())
        return total

    def forget(self, guild_id: int) -> None:
        self._cache.pop(guild_id, None)
