-- Opt-in pairing: participants and their consent, private not-with lists, rounds, pairs and
-- relational check-ins. Not-with entries and check-in answers are encrypted at rest.

-- Per community: the round schedule and how its commands are written (for scheduled messages).
CREATE TABLE pair_communities (
    community_id INTEGER PRIMARY KEY REFERENCES communities(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL DEFAULT '/',
    channel TEXT NOT NULL DEFAULT '',
    recurrence TEXT,
    timezone TEXT,
    anchor TEXT,
    not_before TEXT,
    checked_until TEXT,
    updated_at TEXT NOT NULL
);

-- One row per member who is in pairing. Deleted on `pair leave`.
CREATE TABLE pair_participants (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    paused_until TEXT,
    preferences TEXT NOT NULL DEFAULT '{}',
    consent_version TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    last_active_at TEXT NOT NULL,
    silent_rounds INTEGER NOT NULL DEFAULT 0,
    asked_at TEXT,
    UNIQUE (community_id, member_id)
);
CREATE INDEX pair_participants_paused ON pair_participants (community_id, status, paused_until);

-- Which version of the consent text was agreed to, and when it was withdrawn.
CREATE TABLE pair_consents (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    feature TEXT NOT NULL DEFAULT 'pairing',
    text_version TEXT NOT NULL,
    given_at TEXT NOT NULL,
    withdrawn_at TEXT
);
CREATE INDEX pair_consents_member ON pair_consents (member_id, withdrawn_at);

-- A member's private not-with list: the other member's id is encrypted.
CREATE TABLE pair_not_with (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    other_enc BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX pair_not_with_member ON pair_not_with (community_id, member_id);

-- announced (heads-up sent) -> active (matched, spaces open) -> closed; or cancelled.
CREATE TABLE pair_rounds (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    slot_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('announced', 'matched', 'active', 'closed', 'cancelled')),
    starts_at TEXT NOT NULL,
    midpoint_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    heads_up_at TEXT,
    mid_sent INTEGER NOT NULL DEFAULT 0,
    pairs_made INTEGER NOT NULL DEFAULT 0,
    members_matched INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (community_id, number)
);
CREATE INDEX pair_rounds_state ON pair_rounds (community_id, state);

-- A pair (or the round's triad). `origin` is set on a pair that continues a triad someone left.
CREATE TABLE pairs (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    round_id INTEGER NOT NULL REFERENCES pair_rounds(id) ON DELETE CASCADE,
    space_key TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'ended', 'closed')),
    question_id TEXT NOT NULL DEFAULT '',
    origin INTEGER REFERENCES pairs(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX pairs_round ON pairs (round_id, state);

CREATE TABLE pair_members (
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (pair_id, member_id)
);
CREATE INDEX pair_members_member ON pair_members (member_id);

-- Relational check-ins (mid-round and end of round), one per member of a pair; answers encrypted.
CREATE TABLE pair_checkins (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('mid', 'end')),
    step INTEGER NOT NULL DEFAULT 0,
    answers_enc BLOB,
    answered INTEGER NOT NULL DEFAULT 0,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (pair_id, member_id, kind)
);
CREATE INDEX pair_checkins_open ON pair_checkins (member_id, closed_at);
