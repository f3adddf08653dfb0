-- Security: who may see a question, usage kept past erasure, review versions, safe role rewards, posts to erase.

-- Whether a question was asked in public (a follow-up thread's history shows other
-- members only their public questions). Rows from before default to private.
ALTER TABLE qa_questions ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
-- After an erasure, the rows of the current rate and budget windows keep counting under a
-- keyed hash of the member (key of the day, deleted when the window ends), not their id.
ALTER TABLE qa_questions ADD COLUMN member_key TEXT;
CREATE INDEX qa_questions_member_key ON qa_questions (guild_id, member_key, created_at)
    WHERE member_key IS NOT NULL;

-- Who a promoted knowledge-base answer quotes: the member who asked (the title) and the
-- member whose reply became the text, so erasing either removes their words.
ALTER TABLE qa_documents ADD COLUMN asker_id INTEGER;
ALTER TABLE qa_documents ADD COLUMN author_id INTEGER;
UPDATE qa_documents SET asker_id = (
    SELECT q.user_id FROM qa_questions q WHERE 'answer-' || q.id = qa_documents.slug
        AND q.user_id <> 0
) WHERE source = 'promoted';

-- Every edit of a submission bumps its version; a review names the version it judged.
ALTER TABLE challenge_submissions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- A reward role that became dangerous (Administrator, Manage Roles, ...) is suspended and
-- reported once; mapping a safe role again lifts it.
ALTER TABLE roadmap_roles ADD COLUMN suspended_at TEXT;
-- Which of phase_role_id (1) and streak_role_id (2) the bot granted itself; a role the
-- member already held is recorded as held but never taken away.
ALTER TABLE roadmap_members ADD COLUMN roles_granted INTEGER NOT NULL DEFAULT 3;

-- The bot's own posts that quote a member (check-ins, blockers), so erasure can find them.
CREATE TABLE member_posts (
    message_id  INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    posted_at   TEXT NOT NULL
);
CREATE INDEX member_posts_user ON member_posts (user_id);
CREATE INDEX member_posts_guild ON member_posts (guild_id);
CREATE INDEX member_posts_posted ON member_posts (posted_at);

-- Posts (delete) and threads (rename) an erasure left to undo on Discord; names nobody.
CREATE TABLE post_cleanups (
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,                 -- the thread's id for a rename
    action      TEXT NOT NULL CHECK (action IN ('delete', 'rename')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    retry_at    TEXT,
    PRIMARY KEY (message_id, action)
);
