-- The knowledge base's text-search vector carries the passage's scope, so its GIN index keeps a search to the shipped documents and the asking server's in the same index scan.

-- Each passage's tsvector gains one lexeme for its scope: 'scope g0' (shipped documents)
-- or 'scope g<guild id>'. No text of a passage or a question can make it, since the
-- parser never yields a lexeme with a space. A search ANDs the member's query with
-- 'scope g0' | 'scope g<guild id>' (bot/services/qa/tsvector.py), so the GIN index drops
-- other servers' passages before any row is read, instead of a filter after the scan.
-- PostgreSQL 15 cannot change a generated column's expression: the column is made again.
-- The GIN index is built without a pending list (fastupdate off): with one, rows inserted
-- since the last vacuum sit in a list every search reads through, which made searches
-- after an upload of 10,000 passages five times slower (p50 17 against 3 ms) until
-- autovacuum came by. Inserting passages costs more instead (10,000 in 14 s against 6 s).
ALTER TABLE qa_chunks DROP COLUMN search;
ALTER TABLE qa_chunks ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'B')
    || setweight(to_tsvector('english', section), 'A')
    || setweight(to_tsvector('english', body), 'B')
    || array_to_tsvector(ARRAY['scope ' || scope])
) STORED;
CREATE INDEX qa_chunks_search ON qa_chunks USING GIN (search) WITH (fastupdate = off);
