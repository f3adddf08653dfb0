-- Operations: when the bot left a server (its data is purged after a grace period) and bot-wide state.

-- One row per server the bot was removed from; deleted again if the bot is added back
-- before the grace period ends, or once the server's data has been erased.
CREATE TABLE guild_departures (
    guild_id  INTEGER PRIMARY KEY,
    left_at   TEXT NOT NULL
);
CREATE INDEX guild_departures_left_at ON guild_departures (left_at);

-- Small named values the bot keeps about itself (last start, last clean stop, health probe).
CREATE TABLE bot_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
