"""Connection settings that stop a database file's own schema from running code.

A database file can carry triggers and views, which SQLite runs as part of ordinary
statements. With `trusted_schema` off, they may only use functions SQLite marks harmless;
defensive mode (where Python exposes it: 3.12 and later) also forbids the statements that
can corrupt a file on purpose (writable_schema and the like). Every connection the bot
opens, and every connection that reads a backup, is hardened.
"""

from __future__ import annotations

import sqlite3

HARDENING_PRAGMAS = ("PRAGMA trusted_schema = OFF",)


def harden(conn: sqlite3.Connection) -> None:
    for pragma in HARDENING_PRAGMAS:
        conn.execute(pragma)
    setconfig = getattr(conn, "setconfig", None)  # Python 3.12+
    if setconfig is not None:
        setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)
