-- Pair agreements (every word encrypted at rest), the space agreement with its consent rounds,
-- agreement check-ins and review reminders, and step-by-step dialogs.

CREATE TABLE agreements (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    short_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'proposed', 'agreed', 'revisiting', 'withdrawn')),
    started_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
    -- The working copy (every party's answers, notes and review date), encrypted JSON.
    draft_enc BLOB NOT NULL,
    proposal_version INTEGER,
    proposal_hash TEXT,
    proposed_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
    in_force_version INTEGER,
    in_force_hash TEXT,
    review_date TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    withdrawn_at TEXT,
    purge_after TEXT,
    UNIQUE (community_id, short_id)
);

CREATE TABLE agreement_parties (
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('invited', 'joined')),
    position INTEGER NOT NULL,
    prompted INTEGER NOT NULL DEFAULT 0,
    joined_at TEXT,
    PRIMARY KEY (agreement_id, member_id)
);
CREATE INDEX agreement_parties_member ON agreement_parties (member_id);

CREATE TABLE agreement_versions (
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    hash TEXT NOT NULL,
    content_enc BLOB NOT NULL,
    created_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (agreement_id, number)
);

CREATE TABLE agreement_acceptances (
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    PRIMARY KEY (agreement_id, member_id, version)
);

-- Who did what and when; `detail` names section numbers, never their text.
CREATE TABLE agreement_events (
    id INTEGER PRIMARY KEY,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    version INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX agreement_events_agreement ON agreement_events (agreement_id, id);

CREATE TABLE agreement_checkins (
    id INTEGER PRIMARY KEY,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    answered_at TEXT
);

-- One review reminder per agreement and date, across restarts too.
CREATE TABLE agreement_reminders (
    slot_key TEXT PRIMARY KEY,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL
);

CREATE TABLE space_agreements (
    community_id INTEGER PRIMARY KEY REFERENCES communities(id) ON DELETE CASCADE,
    channel TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);

-- Every adopted version is kept: the highest number is the one in force.
CREATE TABLE space_agreement_versions (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    content TEXT NOT NULL,
    change_number INTEGER,
    adopted_how TEXT NOT NULL CHECK (adopted_how IN ('draft', 'consent', 'facilitator')),
    adopted_at TEXT NOT NULL,
    UNIQUE (community_id, number)
);

CREATE TABLE space_agreement_changes (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    proposer_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('open', 'adopted', 'not_adopted')),
    opened_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    decided_at TEXT,
    version INTEGER,
    UNIQUE (community_id, number)
);

CREATE TABLE space_agreement_responses (
    change_id INTEGER NOT NULL REFERENCES space_agreement_changes(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    response TEXT NOT NULL CHECK (response IN ('agree', 'object')),
    note_enc BLOB,
    at TEXT NOT NULL,
    PRIMARY KEY (change_id, member_id)
);

-- A member's open step-by-step answers (one at a time); answers waiting to be sent are encrypted.
CREATE TABLE dialogs (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL UNIQUE REFERENCES members(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    steps TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    data_enc BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
