-- The data key's check value: a fixed constant encrypted under the key (purpose "key.check"),
-- never the key itself. A start whose key does not decrypt it refuses, instead of writing new
-- data under a wrong key beside data it can no longer read. At most one row.

CREATE TABLE key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BLOB NOT NULL,
    created_at TEXT NOT NULL
);
