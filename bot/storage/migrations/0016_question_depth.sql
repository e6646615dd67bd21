-- The depth mix a community's facilitators chose with `questions depth light|mixed|deep`: which
-- depths scheduled group questions and pair openers are drawn from. 'mixed' is how every space
-- started.
ALTER TABLE communities ADD COLUMN question_depth TEXT NOT NULL DEFAULT 'mixed';
