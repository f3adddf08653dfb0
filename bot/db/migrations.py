"""Numbered migration files, one folder per engine, and the rules both engines apply.

`migrations/sqlite/NNNN_name.sql` and `migrations/postgres/NNNN_name.sql` hold the same
numbers and names: each number is one schema change, written in each engine's dialect. A
database records the number, name and SHA-256 of every file applied to it, so start-up
refuses a file edited after it was applied, and a database newer than the code, on both
engines alike. The SQLite files are the ones SQLite databases were always migrated with
(same bytes, same checksums), so existing databases upgrade in place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StartupError

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent.parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
ENGINES = ("sqlite", "postgres")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def migrations_dir(engine: str) -> Path:
    return MIGRATIONS_ROOT / engine


def load_migrations(engine: str = "sqlite", directory: Path | None = None) -> list[Migration]:
    """Read `NNNN_name.sql` files in order of their number; numbers must be unique."""
    directory = migrations_dir(engine) if directory is None else directory
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            raise StartupError(f"Migration file {path.name} must be named NNNN_name.sql.")
        migrations.append(
            Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8"))
        )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise StartupError("Two migration files share a number: renumber the newer one.")
    return migrations


def check_applied(
    migrations: list[Migration], applied: dict[int, str], where: str
) -> list[Migration]:
    """What is left to apply, after refusing an edited file or a database newer than the code."""
    known = {m.version: m for m in migrations}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise StartupError(
            f"The database {where} has migration {newer[-1]:04d}, newer than this code: "
            "upgrade the bot, or restore a backup made by this version."
        )
    for version, checksum in applied.items():
        if known[version].checksum != checksum:
            raise StartupError(
                f"Migration {known[version].filename} was edited after it was applied to "
                f"{where}: restore the file, and put schema changes in a new migration."
            )
    pending = [m for m in migrations if m.version not in applied]
    if pending and applied and pending[0].version < max(applied):
        raise StartupError(
            f"Migration {pending[0].filename} is numbered below one already applied to "
            f"{where}: give it a number after {max(applied):04d}."
        )
    return pending
