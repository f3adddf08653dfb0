"""Restore checks the schema, not only the data; every connection distrusts the file's schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.db import Database, load_migrations, open_database
from bot.db.sqlite import SqliteDatabase
from bot.db.sqlite_hardening import harden
from bot.errors import StartupError
from bot.services.backups import BackupError, backup_database, restore_database, verify_database

# The attack from the issue: every new question is copied into another server's rows.
EXFILTRATING_TRIGGER = (
    "CREATE TRIGGER qa_copy AFTER INSERT ON qa_questions BEGIN "
    "INSERT INTO qa_questions (guild_id, user_id, channel_id, question, normalized, created_at)"
    " VALUES (666, new.user_id, 0, new.question, new.normalized, new.created_at); END"
)

pytestmark = pytest.mark.usefixtures("sqlite_only")  # restore is for SQLite files


def tampered(source: Path, dest: Path, statement: str) -> Path:
    backup_database(source, dest)
    with sqlite3.connect(dest) as conn:
        conn.execute(statement)
    return dest


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (EXFILTRATING_TRIGGER, "an extra trigger 'qa_copy'"),
        ("CREATE VIEW everyone AS SELECT user_id, question FROM qa_questions", "an extra view"),
        ("CREATE INDEX sneaky ON qa_questions (question)", "an extra index 'sneaky'"),
        ("ALTER TABLE guild_settings ADD COLUMN webhook TEXT", "a changed table"),
        ("DROP INDEX qa_questions_user", "no index 'qa_questions_user'"),
        (  # the triggers that wrote the full-text index before migration 0014
            "CREATE TRIGGER qa_chunks_ai AFTER INSERT ON qa_chunks BEGIN "
            "INSERT INTO qa_chunks_fts (rowid, title, section, body, scope) "
            "VALUES (new.id, new.title, new.section, new.body, new.scope); END",
            "an extra trigger 'qa_chunks_ai'",
        ),
    ],
)
async def test_restore_refuses_a_schema_the_migrations_do_not_produce(
    db: Database, tmp_path: Path, clock: FixedClock, statement: str, named: str
) -> None:
    bad = tampered(db.path, tmp_path / "tampered.db", statement)
    with pytest.raises(BackupError, match="not a database Mentor made") as caught:
        restore_database(bad, tmp_path / "live.db", clock.now())
    assert named in caught.value.args[0]
    assert not (tmp_path / "live.db").exists()


async def test_a_backup_made_before_the_latest_migrations_is_accepted(tmp_path: Path) -> None:
    older = await SqliteDatabase.open(tmp_path / "older.db")
    await older.migrate(load_migrations()[:5])
    await older.close()
    check = verify_database(tmp_path / "older.db")
    assert check.version == 5 and check.pending_migrations == len(load_migrations()) - 5
    with sqlite3.connect(tmp_path / "older.db") as conn:
        conn.execute(EXFILTRATING_TRIGGER)
    with pytest.raises(BackupError, match="an extra trigger"):
        verify_database(tmp_path / "older.db")


async def test_statistics_sqlite_adds_itself_do_not_block_a_restore(
    db: Database, tmp_path: Path
) -> None:
    analysed = tampered(db.path, tmp_path / "analysed.db", "ANALYZE")
    assert verify_database(analysed).pending_migrations == 0


async def test_the_bot_refuses_to_open_its_own_database_with_a_foreign_schema(
    tmp_path: Path,
) -> None:
    db = await open_database(tmp_path / "mentor.db")
    await db.close()
    with sqlite3.connect(tmp_path / "mentor.db") as conn:
        conn.execute(EXFILTRATING_TRIGGER)
    with pytest.raises(StartupError, match="an extra trigger 'qa_copy'"):
        await open_database(tmp_path / "mentor.db")


async def test_connections_distrust_the_schema_of_the_file(tmp_path: Path) -> None:
    """The writer, the readers, the checkpointer and every backup connection run with
    trusted_schema off."""
    db = await open_database(tmp_path / "mentor.db")
    try:
        assert await db.fetch_value("PRAGMA trusted_schema") == 0
        async with db.transaction() as tx:
            assert await tx.fetch_value("PRAGMA trusted_schema") == 0
        copy = backup_database(db.path, tmp_path / "copy.db").path
        with sqlite3.connect(copy) as conn:
            conn.execute(
                "CREATE VIEW sneaky AS SELECT * FROM qa_chunks_fts WHERE qa_chunks_fts MATCH 'x'"
            )
        hardened = sqlite3.connect(copy)
        harden(hardened)
        with pytest.raises(sqlite3.OperationalError, match="unsafe use of virtual table"):
            hardened.execute("SELECT * FROM sneaky").fetchall()
        hardened.close()
        if hasattr(sqlite3.Connection, "setconfig"):  # defensive mode: Python 3.12 and later
            defensive = await db.run_transaction(
                lambda conn: conn.getconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE)
            )
            assert defensive
    finally:
        await db.close()
