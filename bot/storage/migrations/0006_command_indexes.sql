-- Indexes for lookups that commands and round starts make by member or community in tables that
-- grow with use. Without them each scanned the whole table, every community's rows included: after
-- a simulated year for 200 communities (bench/soak.py) a round start's history read took 84 ms,
-- `pair stats` 12 ms and every `questions suggest` a scan of all suggestions.

CREATE INDEX pairs_community ON pairs (community_id);
CREATE INDEX pair_checkins_community ON pair_checkins (community_id, member_id);
CREATE INDEX confirmations_member ON confirmations (member_id);
CREATE INDEX question_suggestions_member ON question_suggestions (member_id, status);
CREATE INDEX question_suggestions_community ON question_suggestions (community_id, status);
CREATE INDEX community_questions_community ON community_questions (community_id);
CREATE INDEX agreement_checkins_member ON agreement_checkins (member_id);
CREATE INDEX space_agreement_responses_member ON space_agreement_responses (member_id);
CREATE INDEX dialogs_ref ON dialogs (kind, ref);
