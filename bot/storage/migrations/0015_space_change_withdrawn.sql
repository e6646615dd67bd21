-- A proposer may withdraw their own open change to the space agreement: a fourth status.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt (foreign keys are off while
-- migrating, so responses pointing at it are kept) and its index made again.
CREATE TABLE space_agreement_changes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    proposer_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('open', 'adopted', 'not_adopted', 'withdrawn')),
    opened_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    decided_at TEXT,
    version INTEGER,
    UNIQUE (community_id, number)
);
INSERT INTO space_agreement_changes_new (id, community_id, number, section, text, proposer_id, channel, status, opened_at, closes_at, decided_at, version)
    SELECT id, community_id, number, section, text, proposer_id, channel, status, opened_at, closes_at, decided_at, version FROM space_agreement_changes;
DROP TABLE space_agreement_changes;
ALTER TABLE space_agreement_changes_new RENAME TO space_agreement_changes;
CREATE INDEX space_agreement_changes_proposer ON space_agreement_changes (proposer_id, opened_at);
