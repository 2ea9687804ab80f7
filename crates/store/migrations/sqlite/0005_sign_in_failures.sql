-- Failed sign-ins counted per key (an account with the client address it was tried from, or a
-- client address) in fixed windows, so every node of an installation throttles alike and a
-- restart forgets nothing. Not tenant data: a sign-in starts from an address, not a tenant.
CREATE TABLE sign_in_failures (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL CHECK (failures >= 0)
);

CREATE INDEX sign_in_failures_window ON sign_in_failures (window_start);
