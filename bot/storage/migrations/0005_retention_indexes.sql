-- Indexes for the foreign keys of rows the retention purge deletes routinely. Without them every
-- deleted pair (ON DELETE CASCADE from pairs.origin) and every purged agreement scanned the whole
-- child table: a year of rounds made each round's purge take seconds.

CREATE INDEX pairs_origin ON pairs (origin);
CREATE INDEX agreement_checkins_agreement ON agreement_checkins (agreement_id);
CREATE INDEX agreement_reminders_agreement ON agreement_reminders (agreement_id);
