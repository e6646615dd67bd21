-- Issue 11: invitations to negotiate an agreement can be refused for good, and the space
-- agreement's proposals are limited per member.

-- A declined invitation holds off a new one from the same starter to the same member for
-- `[agreements] reinvite_after_days`; the daily purge deletes rows older than that.
CREATE TABLE agreement_invitation_declines (
    inviter_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    invitee_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    declined_at TEXT NOT NULL,
    PRIMARY KEY (inviter_id, invitee_id)
);
CREATE INDEX agreement_invitation_declines_invitee ON agreement_invitation_declines (invitee_id);
CREATE INDEX agreement_invitation_declines_at ON agreement_invitation_declines (declined_at);

-- Members who turned invitations off (`agreement invitations off`); a row means off.
CREATE TABLE agreement_invitation_settings (
    member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
    off_since TEXT NOT NULL
);

-- A member's open proposals and their latest one (the per-member limits of `space-agreement
-- propose`); also what `mydata forget` needs to unlink a proposer without a scan.
CREATE INDEX space_agreement_changes_proposer ON space_agreement_changes (proposer_id, opened_at);
