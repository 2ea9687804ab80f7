-- The fleet cache's counter, per tenant: bumped only by a transaction that changes what that
-- tenant's License Status page shows (an instance, its customer's name, a reading, a failed
-- attempt) — not by lease sweeps, sessions or tokens. A transaction bumps its tenant's row as
-- its last statement, so only writes to the same tenant's fleet wait on one another; a reader
-- reads the count in the same snapshot as the rows it caches. Replaces 0003's one global row,
-- which every write of every node bumped (the idle lease loop included).
CREATE TABLE fleet_generations (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    n         BIGINT NOT NULL CHECK (n >= 0)
);

DROP TABLE write_generation;
