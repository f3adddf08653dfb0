-- Remember what slash commands were last registered, so start-up syncs only after a change.

CREATE TABLE command_sync (
    scope         TEXT PRIMARY KEY,
    payload_hash  TEXT NOT NULL,
    synced_at     TEXT NOT NULL
);
