-- Nothing to do on SQLite: one process writes a SQLite database (the node lock), so the store
-- counts its committed writes in memory. PostgreSQL's 0003 keeps the count in a table because
-- several nodes write. (Kept so both backends number their migrations alike.)
SELECT 1;
