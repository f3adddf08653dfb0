-- Challenges: server bank additions, daily posts and answers, tasks, weekly challenges, points.

-- Challenges a server's moderators added (shipped ones live in content/challenges/).
CREATE TABLE challenge_custom (
    guild_id      INTEGER NOT NULL,
    challenge_id  TEXT NOT NULL,
    payload       TEXT NOT NULL,           -- the validated challenge as JSON
    phase         TEXT NOT NULL,
    topic         TEXT NOT NULL,
    difficulty    TEXT NOT NULL,
    created_by    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, challenge_id)
);

-- Challenges (shipped or custom) a server switched off.
CREATE TABLE challenge_disabled (
    guild_id      INTEGER NOT NULL,
    challenge_id  TEXT NOT NULL,
    disabled_by   INTEGER NOT NULL,
    disabled_at   TEXT NOT NULL,
    PRIMARY KEY (guild_id, challenge_id)
);

-- One daily challenge per server and local day; `cycle` counts passes through the bank.
CREATE TABLE daily_posts (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    day            TEXT NOT NULL,          -- the server's local date, YYYY-MM-DD
    challenge_id   TEXT NOT NULL,
    cycle          INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    topic          TEXT NOT NULL,
    difficulty     TEXT NOT NULL,
    channel_id     INTEGER,
    message_id     INTEGER,
    thread_id      INTEGER,
    answered_count INTEGER NOT NULL DEFAULT 0,
    correct_count  INTEGER NOT NULL DEFAULT 0,
    posted_at      TEXT,
    closes_at      TEXT,
    UNIQUE (guild_id, day)
);
CREATE INDEX daily_posts_guild_cycle ON daily_posts (guild_id, cycle, challenge_id);
CREATE INDEX daily_posts_open ON daily_posts (guild_id, closes_at);

-- One answer per member and daily post: the primary key makes a double click count once.
CREATE TABLE daily_answers (
    post_id      INTEGER NOT NULL REFERENCES daily_posts (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    option_index INTEGER NOT NULL,
    correct      INTEGER NOT NULL CHECK (correct IN (0, 1)),
    used_hint    INTEGER NOT NULL CHECK (used_hint IN (0, 1)),
    answered_at  TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX daily_answers_member ON daily_answers (guild_id, user_id, post_id);

CREATE TABLE daily_hints (
    post_id   INTEGER NOT NULL REFERENCES daily_posts (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    shown_at  TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- Weekly challenges run by moderators.
CREATE TABLE weekly_challenges (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    title              TEXT NOT NULL,
    brief              TEXT NOT NULL,
    rules              TEXT NOT NULL,
    starts_at          TEXT NOT NULL,
    deadline           TEXT NOT NULL,
    status             TEXT NOT NULL
        CHECK (status IN ('scheduled', 'open', 'closed', 'cancelled')),
    channel_id         INTEGER,
    message_id         INTEGER,
    thread_id          INTEGER,
    created_by         INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    results_posted_at  TEXT
);
CREATE INDEX weekly_due_start ON weekly_challenges (status, starts_at);
CREATE INDEX weekly_due_close ON weekly_challenges (status, deadline);
CREATE INDEX weekly_guild ON weekly_challenges (guild_id, status);

-- Answers to task challenges (daily tasks and weekly challenges): one per member each.
CREATE TABLE challenge_submissions (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('daily', 'weekly')),
    ref          TEXT NOT NULL,            -- daily post id or weekly challenge id
    user_id      INTEGER NOT NULL,
    link         TEXT NOT NULL,
    notes        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'rejected')),
    points       INTEGER,
    comment      TEXT,
    reviewer_id  INTEGER,
    submitted_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    reviewed_at  TEXT,
    UNIQUE (guild_id, kind, ref, user_id)
);
CREATE INDEX submissions_queue ON challenge_submissions (guild_id, kind, status, ref);
CREATE INDEX submissions_member ON challenge_submissions (user_id);

-- Every point a member earned; the unique key keeps each award single.
CREATE TABLE challenge_points (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('daily', 'task', 'weekly')),
    ref         TEXT NOT NULL,
    topic       TEXT,
    points      INTEGER NOT NULL,
    awarded_at  TEXT NOT NULL,
    UNIQUE (guild_id, user_id, source, ref)
);
CREATE INDEX challenge_points_board ON challenge_points (guild_id, awarded_at, user_id);
CREATE INDEX challenge_points_member ON challenge_points (user_id);

-- Moderators' changes to an accepted weekly score, kept for good.
CREATE TABLE weekly_score_overrides (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    submission_id  INTEGER NOT NULL REFERENCES challenge_submissions (id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL,
    old_points     INTEGER NOT NULL,
    new_points     INTEGER NOT NULL,
    moderator_id   INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX weekly_overrides_guild ON weekly_score_overrides (guild_id, created_at);
