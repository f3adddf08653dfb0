"""A database's schema as plain data, the same shape on both engines, for comparing them.

Types are mapped to families (INTEGER and BIGINT are "integer", REAL and DOUBLE PRECISION
"real", BLOB and BYTEA "blob"), so SQLite's schema and PostgreSQL's can be compared table by
table: columns (family, NOT NULL, primary key position), unique constraints, foreign keys
(with their ON DELETE), indexes (name, columns, unique) and how many CHECK constraints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.db import Database

FAMILIES = {
    "integer": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "text": "text",
    "real": "real",
    "double precision": "real",
    "blob": "blob",
    "bytea": "blob",
    "tsvector": "tsvector",
}
PG_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


@dataclass
class Table:
    columns: dict[str, tuple[str, bool, int]] = field(default_factory=dict)
    unique: set[tuple[str, ...]] = field(default_factory=set)
    foreign_keys: set[tuple[tuple[str, ...], str, tuple[str, ...], str]] = field(
        default_factory=set
    )
    indexes: set[tuple[str, tuple[str, ...], bool]] = field(default_factory=set)
    checks: int = 0


Schema = dict[str, Table]


async def describe(db: Database) -> Schema:
    return await (_describe_sqlite(db) if db.engine == "sqlite" else _describe_postgres(db))


async def _describe_sqlite(db: Database) -> Schema:
    schema: Schema = {}
    tables = await db.fetch_all(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for name, sql in tables:
        if sql.startswith("CREATE VIRTUAL TABLE") or name.startswith("qa_chunks_fts"):
            continue
        table = schema[name] = Table()
        for column in await db.fetch_all("SELECT * FROM pragma_table_info(?)", (name,)):
            declared = column["type"].lower()
            table.columns[column["name"]] = (
                FAMILIES[declared],
                bool(column["notnull"]) or column["pk"] > 0,
                column["pk"],
            )
        table.checks = len(re.findall(r"\bCHECK\s*\(", sql))
        keys: dict[int, list] = {}
        for fk in await db.fetch_all("SELECT * FROM pragma_foreign_key_list(?)", (name,)):
            keys.setdefault(fk["id"], []).append(fk)
        for parts in keys.values():
            parts.sort(key=lambda fk: fk["seq"])
            table.foreign_keys.add(
                (
                    tuple(fk["from"] for fk in parts),
                    parts[0]["table"],
                    tuple(fk["to"] for fk in parts),
                    parts[0]["on_delete"],
                )
            )
        for index in await db.fetch_all("SELECT * FROM pragma_index_list(?)", (name,)):
            columns = tuple(
                row["name"]
                for row in await db.fetch_all(
                    "SELECT * FROM pragma_index_info(?) ORDER BY seqno", (index["name"],)
                )
            )
            if index["origin"] == "u":
                table.unique.add(columns)
            elif index["origin"] == "c":
                table.indexes.add((index["name"], columns, bool(index["unique"])))
    return schema


async def _describe_postgres(db: Database) -> Schema:
    schema: Schema = {}
    columns = await db.fetch_all(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
    )
    for row in columns:
        table = schema.setdefault(row["table_name"], Table())
        table.columns[row["column_name"]] = (
            FAMILIES[row["data_type"]],
            row["is_nullable"] == "NO",
            0,
        )
    constraints = await db.fetch_all(
        "SELECT rel.relname AS table_name, con.contype::text, con.confdeltype::text, "
        "ref.relname AS ref_table, "
        "ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) "
        "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) "
        "  AS cols, "
        "ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) "
        "  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) "
        "  AS ref_cols "
        "FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
        "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
        "LEFT JOIN pg_class ref ON ref.oid = con.confrelid "
        "WHERE ns.nspname = current_schema()"
    )
    for row in constraints:
        table = schema[row["table_name"]]
        cols = tuple(row["cols"])
        if row["contype"] == "p":
            for position, name in enumerate(cols, start=1):
                family, _, _ = table.columns[name]
                table.columns[name] = (family, True, position)
        elif row["contype"] == "u":
            table.unique.add(cols)
        elif row["contype"] == "c":
            table.checks += 1
        elif row["contype"] == "f":
            action = PG_ACTIONS[row["confdeltype"]]
            table.foreign_keys.add((cols, row["ref_table"], tuple(row["ref_cols"]), action))
    indexes = await db.fetch_all(
        "SELECT t.relname AS table_name, i.relname AS index_name, ix.indisunique, "
        "ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(n, o) "
        "  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o) AS cols "
        "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
        "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace "
        "WHERE ns.nspname = current_schema() AND NOT ix.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)"
    )
    for row in indexes:
        schema[row["table_name"]].indexes.add(
            (row["index_name"], tuple(row["cols"]), row["indisunique"])
        )
    return schema
