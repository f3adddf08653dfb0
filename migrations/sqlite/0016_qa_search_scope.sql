-- The knowledge base's text-search vector carries the passage's scope, so its GIN index keeps a search to the shipped documents and the asking server's in the same index scan.

-- Nothing to change on SQLite: its FTS5 table already indexes the scope as a column of
-- its own (scope : "g0" OR "g<guild id>" in the same MATCH, bot/services/qa/fts.py).
