-- Portfolio reviews: requests and their rounds, rubric reviews, helpfulness ratings, nudges.

-- One row per review round. A resubmission is a new row whose root_id is the first
-- round's id and whose previous_id is the round it follows. Ids are never reused
-- (AUTOINCREMENT), because buttons on old posts carry them.
CREATE TABLE portfolio_requests (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id             INTEGER NOT NULL,
    owner_id             INTEGER NOT NULL,
    archetype            TEXT NOT NULL,
    title                TEXT NOT NULL,
    repo_url             TEXT NOT NULL,
    demo_url             TEXT,
    description          TEXT NOT NULL,
    feedback_wanted      TEXT NOT NULL,
    self_check           TEXT NOT NULL CHECK (self_check IN ('complete', 'skipped')),
    round                INTEGER NOT NULL DEFAULT 1 CHECK (round >= 1),
    root_id              INTEGER REFERENCES portfolio_requests (id) ON DELETE CASCADE,
    previous_id          INTEGER REFERENCES portfolio_requests (id) ON DELETE SET NULL,
    change_note          TEXT,
    status               TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'claimed', 'reviewed', 'withdrawn', 'expired')),
    reviewer_id          INTEGER,
    claimed_at           TEXT,
    -- Give to get: reviews the owner gave in the window before submitting, and the
    -- instant the queue sorts by (created_at moved earlier for that credit).
    credit_reviews       INTEGER NOT NULL DEFAULT 0 CHECK (credit_reviews >= 0),
    queue_at             TEXT NOT NULL,
    open_since           TEXT NOT NULL,
    returned_count       INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    closed_at            TEXT,
    nudged_at            TEXT,
    reminded_at          TEXT,
    -- Where the post lives: the review channel (text or forum), the channel holding the
    -- post's message (the text channel, or the forum post's thread), and its thread.
    channel_id           INTEGER,
    post_channel_id      INTEGER,
    message_id           INTEGER,
    thread_id            INTEGER,
    -- Every transition bumps post_version; the post is re-rendered until it catches up.
    post_version         INTEGER NOT NULL DEFAULT 1,
    post_synced_version  INTEGER NOT NULL DEFAULT 0,
    CHECK (status <> 'open' OR reviewer_id IS NULL),
    CHECK (status NOT IN ('claimed', 'reviewed') OR reviewer_id IS NOT NULL),
    CHECK (status <> 'claimed' OR claimed_at IS NOT NULL),
    CHECK ((round = 1) = (root_id IS NULL))
);

CREATE INDEX portfolio_requests_queue ON portfolio_requests (guild_id, status, queue_at);
CREATE INDEX portfolio_requests_owner ON portfolio_requests (owner_id, guild_id, status);
CREATE INDEX portfolio_requests_reviewer ON portfolio_requests (reviewer_id);
CREATE INDEX portfolio_requests_open_since ON portfolio_requests (status, open_since);
CREATE INDEX portfolio_requests_claimed_at ON portfolio_requests (status, claimed_at);
CREATE INDEX portfolio_requests_root ON portfolio_requests (root_id);
CREATE INDEX portfolio_requests_previous ON portfolio_requests (previous_id);
CREATE INDEX portfolio_requests_stale_posts ON portfolio_requests (id)
    WHERE post_synced_version < post_version AND message_id IS NOT NULL;

-- At most one review per round. reviewer_id 0 means the reviewer erased their data.
CREATE TABLE portfolio_reviews (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id        INTEGER NOT NULL UNIQUE
        REFERENCES portfolio_requests (id) ON DELETE CASCADE,
    guild_id          INTEGER NOT NULL,
    reviewer_id       INTEGER NOT NULL,
    score_problem     INTEGER NOT NULL CHECK (score_problem BETWEEN 1 AND 5),
    score_data        INTEGER NOT NULL CHECK (score_data BETWEEN 1 AND 5),
    score_solution    INTEGER NOT NULL CHECK (score_solution BETWEEN 1 AND 5),
    score_deployment  INTEGER NOT NULL CHECK (score_deployment BETWEEN 1 AND 5),
    score_docs        INTEGER NOT NULL CHECK (score_docs BETWEEN 1 AND 5),
    strengths         TEXT NOT NULL,
    improvements      TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    message_id        INTEGER,
    helpful           INTEGER CHECK (helpful BETWEEN 1 AND 5),
    rating_comment    TEXT,
    rated_at          TEXT,
    CHECK ((helpful IS NULL) = (rated_at IS NULL))
);

CREATE INDEX portfolio_reviews_by_reviewer
    ON portfolio_reviews (guild_id, reviewer_id, created_at);
CREATE INDEX portfolio_reviews_reviewer ON portfolio_reviews (reviewer_id);
