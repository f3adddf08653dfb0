"""A database's own consistency check, on either engine, for the chaos day's invariants.

SQLite: `PRAGMA integrity_check` ("ok", or what is wrong). PostgreSQL has no single
equivalent, so three checks stand in for it:

- every B-tree index is structurally sound and holds every row of its table (amcheck's
  `bt_index_check(index, heapallindexed => true)`, when the server ships amcheck and the
  role may create the extension; without it, only the two checks below run);
- every foreign key has its parent row (no orphans);
- every CHECK constraint holds for every row.

`integrity` answers "ok", or one line per problem.
"""

from __future__ import annotations

from bot.db import Database

# Names below come from the catalog, never from input.
FOREIGN_KEYS = """
SELECT con.conname, child.relname, parent.relname,
       array_to_string(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                             ORDER BY k.i), ','),
       array_to_string(ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                             ORDER BY k.i), ',')
FROM pg_constraint con
JOIN pg_class child ON child.oid = con.conrelid
JOIN pg_class parent ON parent.oid = con.confrelid
WHERE con.contype = 'f' AND child.relnamespace = current_schema()::regnamespace
ORDER BY con.conname
"""
CHECKS = """
SELECT con.conname, rel.relname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
WHERE con.contype = 'c' AND rel.relnamespace = current_schema()::regnamespace
ORDER BY con.conname
"""
BTREE_INDEXES = """
SELECT idx.relname FROM pg_index i
JOIN pg_class idx ON idx.oid = i.indexrelid
JOIN pg_am am ON am.oid = idx.relam
WHERE am.amname = 'btree' AND idx.relnamespace = current_schema()::regnamespace
ORDER BY idx.relname
"""


async def integrity(db: Database) -> str:
    if db.engine == "sqlite":
        return str(await db.fetch_value("PRAGMA integrity_check"))
    problems = await _index_problems(db) + await _orphans(db) + await _broken_checks(db)
    return "ok" if not problems else "; ".join(problems)


async def _index_problems(db: Database) -> list[str]:
    available = await db.fetch_value("SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'")
    if not available:
        return []
    try:
        await db.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    except Exception:  # a role that may not create it: the other checks still run
        return []
    problems = []
    for (name,) in await db.fetch_all(BTREE_INDEXES):
        try:
            await db.fetch_value("SELECT bt_index_check(?::regclass, true)", (name,))
        except Exception as error:  # amcheck reports corruption as an error
            problems.append(f"index {name}: {error}")
    return problems


async def _orphans(db: Database) -> list[str]:
    problems = []
    for name, child, parent, columns, keys in await db.fetch_all(FOREIGN_KEYS):
        pairs = list(zip(columns.split(","), keys.split(","), strict=True))
        present = " AND ".join(f"c.{c} IS NOT NULL" for c, _ in pairs)
        match = " AND ".join(f"p.{k} = c.{c}" for c, k in pairs)
        orphans = await db.fetch_value(
            f"SELECT count(*) FROM {child} c WHERE {present} "
            f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})"
        )
        if orphans:
            problems.append(f"{orphans} rows of {child} without their {parent} ({name})")
    return problems


async def _broken_checks(db: Database) -> list[str]:
    problems = []
    for name, table, definition in await db.fetch_all(CHECKS):
        condition = definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
        broken = await db.fetch_value(f"SELECT count(*) FROM {table} WHERE NOT {condition}")
        if broken:
            problems.append(f"{broken} rows of {table} break {name}")
    return problems
