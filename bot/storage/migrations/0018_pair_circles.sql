-- How a community's pairing groups people (`pair schedule ... size N together N`, or `setup`):
-- pair_size 2 is pairs (at most one group of three, as every space started); 3 to 6 is circles of
-- about that size. pair_together is how many rounds in a row the same circles meet (1: every
-- round reshuffles).
ALTER TABLE communities ADD COLUMN pair_size INTEGER NOT NULL DEFAULT 2;
ALTER TABLE communities ADD COLUMN pair_together INTEGER NOT NULL DEFAULT 1;
-- Which round of a run with the same circles a round is: 1 when it grouped people into circles
-- afresh, 2 when it carried on the previous round's circles, and so on; 0 when it grouped people
-- in pairs (so a space that turns to circles never carries its pairs on as circles).
ALTER TABLE pair_rounds ADD COLUMN run_round INTEGER NOT NULL DEFAULT 0;
