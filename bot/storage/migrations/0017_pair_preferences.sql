-- Pairing preferences and meet-again wishes (issue 17).

-- One member's preferences (languages, timezone as they gave it, usual free times, style), as
-- encrypted JSON: private, shown back only to them, deleted on `pair leave` and `mydata forget`.
-- The timezone is kept as given (an IANA name or a UTC offset) and converted at matching time,
-- so summer time counts.
CREATE TABLE pair_preferences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    prefs_enc BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (community_id, member_id)
);

-- A member's private "meet again" wishes. Like a not-with entry, a wish names the other person
-- by a keyed hash of their identity (to match it) and, encrypted, by the platform id the member
-- gave (to show the member their own list); it counts only when both asked, and only if it was
-- made after the other person's current member row (an erased-and-returned person starts anew).
CREATE TABLE pair_again (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    other_hash TEXT NOT NULL,
    other_enc BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX pair_again_member ON pair_again (community_id, member_id);
CREATE INDEX pair_again_other ON pair_again (community_id, other_hash);
