-- Content updates keep members' progress: dropped milestones are archived, daily posts keep the challenge they showed.

-- The milestone's title when it was ticked (or archived), and when a newer roadmap stopped
-- offering it to the member's track. Archived rows stay in the member's history and totals;
-- they no longer count towards a phase.
ALTER TABLE roadmap_milestones ADD COLUMN title TEXT;
ALTER TABLE roadmap_milestones ADD COLUMN archived_at TEXT;

-- The roadmap each server's members were last reconciled with: a hash of its phases and
-- milestones, so a start-up only revisits servers whose roadmap changed, and its milestone
-- titles (JSON, key to title), so a milestone the next version drops keeps its name.
CREATE TABLE roadmap_content_state (
    guild_id     INTEGER PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    titles       TEXT NOT NULL,
    synced_at    TEXT NOT NULL
);

-- The challenge as it was posted (the import format, JSON), so answers to a post are judged
-- against what members saw even after the bank changes or drops that challenge.
ALTER TABLE daily_posts ADD COLUMN challenge_payload TEXT;
