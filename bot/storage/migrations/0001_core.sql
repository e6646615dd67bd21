-- Communities, members, the durable outbox, confirmations and reflective questions.

CREATE TABLE communities (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL,
    timezone TEXT NOT NULL,
    question_channel TEXT NOT NULL DEFAULT '',
    pairing_channel TEXT NOT NULL DEFAULT '',
    facilitator_rule TEXT NOT NULL DEFAULT '',
    question_focus TEXT NOT NULL DEFAULT 'all',
    created_at TEXT NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    platform_user_id TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (community_id, platform_user_id)
);

CREATE TABLE outbox (
    -- AUTOINCREMENT: ids never repeat, even after sent rows are purged (delivery order relies on it).
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER REFERENCES communities(id) ON DELETE CASCADE,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;

CREATE TABLE confirmations (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE question_schedules (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL UNIQUE REFERENCES communities(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    recurrence TEXT NOT NULL,
    timezone TEXT NOT NULL,
    anchor TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    checked_until TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE question_postings (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    slot_key TEXT NOT NULL UNIQUE,
    prompt_id TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    channel TEXT NOT NULL,
    posted_at TEXT NOT NULL
);
CREATE INDEX question_postings_cycle ON question_postings (community_id, cycle);

CREATE TABLE community_questions (
    id TEXT PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    tasks TEXT NOT NULL,
    audience TEXT NOT NULL,
    depth TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE question_suggestions (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    text_enc BLOB,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    note_enc BLOB,
    question_id TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);
