-- Core: per-server configuration and the idempotency keys of scheduled posts.

CREATE TABLE guild_settings (
    guild_id              BIGINT PRIMARY KEY,
    checkin_channel_id    BIGINT,
    challenge_channel_id  BIGINT,
    review_channel_id     BIGINT,
    qa_channel_id         BIGINT,
    moderator_role_id     BIGINT,
    reviewer_role_id      BIGINT,
    timezone              TEXT NOT NULL DEFAULT 'UTC',
    daily_challenge_time  TEXT NOT NULL DEFAULT '09:00'
        CHECK (daily_challenge_time ~ '^[0-2][0-9]:[0-5][0-9]$'),
    digest_time           TEXT NOT NULL DEFAULT '09:00'
        CHECK (digest_time ~ '^[0-2][0-9]:[0-5][0-9]$'),
    updated_at            TEXT NOT NULL
);

-- One row per scheduled post: (guild, kind, period) is claimed before posting, so a
-- restart or a second scheduler tick can never post the same thing twice. A post whose
-- sending failed waits until `retry_at` (growing with `attempts`) before it is tried again.
CREATE TABLE scheduled_posts (
    guild_id    BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    period      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('claimed', 'sent')),
    message_id  BIGINT,
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    retry_at    TEXT,
    PRIMARY KEY (guild_id, kind, period)
);
