-- Posts planned with the change they announce are found by an index; a content update never moves a member back a phase; no trigger writes the full-text index.

-- A portfolio request's return or expiry plans its notices in the same transaction
-- (status 'claimed', no attempt yet); the notices job lists those nobody holds by retry_at.
CREATE INDEX scheduled_posts_due ON scheduled_posts (retry_at) WHERE status = 'claimed';

-- The phase a content update found the member in: when new milestones open up in a phase
-- behind them, they keep their phase, and no later recompute puts them below it.
ALTER TABLE roadmap_members ADD COLUMN phase_floor BIGINT NOT NULL DEFAULT 1;

-- Nothing here for the knowledge base's full-text index: on SQLite this migration drops the
-- triggers that wrote its FTS5 table (the service writes it now); PostgreSQL's is the
-- generated tsvector column qa_chunks.search, kept in step by the row itself, no trigger.
