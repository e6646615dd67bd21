"""`questions status` reads the schedule without moving the job's scan position backwards.

It used to reload the schedule from storage, whose stored scan position is only written at start
and on changes: the next run then rescanned every slot since then and logged each one already
posted as "skipped" (and the scan grew with every week of a long-running schedule)."""

from __future__ import annotations

import logging
from datetime import timedelta


async def test_status_between_posts_leaves_the_schedule_where_it_is(harness, caplog):
    await harness.run("alex", "/questions schedule daily 18:00")
    await harness.advance(timedelta(days=3))
    await harness.say("sam", "/questions status")
    with caplog.at_level(logging.WARNING, logger="bot.features.questions"):
        await harness.advance(timedelta(days=2))
        await harness.say("sam", "/questions status")
        await harness.advance(timedelta(days=1))
    assert not [r for r in caplog.records if "skipped question slot" in r.getMessage()]
    rows = await harness.db.fetchall("SELECT slot_key FROM question_postings")
    assert len(rows) == len({r[0] for r in rows}) == 6


async def test_status_still_shows_a_schedule_changed_by_pause_and_resume(harness):
    await harness.run("alex", "/questions schedule daily 18:00")
    await harness.run("alex", "/questions pause")
    assert "paused" in (await harness.say("sam", "/questions status")).lower()
    await harness.run("alex", "/questions resume")
    assert "paused" not in (await harness.say("sam", "/questions status")).lower()
