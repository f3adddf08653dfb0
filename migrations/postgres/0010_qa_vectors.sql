-- Q&A: passage embeddings for semantic retrieval, cached by model and content hash.

-- The hash of the text a passage is embedded from (document title, section, text), so a
-- passage that comes back unchanged (re-upload, restart, another server) reuses its vector.
ALTER TABLE qa_chunks ADD COLUMN content_hash TEXT;
CREATE INDEX qa_chunks_content_hash ON qa_chunks (content_hash);
CREATE INDEX qa_chunks_scope ON qa_chunks (scope);

-- One vector per model and text: float32, little-endian, unit length, as bytes (the same
-- table as on SQLite, so both engines store and compare vectors the same way).
CREATE TABLE qa_vectors (
    model         TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    dimensions    BIGINT NOT NULL CHECK (dimensions > 0),
    vector        BYTEA NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (model, content_hash)
);
