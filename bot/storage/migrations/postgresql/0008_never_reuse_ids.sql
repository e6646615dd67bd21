-- PostgreSQL's version of 0008 (see the shared file for why). Identity columns never hand out a
-- number twice, so no table is rebuilt here; only the new table and the not-with change remain.

CREATE TABLE blinding_secrets (
    name TEXT PRIMARY KEY,
    secret_enc BYTEA NOT NULL,
    created_at TEXT NOT NULL
);

-- A keyed hash of the other person's identity in the community (platform user id); other_enc
-- only in entries made before this migration.
ALTER TABLE pair_not_with ADD COLUMN other_hash TEXT;
ALTER TABLE pair_not_with ALTER COLUMN other_enc DROP NOT NULL;
ALTER TABLE pair_not_with ADD CONSTRAINT pair_not_with_other_check CHECK (other_hash IS NOT NULL OR other_enc IS NOT NULL);
CREATE INDEX pair_not_with_legacy ON pair_not_with (community_id) WHERE other_hash IS NULL;
