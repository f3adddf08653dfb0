"""Connection settings that stop a database file's own schema from running code.

A database file can carry triggers and views, which SQLite runs as part of ordinary
statements. With `trusted_schema` off they may only use functions and virtual tables that
SQLite marks harmless; defensive mode (where Python exposes it: 3.12 and later) also
forbids the statements that can corrupt a file on purpose (writable_schema and the like).

Every connection is hardened. The writer alone keeps a trusted schema, because the
knowledge base's full-text index is kept in step by triggers that write to an FTS5 table,
which SQLite allows only then; the bot trusts that schema because it checks, at every
start (`bot.schema_check`), that it is exactly what the migrations produce.
"""

from __future__ import annotations

import sqlite3

UNTRUSTED_SCHEMA = "PRAGMA trusted_schema = OFF"


def harden(conn: sqlite3.Connection, *, verified_schema: bool = False) -> None:
    """`verified_schema`: only for the writer of the bot's own, checked database."""
    if not verified_schema:
        conn.execute(UNTRUSTED_SCHEMA)
    setconfig = getattr(conn, "setconfig", None)  # Python 3.12+
    if setconfig is not None:
        setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)
