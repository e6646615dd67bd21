-- Row ids are never reused, and a not-with entry names a person, not a row.
--
-- Before this, SQLite reused the highest deleted row id: after `mydata forget` the next newcomer
-- got the erased member's id, so a not-with entry naming that id blocked an innocent person (and
-- showed them in the blocker's export) while the blocked person, back under a new id, was free
-- to be paired with the one who blocked them. Every table with an integer row id is rebuilt with
-- AUTOINCREMENT (create new, copy, drop, rename, recreate indexes; the migration runner turns
-- foreign keys off while migrating and checks them before committing), and a not-with entry now
-- holds a keyed hash of the other person's identity in the community (see bot/storage/blinding.py).

-- One long-lived random secret per name, encrypted under the data key: the key that keyed hashes
-- (e.g. of a blocked person's identity) are made with. Rotating the data key re-encrypts it like
-- any other field, so every stored hash stays valid.
CREATE TABLE blinding_secrets (
    name TEXT PRIMARY KEY,
    secret_enc BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE communities_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO communities_new (id, platform, external_id, name, locale, timezone, question_channel, pairing_channel, facilitator_rule, question_focus, created_at)
    SELECT id, platform, external_id, name, locale, timezone, question_channel, pairing_channel, facilitator_rule, question_focus, created_at FROM communities;
DROP TABLE communities;
ALTER TABLE communities_new RENAME TO communities;

CREATE TABLE members_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    platform_user_id TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (community_id, platform_user_id)
);
INSERT INTO members_new (id, community_id, platform_user_id, display_name, created_at)
    SELECT id, community_id, platform_user_id, display_name, created_at FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;

CREATE TABLE confirmations_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
INSERT INTO confirmations_new (id, community_id, member_id, action, payload, created_at, expires_at)
    SELECT id, community_id, member_id, action, payload, created_at, expires_at FROM confirmations;
DROP TABLE confirmations;
ALTER TABLE confirmations_new RENAME TO confirmations;
CREATE INDEX confirmations_member ON confirmations (member_id);

CREATE TABLE question_schedules_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL UNIQUE REFERENCES communities(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    recurrence TEXT NOT NULL,
    timezone TEXT NOT NULL,
    anchor TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    checked_until TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO question_schedules_new (id, community_id, channel, recurrence, timezone, anchor, paused, checked_until, created_at)
    SELECT id, community_id, channel, recurrence, timezone, anchor, paused, checked_until, created_at FROM question_schedules;
DROP TABLE question_schedules;
ALTER TABLE question_schedules_new RENAME TO question_schedules;

CREATE TABLE question_postings_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    slot_key TEXT NOT NULL UNIQUE,
    prompt_id TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    channel TEXT NOT NULL,
    posted_at TEXT NOT NULL
);
INSERT INTO question_postings_new (id, community_id, slot_key, prompt_id, cycle, channel, posted_at)
    SELECT id, community_id, slot_key, prompt_id, cycle, channel, posted_at FROM question_postings;
DROP TABLE question_postings;
ALTER TABLE question_postings_new RENAME TO question_postings;
CREATE INDEX question_postings_cycle ON question_postings (community_id, cycle);

CREATE TABLE question_suggestions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    text_enc BLOB,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    note_enc BLOB,
    question_id TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);
INSERT INTO question_suggestions_new (id, community_id, member_id, text_enc, status, note_enc, question_id, created_at, decided_at)
    SELECT id, community_id, member_id, text_enc, status, note_enc, question_id, created_at, decided_at FROM question_suggestions;
DROP TABLE question_suggestions;
ALTER TABLE question_suggestions_new RENAME TO question_suggestions;
CREATE INDEX question_suggestions_member ON question_suggestions (member_id, status);
CREATE INDEX question_suggestions_community ON question_suggestions (community_id, status);

CREATE TABLE pair_participants_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO pair_participants_new (id, community_id, member_id, status, paused_until, preferences, consent_version, joined_at, last_active_at, silent_rounds, asked_at)
    SELECT id, community_id, member_id, status, paused_until, preferences, consent_version, joined_at, last_active_at, silent_rounds, asked_at FROM pair_participants;
DROP TABLE pair_participants;
ALTER TABLE pair_participants_new RENAME TO pair_participants;
CREATE INDEX pair_participants_paused ON pair_participants (community_id, status, paused_until);

CREATE TABLE pair_consents_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    feature TEXT NOT NULL DEFAULT 'pairing',
    text_version TEXT NOT NULL,
    given_at TEXT NOT NULL,
    withdrawn_at TEXT
);
INSERT INTO pair_consents_new (id, community_id, member_id, feature, text_version, given_at, withdrawn_at)
    SELECT id, community_id, member_id, feature, text_version, given_at, withdrawn_at FROM pair_consents;
DROP TABLE pair_consents;
ALTER TABLE pair_consents_new RENAME TO pair_consents;
CREATE INDEX pair_consents_member ON pair_consents (member_id, withdrawn_at);

CREATE TABLE pair_rounds_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO pair_rounds_new (id, community_id, number, slot_key, state, starts_at, midpoint_at, ends_at, heads_up_at, mid_sent, pairs_made, members_matched, created_at, closed_at)
    SELECT id, community_id, number, slot_key, state, starts_at, midpoint_at, ends_at, heads_up_at, mid_sent, pairs_made, members_matched, created_at, closed_at FROM pair_rounds;
