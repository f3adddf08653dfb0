"""The chaos day's consistency check (simulator/integrity.py) on the engine under test: clean
on a sound database, and on PostgreSQL it finds what integrity_check would stand for there."""

from __future__ import annotations

import pytest

from bot.db import Database
from simulator.integrity import integrity
from tests.conftest import ON_POSTGRES


async def test_a_sound_database_is_ok(db: Database) -> None:
    assert await integrity(db) == "ok"


async def test_postgres_checks_indexes_orphans_and_checks(db: Database) -> None:
    if not ON_POSTGRES:
        pytest.skip("PostgreSQL only: SQLite answers with PRAGMA integrity_check")
    assert await integrity(db) == "ok"
    assert await db.fetch_value("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'") == 1
    async with db.transaction() as tx:
        # What a broken restore or a bug in the engine could leave: rows the constraints
        # would refuse (replica mode skips the foreign-key triggers; NOT VALID skips a check).
        await tx.execute("SET LOCAL session_replication_role = replica")
        await tx.execute(
            "INSERT INTO qa_chunks (document_id, position, title, section, body, scope)"
            " VALUES (424242, 0, 't', 's', 'b', 'g1')"
        )
        await tx.execute(
            "ALTER TABLE portfolio_reviews DROP CONSTRAINT portfolio_reviews_helpful_check"
        )
        await tx.execute(
            "INSERT INTO portfolio_requests (id, guild_id, owner_id, archetype, title, repo_url,"
            " description, feedback_wanted, self_check, queue_at, open_since, created_at)"
            " VALUES (777, 1, 2, 'rag_app', 't', 'https://x.dev', 'd', 'f', 'complete',"
            " '2026-03-02 10:00:00', '2026-03-02 10:00:00', '2026-03-02 10:00:00')"
        )
        await tx.execute(
            "INSERT INTO portfolio_reviews (request_id, guild_id, reviewer_id, score_problem,"
            " score_data, score_solution, score_deployment, score_docs, strengths,"
            " improvements, created_at, helpful, rated_at) VALUES (777, 1, 3, 1, 1, 1, 1, 1,"
            " 's', 'i', '2026-03-02 10:00:00', 9, '2026-03-02 10:00:00')"
        )
        await tx.execute(
            "ALTER TABLE portfolio_reviews ADD CONSTRAINT portfolio_reviews_helpful_check"
            " CHECK (helpful BETWEEN 1 AND 5) NOT VALID"
        )
    found = await integrity(db)
    assert "1 rows of qa_chunks without their qa_documents" in found
    assert "1 rows of portfolio_reviews break portfolio_reviews_helpful_check" in found
