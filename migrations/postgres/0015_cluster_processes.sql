-- Shard clusters: each bot process records its shards and beats here, so `python -m bot status` lists the cluster and a process refuses to start over shards a live one runs.

CREATE TABLE cluster_processes (
    process_id   TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    shard_count  INTEGER,
    shard_ids    TEXT,
    started_at   TEXT NOT NULL,
    last_beat    TEXT NOT NULL,
    -- 1 while this process holds the global-work lock (retention, erasure, backups).
    global_work  INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX cluster_processes_last_beat ON cluster_processes (last_beat);
