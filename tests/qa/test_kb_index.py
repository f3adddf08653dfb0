"""The knowledge base writes its full-text index itself, in the transaction that writes the
passages (bot/services/qa/fts_writes.py), so every SQLite connection, the writer included,
runs with trusted_schema = OFF (issue 12).

After each add, edit, removal, erasure, server removal, copy and upgrade, the index holds
exactly the passages of qa_chunks (FTS5's own integrity check against its content table,
and the indexed rows) and searches find what is there and nothing that is gone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database, connect, load_migrations, open_database
from bot.db.copy import copy_data
from bot.db.sqlite import SqliteDatabase
from bot.db.url import SqliteTarget
from bot.services.qa import QAService
from bot.wiring import build_text_search
from tests.qa.conftest import ALICE, BOB, GUILD, OTHER_GUILD

MODERATOR = 99


async def index_matches_table(db: Database) -> None:
    """SQLite: the FTS5 index holds exactly qa_chunks' rows, with their current text."""
    if db.engine != "sqlite":
        return  # PostgreSQL's tsvector is a generated column of the row itself
    async with db.transaction() as tx:
        # Raises "database disk image is malformed" when the index and the table differ.
        await tx.execute(
            "INSERT INTO qa_chunks_fts (qa_chunks_fts, rank) VALUES ('integrity-check', 1)"
        )
        indexed = {r[0] for r in await tx.fetch_all("SELECT id FROM qa_chunks_fts_docsize")}
        rows = {r[0] for r in await tx.fetch_all("SELECT id FROM qa_chunks")}
    assert indexed == rows


async def found(qa: QAService, guild_id: int, word: str) -> list[str]:
    return [p.slug for p in (await qa.kb.search(guild_id, word, 5)).passages]


async def counted(qa: QAService, guild_id: int, word: str) -> int:
    """How many indexed passages hold `word` (the index's own count, not a join)."""
    return (await qa.kb.retriever.engine.document_frequencies(guild_id, [word]))[word]


async def test_the_writer_runs_with_an_untrusted_schema(sqlite_only: None, db: Database) -> None:
    async with db.transaction() as tx:  # the writer's connection
        assert await tx.fetch_value("PRAGMA trusted_schema") == 0
    assert await db.fetch_value("PRAGMA trusted_schema") == 0  # a reader's


async def test_add_edit_remove_keep_the_index_in_step(qa: QAService) -> None:
    await index_matches_table(qa.db)
    await qa.kb.add_document(
        GUILD, "# Field guide\n\n## Birds\n\nthe quetzal\n\n## Fish\n\nthe axolotl", user_id=ALICE
    )
    await index_matches_table(qa.db)
    assert await found(qa, GUILD, "quetzal") == ["field-guide"]
    assert await counted(qa, GUILD, "axolotl") == 1

    await qa.kb.add_document(GUILD, "# Field guide\n\n## Birds\n\nthe hoatzin", user_id=ALICE)
    await index_matches_table(qa.db)
    assert await found(qa, GUILD, "hoatzin") == ["field-guide"]
    assert await found(qa, GUILD, "quetzal") == []
    assert await counted(qa, GUILD, "quetzal") == await counted(qa, GUILD, "axolotl") == 0

    await qa.kb.remove_document(GUILD, "field-guide")
    await index_matches_table(qa.db)
    assert await found(qa, GUILD, "hoatzin") == [] and await counted(qa, GUILD, "hoatzin") == 0


async def test_erasure_and_server_removal_keep_the_index_in_step(qa: QAService) -> None:
    async with qa.db.transaction() as tx:
        question = await tx.fetch_value(
            "INSERT INTO qa_questions (guild_id, user_id, channel_id, question, normalized,"
            " created_at) VALUES (?, ?, 1, 'how do pangolins sleep', 'x', '2026-03-02 10:00:00')"
            " RETURNING id",
            (GUILD, ALICE),
        )
    await qa.feedback.promote(
        GUILD,
        MODERATOR,
        title="How do pangolins sleep",
        answer="Curled up, says the capybara handbook.",
        question_id=question,
        author_id=BOB,
    )
    await qa.kb.add_document(OTHER_GUILD, "# Other\n\n## Notes\n\nthe narwhal", user_id=ALICE)
    await index_matches_table(qa.db)
    assert await counted(qa, GUILD, "capybara") == 1

    await qa.delete_member(BOB)  # the reply he wrote goes
    await index_matches_table(qa.db)
    assert await found(qa, GUILD, "capybara") == [] and await counted(qa, GUILD, "capybara") == 0

    await qa.kb.add_document(GUILD, "# Kept\n\n## A\n\nthe okapi", user_id=BOB)
    await qa.delete_guild(GUILD)
    await index_matches_table(qa.db)
    assert await counted(qa, GUILD, "okapi") == 0
    assert await found(qa, OTHER_GUILD, "narwhal") == ["other"]  # other servers keep theirs


