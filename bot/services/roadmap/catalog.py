"""Which roadmap a server follows: the built-in one, or its own import (replace or extend)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.clock import Clock, to_db_time
from bot.db import Database, Row, Transaction
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
from bot.services.roadmap.plan import current_phase, phase_progress

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".toml", ".json")


class ImportMode(StrEnum):
    REPLACE = "replace"
    EXTEND = "extend"
    BUILTIN = "builtin"


@dataclass(frozen=True)
class ImportResult:
    mode: ImportMode
    roadmap: Roadmap
    members_moved: int  # members whose current phase changed with the new content


class RoadmapCatalog:
    def __init__(self, db: Database, clock: Clock, max_bytes: int) -> None:
        self.db = db
        self.clock = clock
        self.max_bytes = max_bytes
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
            moved = await move_phases(tx, guild_id, roadmap)
        self._cache[guild_id] = roadmap
        return ImportResult(mode, roadmap, moved)

    def forget(self, guild_id: int) -> None:
        self._cache.pop(guild_id, None)


async def move_phases(tx: Transaction, guild_id: int, roadmap: Roadmap) -> int:
    """Re-derive every member's current phase after the content changed; returns how many moved."""
    rows = await tx.fetch_all(
        "SELECT user_id, track, phase FROM roadmap_members WHERE guild_id = ?", (guild_id,)
    )
    done_by_member: dict[int, set[str]] = {}
    for user_id, milestone in await tx.fetch_all(
        "SELECT user_id, milestone FROM roadmap_milestones WHERE guild_id = ?", (guild_id,)
    ):
        done_by_member.setdefault(user_id, set()).add(milestone)
    moved = 0
    for user_id, track, phase in rows:
        done = done_by_member.get(user_id, set())
        new_phase = min(
            current_phase(phase_progress(roadmap, track, done)), len(roadmap.phases) + 1
        )
        if new_phase != phase:
            moved += 1
            await tx.execute(
                "UPDATE roadmap_members SET phase = ?, roles_dirty = 1 "
                "WHERE guild_id = ? AND user_id = ?",
                (new_phase, guild_id, user_id),
            )
    return moved
