"""Pairing schedules have a lower bound (`[scheduling] min_round_days`) and name the part that
failed, as question schedules do (issue 12, defects 10 and 12)."""

from __future__ import annotations

from tests.core.pairing.helpers import snapshot


async def test_rounds_closer_than_the_minimum_are_refused_and_say_it(harness):
    h = harness
    before = await snapshot(h)
    out = await h.say("alex", "pair schedule daily 10:00")
    assert "at least 7 days" in out, out
    assert "weekly mon 10:00" in out, out  # says what would work
    assert await snapshot(h) == before
    out = await h.say("alex", "pair schedule every 2 weeks mon 10:00")
    assert "first" in out and "at least" not in out, out


async def test_a_bad_timezone_inside_a_pairing_schedule_is_named(harness):
    h = harness
    before = await snapshot(h)
    out = await h.say("alex", "pair schedule weekly mon 10:00 from 2026-02-02 Europe/Londn")
    assert "Europe/Londn" in out, out
    assert await snapshot(h) == before


async def test_a_weekly_schedule_across_a_clock_change_is_a_week_apart(harness):
    # Round starts on Mondays 10:00 London time straddle the change to summer time (29 Mar 2026):
    # 6 days 23 hours apart in absolute time, still a week on the clock people live by.
    h = harness
    out = await h.say("alex", "pair schedule weekly mon 10:00 from 2026-03-23 Europe/London")
    assert "at least" not in out, out


async def test_a_long_missed_pairing_schedule_logs_one_line(harness, caplog):
    # A database started again after a long time away: one line, not one per missed round.
    import logging
    from datetime import timedelta

    h = harness
    await h.say("alex", "pair schedule weekly mon 10:00")
    h.clock.set(h.clock.now() + timedelta(days=400))
    with caplog.at_level(logging.WARNING):
        await h.app.start()
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage() and "pairing" in r.getMessage()]
    assert len(skipped) == 1, skipped
    assert "pairing rounds" in skipped[0], skipped


async def test_the_pair_welcome_says_either_of_you_to_two_people(harness):
    from tests.core.pairing.helpers import join

    h = harness
    await join(h, "sam", "jo")
    await h.say("alex", "pair now")
    welcomes = [str(getattr(i, "text", "")) for i in h.sink.take() if "Welcome" in str(getattr(i, "text", ""))]
    assert welcomes and all("Either of you can end this pair" in w for w in welcomes), welcomes
