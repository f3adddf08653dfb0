-- Roadmap check-ins: enrolments, milestones, check-ins, streaks, buddies, reminders, roles.

-- One row per member following the roadmap in a server. The streak and totals columns are
-- maintained on every write and can be recomputed from the history tables below.
CREATE TABLE roadmap_members (
    guild_id          INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    track             TEXT NOT NULL,
    start_date        TEXT NOT NULL,                 -- YYYY-MM-DD: day one of the plan
    timezone          TEXT,                          -- IANA name; NULL follows the server's
    weekly_goal       INTEGER NOT NULL DEFAULT 7 CHECK (weekly_goal BETWEEN 1 AND 7),
    paused_on         TEXT,                          -- local date an open pause began
    paused_days       INTEGER NOT NULL DEFAULT 0 CHECK (paused_days >= 0),
    phase             INTEGER NOT NULL DEFAULT 1,    -- first phase with an open milestone
    current_streak    INTEGER NOT NULL DEFAULT 0,
    best_streak       INTEGER NOT NULL DEFAULT 0,
    freezes           INTEGER NOT NULL DEFAULT 0 CHECK (freezes >= 0),
    last_date         TEXT,                          -- latest local date that counted
    last_at           TEXT,                          -- UTC time of the latest check-in
    run_start         TEXT,                          -- local date the current streak began
    week_days         INTEGER NOT NULL DEFAULT 0,    -- counted days in last_date's week
    alive_until       TEXT,                          -- UTC time the streak breaks unless kept
    checkins_total    INTEGER NOT NULL DEFAULT 0,
    checkin_days      INTEGER NOT NULL DEFAULT 0,
    minutes_total     INTEGER NOT NULL DEFAULT 0,
    milestones_done   INTEGER NOT NULL DEFAULT 0,
    buddy_id          INTEGER,
    nudge_due_at      TEXT,                          -- UTC time the buddy gets a nudge
    remind_time       TEXT,                          -- local HH:MM; NULL means reminders off
    quiet_start       TEXT,
    quiet_end         TEXT,
    remind_next_at    TEXT,                          -- UTC time of the next reminder
    remind_misses     INTEGER NOT NULL DEFAULT 0,    -- undelivered DM days in a row
    phase_role_id     INTEGER,                       -- roles the bot gave this member
    streak_role_id    INTEGER,
    roles_dirty       INTEGER NOT NULL DEFAULT 0,
    enrolled_at       TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX roadmap_members_user ON roadmap_members (user_id);
CREATE INDEX roadmap_members_remind ON roadmap_members (remind_next_at)
    WHERE remind_next_at IS NOT NULL;
CREATE INDEX roadmap_members_nudge ON roadmap_members (nudge_due_at)
    WHERE nudge_due_at IS NOT NULL;
CREATE INDEX roadmap_members_dirty ON roadmap_members (roles_dirty) WHERE roles_dirty = 1;
CREATE INDEX roadmap_members_streak_role ON roadmap_members (alive_until)
    WHERE streak_role_id IS NOT NULL;
-- The streak leaderboards: current streaks (with what filters them, so counting needs no
-- table lookups) and best streaks.
CREATE INDEX roadmap_members_current
    ON roadmap_members (guild_id, current_streak DESC, user_id, last_date, alive_until);
CREATE INDEX roadmap_members_best ON roadmap_members (guild_id, best_streak DESC, user_id);

-- Every check-in, with the local date and goal in force when it was written, so a later
-- change of time zone or goal never rewrites the past.
CREATE TABLE roadmap_checkins (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    local_date    TEXT NOT NULL,
    weekly_goal   INTEGER NOT NULL CHECK (weekly_goal BETWEEN 1 AND 7),
    minutes       INTEGER NOT NULL DEFAULT 0 CHECK (minutes >= 0),
    did           TEXT NOT NULL,
    blockers      TEXT,
    next_step     TEXT,
    milestone     TEXT,
    edited_at     TEXT,
    escalated_at  TEXT,
    FOREIGN KEY (guild_id, user_id) REFERENCES roadmap_members (guild_id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX roadmap_checkins_member_day ON roadmap_checkins (guild_id, user_id, local_date);

CREATE TABLE roadmap_milestones (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    milestone  TEXT NOT NULL,
    done_at    TEXT NOT NULL,
    done_on    TEXT NOT NULL,                        -- local date, for the period counters
    PRIMARY KEY (guild_id, user_id, milestone),
    FOREIGN KEY (guild_id, user_id) REFERENCES roadmap_members (guild_id, user_id)
        ON DELETE CASCADE
);

-- Pauses excuse their days from streaks and stop the plan clock; end_date NULL is open.
CREATE TABLE roadmap_pauses (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    start_date  TEXT NOT NULL,
    end_date    TEXT,
    PRIMARY KEY (guild_id, user_id, start_date),
    FOREIGN KEY (guild_id, user_id) REFERENCES roadmap_members (guild_id, user_id)
        ON DELETE CASCADE
);

CREATE TABLE roadmap_phase_entries (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    phase       INTEGER NOT NULL,
    entered_on  TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id, phase),
    FOREIGN KEY (guild_id, user_id) REFERENCES roadmap_members (guild_id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX roadmap_phase_entries_day ON roadmap_phase_entries (guild_id, entered_on);

-- Counters per member and period ('W2026-10', 'M2026-03', 'all'): the check-in and
-- milestone leaderboards and the digest read these instead of scanning check-ins.
CREATE TABLE roadmap_period_stats (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    period      TEXT NOT NULL,
    checkins    INTEGER NOT NULL DEFAULT 0,
    days        INTEGER NOT NULL DEFAULT 0,
    minutes     INTEGER NOT NULL DEFAULT 0,
    milestones  INTEGER NOT NULL DEFAULT 0,
    streak_max  INTEGER NOT NULL DEFAULT 0,               -- longest streak reached in it
    PRIMARY KEY (guild_id, user_id, period)
) WITHOUT ROWID;
CREATE INDEX roadmap_period_days ON roadmap_period_stats (guild_id, period, days DESC, user_id);
CREATE INDEX roadmap_period_milestones
    ON roadmap_period_stats (guild_id, period, milestones DESC, user_id);

CREATE TABLE roadmap_buddy_requests (
    guild_id    INTEGER NOT NULL,
    from_user   INTEGER NOT NULL,
    to_user     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, from_user),
    FOREIGN KEY (guild_id, from_user) REFERENCES roadmap_members (guild_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (guild_id, to_user) REFERENCES roadmap_members (guild_id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX roadmap_buddy_requests_to ON roadmap_buddy_requests (guild_id, to_user);

-- Moderators map phases (1-4) and streak thresholds (7, 30, 100) to roles.
CREATE TABLE roadmap_roles (
    guild_id   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('phase', 'streak')),
    level      INTEGER NOT NULL,
    role_id    INTEGER NOT NULL,
    broken_at  TEXT,                                 -- Discord refused it; reported once
    PRIMARY KEY (guild_id, kind, level)
);

-- A server's own roadmap, validated and stored as JSON, replacing or extending the built-in.
CREATE TABLE roadmap_custom (
    guild_id     INTEGER PRIMARY KEY,
    mode         TEXT NOT NULL CHECK (mode IN ('replace', 'extend')),
    body         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    imported_by  INTEGER NOT NULL,
    imported_at  TEXT NOT NULL
);
