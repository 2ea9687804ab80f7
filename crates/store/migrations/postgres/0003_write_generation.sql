-- A count of committed writes, shared by every node: each write transaction adds one to it as
-- its last statement, and a reader reads it in the same snapshot as the rows it keeps, so an
-- unchanged count means unchanged data. The License Status page's fleet is cached by it.
CREATE TABLE write_generation (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    n  BIGINT  NOT NULL CHECK (n >= 0)
);

INSERT INTO write_generation (id, n) VALUES (TRUE, 0);
