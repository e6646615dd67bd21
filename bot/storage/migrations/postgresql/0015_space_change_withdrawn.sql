-- PostgreSQL's version of 0015: a proposer may withdraw their own open change, a fourth status.
-- PostgreSQL alters the CHECK constraint in place (SQLite rebuilds the table).
ALTER TABLE space_agreement_changes DROP CONSTRAINT space_agreement_changes_status_check;
ALTER TABLE space_agreement_changes ADD CONSTRAINT space_agreement_changes_status_check
    CHECK (status IN ('open', 'adopted', 'not_adopted', 'withdrawn'));
