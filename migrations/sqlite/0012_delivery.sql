-- Reliable delivery: a claim is a lease a crash cannot hold forever, skips say why, known servers are remembered to notice removals during downtime, and role notices already sent are recorded.

-- A claim now sets retry_at to the end of its lease: a post claimed just before a crash is
-- claimed again once the lease has run out. Skipped posts (Discord refused them: the channel
-- is gone or closed to the bot) are 'sent' with no message and the reason here.
ALTER TABLE scheduled_posts ADD COLUMN skip_reason TEXT;

-- Claims left by a crash before this migration had no lease: free them now, and count the
-- lost try so the next one looks for the post in the channel before sending it again.
UPDATE scheduled_posts SET retry_at = claimed_at, attempts = attempts + 1
WHERE status = 'claimed' AND retry_at IS NULL;

-- Every server the bot has been in. At start-up, a known server missing from Discord's list
-- removed the bot while it was offline, and its grace period starts.
CREATE TABLE known_guilds (
    guild_id  INTEGER PRIMARY KEY,
    seen_at   TEXT NOT NULL
);

INSERT INTO known_guilds (guild_id, seen_at)
SELECT guild_id, MAX(seen_at) FROM (
    SELECT guild_id, updated_at AS seen_at FROM guild_settings
    UNION ALL
    SELECT guild_id, claimed_at AS seen_at FROM scheduled_posts
    UNION ALL
    SELECT guild_id, enrolled_at AS seen_at FROM roadmap_members
) AS seen
GROUP BY guild_id;

-- Notices to moderators about reward roles the bot stopped using (refused by Discord, or
-- suspended as dangerous) now go through the same delivery, keyed by role and time: those
-- already sent by the code before this migration are recorded as sent.
INSERT INTO scheduled_posts (guild_id, kind, period, status, claimed_at, sent_at, attempts)
SELECT guild_id, 'notice:role', 'refused:' || role_id || ':' || broken_at, 'sent',
       broken_at, broken_at, 1
FROM roadmap_roles WHERE broken_at IS NOT NULL
UNION
SELECT guild_id, 'notice:role', 'suspended:' || role_id || ':' || suspended_at, 'sent',
       suspended_at, suspended_at, 1
FROM roadmap_roles WHERE suspended_at IS NOT NULL;
