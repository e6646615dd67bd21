-- Resources a community's facilitators added with `resources add` (shown by `resources` after
-- those from the config file). About services, not about members: nothing here is encrypted.

CREATE TABLE community_resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    hours TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    peer_run INTEGER NOT NULL DEFAULT 0,
    intervention_policy TEXT NOT NULL DEFAULT 'unknown',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX community_resources_by_community ON community_resources (community_id, id);

-- The IPS task a member may name first in `questions suggest` (`questions suggest worldview …`),
-- so `questions approve <id>` without a task keeps it.
ALTER TABLE question_suggestions ADD COLUMN task TEXT;
