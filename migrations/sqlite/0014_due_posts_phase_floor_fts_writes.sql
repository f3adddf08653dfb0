-- Posts planned with the change they announce are found by an index; a content update never moves a member back a phase; no trigger writes the full-text index.

-- A portfolio request's return or expiry plans its notices in the same transaction
-- (status 'claimed', no attempt yet); the notices job lists those nobody holds by retry_at.
CREATE INDEX scheduled_posts_due ON scheduled_posts (retry_at) WHERE status = 'claimed';

-- The phase a content update found the member in: when new milestones open up in a phase
-- behind them, they keep their phase, and no later recompute puts them below it.
ALTER TABLE roadmap_members ADD COLUMN phase_floor INTEGER NOT NULL DEFAULT 1;

-- The knowledge base's FTS5 index is written by the service, in the transaction that writes
-- the passages (bot/services/qa/fts_writes.py), no longer by triggers: SQLite lets a trigger
-- write an FTS5 table only with a trusted schema, and every connection now runs with
-- trusted_schema = OFF. The triggers kept the index in step until now; rebuilding it from
-- qa_chunks once makes sure of it.
DROP TRIGGER qa_chunks_ai;
DROP TRIGGER qa_chunks_ad;
DROP TRIGGER qa_chunks_au;
INSERT INTO qa_chunks_fts (qa_chunks_fts) VALUES ('rebuild');