DROP TABLE pair_rounds;
ALTER TABLE pair_rounds_new RENAME TO pair_rounds;
CREATE INDEX pair_rounds_state ON pair_rounds (community_id, state);

CREATE TABLE pairs_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO pairs_new (id, community_id, round_id, space_key, size, state, question_id, origin, created_at, ended_at)
    SELECT id, community_id, round_id, space_key, size, state, question_id, origin, created_at, ended_at FROM pairs;
DROP TABLE pairs;
ALTER TABLE pairs_new RENAME TO pairs;
CREATE INDEX pairs_round ON pairs (round_id, state);
CREATE INDEX pairs_origin ON pairs (origin);
CREATE INDEX pairs_community ON pairs (community_id);

CREATE TABLE pair_checkins_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO pair_checkins_new (id, community_id, pair_id, member_id, kind, step, answers_enc, answered, opened_at, closed_at)
    SELECT id, community_id, pair_id, member_id, kind, step, answers_enc, answered, opened_at, closed_at FROM pair_checkins;
DROP TABLE pair_checkins;
ALTER TABLE pair_checkins_new RENAME TO pair_checkins;
CREATE INDEX pair_checkins_open ON pair_checkins (member_id, closed_at);
CREATE INDEX pair_checkins_community ON pair_checkins (community_id, member_id);

CREATE TABLE agreements_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    short_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'proposed', 'agreed', 'revisiting', 'withdrawn')),
    started_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
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
INSERT INTO agreements_new (id, community_id, short_id, status, started_by, draft_enc, proposal_version, proposal_hash, proposed_by, in_force_version, in_force_hash, review_date, created_at, updated_at, withdrawn_at, purge_after)
    SELECT id, community_id, short_id, status, started_by, draft_enc, proposal_version, proposal_hash, proposed_by, in_force_version, in_force_hash, review_date, created_at, updated_at, withdrawn_at, purge_after FROM agreements;
DROP TABLE agreements;
ALTER TABLE agreements_new RENAME TO agreements;

CREATE TABLE agreement_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    version INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO agreement_events_new (id, agreement_id, at, member_id, kind, version, detail)
    SELECT id, agreement_id, at, member_id, kind, version, detail FROM agreement_events;
DROP TABLE agreement_events;
ALTER TABLE agreement_events_new RENAME TO agreement_events;
CREATE INDEX agreement_events_agreement ON agreement_events (agreement_id, id);

CREATE TABLE agreement_checkins_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    answered_at TEXT
);
INSERT INTO agreement_checkins_new (id, agreement_id, member_id, reason, opened_at, answered_at)
    SELECT id, agreement_id, member_id, reason, opened_at, answered_at FROM agreement_checkins;
DROP TABLE agreement_checkins;
ALTER TABLE agreement_checkins_new RENAME TO agreement_checkins;
CREATE INDEX agreement_checkins_agreement ON agreement_checkins (agreement_id);
CREATE INDEX agreement_checkins_member ON agreement_checkins (member_id);

CREATE TABLE space_agreement_versions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    content TEXT NOT NULL,
    change_number INTEGER,
    adopted_how TEXT NOT NULL CHECK (adopted_how IN ('draft', 'consent', 'facilitator')),
    adopted_at TEXT NOT NULL,
    UNIQUE (community_id, number)
);
INSERT INTO space_agreement_versions_new (id, community_id, number, content, change_number, adopted_how, adopted_at)
    SELECT id, community_id, number, content, change_number, adopted_how, adopted_at FROM space_agreement_versions;
DROP TABLE space_agreement_versions;
ALTER TABLE space_agreement_versions_new RENAME TO space_agreement_versions;

CREATE TABLE space_agreement_changes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO space_agreement_changes_new (id, community_id, number, section, text, proposer_id, channel, status, opened_at, closes_at, decided_at, version)
    SELECT id, community_id, number, section, text, proposer_id, channel, status, opened_at, closes_at, decided_at, version FROM space_agreement_changes;
DROP TABLE space_agreement_changes;
ALTER TABLE space_agreement_changes_new RENAME TO space_agreement_changes;

CREATE TABLE dialogs_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO dialogs_new (id, community_id, member_id, kind, ref, steps, position, data_enc, created_at, expires_at)
    SELECT id, community_id, member_id, kind, ref, steps, position, data_enc, created_at, expires_at FROM dialogs;
DROP TABLE dialogs;
ALTER TABLE dialogs_new RENAME TO dialogs;
CREATE INDEX dialogs_ref ON dialogs (kind, ref);

CREATE TABLE pair_not_with_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    -- A keyed hash of the other person's identity in the community (platform user id).
    other_hash TEXT,
    -- Only in entries made before this migration: the other member's row id, encrypted. Turned
    -- into other_hash when next read, or dropped if that person has since erased their data.
    other_enc BLOB,
    created_at TEXT NOT NULL,
    CHECK (other_hash IS NOT NULL OR other_enc IS NOT NULL)
);
INSERT INTO pair_not_with_new (id, community_id, member_id, other_enc, created_at)
    SELECT id, community_id, member_id, other_enc, created_at FROM pair_not_with;
DROP TABLE pair_not_with;
ALTER TABLE pair_not_with_new RENAME TO pair_not_with;
CREATE INDEX pair_not_with_member ON pair_not_with (community_id, member_id);
CREATE INDEX pair_not_with_legacy ON pair_not_with (community_id) WHERE other_hash IS NULL;