async def test_a_copy_into_a_sqlite_file_is_indexed(
    qa: QAService, tmp_path: Path, settings: Settings, clock: FixedClock
) -> None:
    await qa.kb.add_document(GUILD, "# Trip\n\n## Day one\n\nthe tapir", user_id=ALICE)
    target = await connect(SqliteTarget(tmp_path / "copy.db"))
    try:
        await copy_data(qa.db, target)
        await index_matches_table(target)
        copied = QAService(target, clock, settings, search=build_text_search(target))
        assert await found(copied, GUILD, "tapir") == ["trip"]
        await copied.kb.remove_document(GUILD, "trip")
        await index_matches_table(target)
    finally:
        await target.close()


async def test_an_index_kept_by_the_old_triggers_stays_right_after_the_upgrade(
    sqlite_only: None, tmp_path: Path, settings: Settings, clock: FixedClock
) -> None:
    """A database of the previous release: its passages were indexed by the triggers."""
    path = tmp_path / "old.db"
    old = await SqliteDatabase.open(path)
    await old.migrate([m for m in load_migrations("sqlite") if m.version < 14])
    await old.close()
    with sqlite3.connect(path) as conn:  # the previous release's writer: a trusted schema
        conn.execute(
            "INSERT INTO qa_documents (id, guild_id, slug, title, source, content_hash, body,"
            " created_at, updated_at) VALUES (7, ?, 'zoo', 'Zoo', 'server', 'h',"
            " 'x', '2026-03-01 10:00:00', '2026-03-01 10:00:00')",
            (GUILD,),
        )
        conn.executemany(
            "INSERT INTO qa_chunks (document_id, position, title, section, body, scope)"
            " VALUES (7, ?, 'Zoo', ?, ?, ?)",
            [(0, "Cats", "the ocelot", f"g{GUILD}"), (1, "Dogs", "the dhole", f"g{GUILD}")],
        )
        conn.execute("UPDATE qa_chunks SET body = 'the margay' WHERE position = 0")
    db = await open_database(path)  # migrates: the triggers go
    try:
        triggers = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert triggers == []
        await index_matches_table(db)
        qa = QAService(db, clock, settings, search=build_text_search(db))
        assert await found(qa, GUILD, "margay") == ["zoo"]
        assert await found(qa, GUILD, "ocelot") == []
        await qa.kb.add_document(GUILD, "# Zoo\n\n## Birds\n\nthe shoebill", user_id=ALICE)
        await index_matches_table(db)
        assert await found(qa, GUILD, "shoebill") == ["zoo"]
        assert await found(qa, GUILD, "dhole") == []
    finally:
        await db.close()


# A trigger hidden in a database file: every new question is put into the knowledge base's
# index as a passage of the shipped documents, which every server searches.
LEAKING_TRIGGER = (
    "CREATE TRIGGER leak AFTER INSERT ON qa_questions BEGIN "
    "INSERT INTO qa_chunks_fts (rowid, title, section, body, scope) "
    "VALUES (new.id + 100000, 'leak', 'leak', new.question, 'g0'); END"
)
# One that calls a function SQLite marks unsafe in a schema.
UNSAFE_FUNCTION_TRIGGER = (
    "CREATE TRIGGER probe AFTER INSERT ON qa_questions BEGIN "
    "UPDATE qa_questions SET normalized = fts5_source_id() WHERE id = new.id; END"
)


@pytest.mark.parametrize(
    ("trigger", "refusal"),
    [
        (LEAKING_TRIGGER, "unsafe use of virtual table"),
        (UNSAFE_FUNCTION_TRIGGER, "unsafe use of fts5_source_id"),
    ],
)
async def test_a_hostile_trigger_cannot_run_through_the_writer(
    sqlite_only: None, tmp_path: Path, trigger: str, refusal: str
) -> None:
    path = tmp_path / "hostile.db"
    await (await open_database(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute(trigger)
    db = await SqliteDatabase.open(path)  # opened without the start-up schema check
    try:
        with pytest.raises(sqlite3.OperationalError, match=refusal):
            await db.execute(
                "INSERT INTO qa_questions (guild_id, user_id, channel_id, question, normalized,"
                " created_at) VALUES (1, 2, 3, 'my secret question', 'x', '2026-03-02')"
            )
        assert await db.fetch_value("SELECT count(*) FROM qa_questions") == 0
    finally:
        await db.close()
    with sqlite3.connect(path) as conn:
        leaked = conn.execute(
            "SELECT count(*) FROM qa_chunks_fts WHERE qa_chunks_fts MATCH 'secret'"
        ).fetchone()
    assert leaked == (0,)
