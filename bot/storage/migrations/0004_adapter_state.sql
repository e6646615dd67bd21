-- State the platform adapters keep: sync tokens and similar (adapter_state), events already
-- handled (seen_events, for at-most-once handling), each member's private space with the bot
-- and each pair's space on the platform.

CREATE TABLE adapter_state (
    platform TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (platform, key)
);

CREATE TABLE seen_events (
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (platform, event_id)
);

CREATE TABLE private_channels (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    PRIMARY KEY (platform, user_id)
);

CREATE TABLE pair_space_channels (
    platform TEXT NOT NULL,
    community_external_id TEXT NOT NULL,
    space_key TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    closed_at TEXT,
    PRIMARY KEY (platform, community_external_id, space_key)
);
