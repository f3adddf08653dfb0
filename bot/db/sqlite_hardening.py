"""Connection settings that stop a database file's own schema from running code.

A database file can carry triggers and views, which SQLite runs as part of ordinary
statements. With `trusted_schema` off they may only use functions and virtual tables that
SQLite marks harmless; defensive mode (where Python exposes it: 3.12 and later) also
forbids the statements that can corrupt a file on purpose (writable_schema and the like).

Every connection is hardened, the writer included: no trigger or view of the file can
use an unsafe function (load_extension, a function the application registered) or write a
virtual table (the FTS5 index), even in a file whose schema was never checked (the bot also
checks, at every start, that it is exactly what the migrations produce: bot.db.schema_check).
The knowledge base's FTS5 index is written by the service itself in the same transaction as
its passages (bot/services/qa/fts_writes.py), not by triggers, which need a trusted schema.
"""

from __future__ import annotations

import sqlite3

UNTRUSTED_SCHEMA = "PRAGMA trusted_schema = OFF"


def harden(conn: sqlite3.Connection) -> None:
    conn.execute(UNTRUSTED_SCHEMA)
    setconfig = getattr(conn, "setconfig", None)  # Python 3.12+
    if setconfig is not None:
        setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)
