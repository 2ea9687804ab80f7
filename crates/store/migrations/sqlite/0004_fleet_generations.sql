-- Nothing to do on SQLite: one process writes a SQLite database (the node lock), so the store
-- keeps each tenant's fleet generation in memory. PostgreSQL's 0004 keeps them in a table because
-- several nodes write. (Kept so both backends number their migrations alike.)
SELECT 1;
