-- Q&A: knowledge-base documents with an FTS5 index, questions asked, votes, escalations.

-- guild_id 0 holds the shipped documents every server sees; other rows belong to one server.
CREATE TABLE qa_documents (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    slug          TEXT NOT NULL,
    title         TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('shipped', 'server', 'promoted')),
    content_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_by    INTEGER,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (guild_id, slug)
);

-- One row per section (or part of a long section). `scope` is the token 'g<guild_id>' so
-- the FTS5 match itself keeps a server to the shipped documents and its own.
CREATE TABLE qa_chunks (
    id           INTEGER PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES qa_documents (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    section      TEXT NOT NULL,
    body         TEXT NOT NULL,
    scope        TEXT NOT NULL
);
CREATE INDEX qa_chunks_document ON qa_chunks (document_id, position);

CREATE VIRTUAL TABLE qa_chunks_fts USING fts5 (
    title, section, body, scope,
    content = 'qa_chunks', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- bm25 weights: document title, section heading, text; the scope token never counts.
INSERT INTO qa_chunks_fts (qa_chunks_fts, rank) VALUES ('rank', 'bm25(1.0, 2.0, 1.0, 0.0)');

CREATE TRIGGER qa_chunks_ai AFTER INSERT ON qa_chunks BEGIN
    INSERT INTO qa_chunks_fts (rowid, title, section, body, scope)
    VALUES (new.id, new.title, new.section, new.body, new.scope);
END;

CREATE TRIGGER qa_chunks_ad AFTER DELETE ON qa_chunks BEGIN
    INSERT INTO qa_chunks_fts (qa_chunks_fts, rowid, title, section, body, scope)
    VALUES ('delete', old.id, old.title, old.section, old.body, old.scope);
END;

CREATE TRIGGER qa_chunks_au AFTER UPDATE ON qa_chunks BEGIN
    INSERT INTO qa_chunks_fts (qa_chunks_fts, rowid, title, section, body, scope)
    VALUES ('delete', old.id, old.title, old.section, old.body, old.scope);
    INSERT INTO qa_chunks_fts (rowid, title, section, body, scope)
    VALUES (new.id, new.title, new.section, new.body, new.scope);
END;

-- Bumped on every change to a server's documents (guild 0: the shipped ones), so cached
-- answers never outlive the knowledge they came from.
CREATE TABLE qa_kb_versions (
    guild_id  INTEGER PRIMARY KEY,
    version   INTEGER NOT NULL
);

-- Every question: the rate limit, token budgets, cache, usage report and gaps read it.
CREATE TABLE qa_questions (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    user_id            INTEGER NOT NULL,
    channel_id         INTEGER NOT NULL,
    thread_id          INTEGER,
    question           TEXT NOT NULL,
    normalized         TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'answered', 'stopped', 'failed', 'refused')),
    mode               TEXT CHECK (mode IN ('llm', 'excerpts', 'cached', 'hint')),
    answer             TEXT,
    sources            TEXT,
    personalized       INTEGER NOT NULL DEFAULT 0,
    cache_key          TEXT,
    top_score          REAL,
    coverage           REAL,
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    tokens_estimated   INTEGER NOT NULL DEFAULT 0,
    error              TEXT,
    created_at         TEXT NOT NULL,
    answered_at        TEXT
);
CREATE INDEX qa_questions_member ON qa_questions (guild_id, user_id, created_at);
CREATE INDEX qa_questions_guild ON qa_questions (guild_id, created_at);
CREATE INDEX qa_questions_cache ON qa_questions (guild_id, cache_key, created_at)
    WHERE cache_key IS NOT NULL;
CREATE INDEX qa_questions_thread ON qa_questions (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX qa_questions_created ON qa_questions (created_at);
CREATE INDEX qa_questions_user ON qa_questions (user_id);

-- One vote per member per answer; a second click changes it.
CREATE TABLE qa_votes (
    question_id  INTEGER NOT NULL REFERENCES qa_questions (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    vote         INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (question_id, user_id)
);
CREATE INDEX qa_votes_user ON qa_votes (user_id);

-- A question handed to the humans of the server's Q&A channel.
CREATE TABLE qa_escalations (
    question_id  INTEGER PRIMARY KEY REFERENCES qa_questions (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    channel_id   INTEGER NOT NULL,
    message_id   INTEGER,
    thread_id    INTEGER,
    created_at   TEXT NOT NULL,
    promoted_at  TEXT
);
CREATE INDEX qa_escalations_guild ON qa_escalations (guild_id, created_at);
CREATE INDEX qa_escalations_message ON qa_escalations (message_id);
CREATE INDEX qa_escalations_thread ON qa_escalations (thread_id);
CREATE INDEX qa_escalations_user ON qa_escalations (user_id);

-- A follow-up thread opened under an answer; questions asked in it carry its thread_id.
CREATE TABLE qa_threads (
    thread_id    INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    question_id  INTEGER REFERENCES qa_questions (id) ON DELETE SET NULL,
    created_by   INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX qa_threads_guild ON qa_threads (guild_id);
CREATE INDEX qa_threads_question ON qa_threads (question_id);
CREATE INDEX qa_threads_creator ON qa_threads (created_by);

-- Per-server overrides of the daily token budgets (NULL: the setting applies).
CREATE TABLE qa_guild_limits (
    guild_id             INTEGER PRIMARY KEY,
    member_daily_tokens  INTEGER CHECK (member_daily_tokens >= 0),
    guild_daily_tokens   INTEGER CHECK (guild_daily_tokens >= 0),
    updated_by           INTEGER,
    updated_at           TEXT NOT NULL
);
