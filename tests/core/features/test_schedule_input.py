"""Schedules: every error names the part that failed, and a schedule firing more often than the
space allows is refused with the minimum stated (configurable). Nothing is saved on a refusal."""

from __future__ import annotations

from alongside.settings import load_settings
from tests.harness import make_harness


async def no_schedule(harness) -> bool:
    return (await harness.db.fetchone("SELECT COUNT(*) FROM question_schedules"))[0] == 0


async def test_each_schedule_error_names_the_part_that_failed(harness):
    cases = {
        "/questions schedule daily 18:00 Europe/Pariss": '"Europe/Pariss" in that schedule isn\'t a timezone',
        "/questions schedule daily 25:00": '"25:00" in that schedule isn\'t a time of day',
        "/questions schedule weekly mon,funday 19:30": '"funday" in that schedule isn\'t a day',
        "/questions schedule every 400 days 10:00": '"400" in that schedule isn\'t a count',
        "/questions schedule 0 0 31 2 *": '"0 0 31 2 *" isn\'t a cron expression I can use',
        "/questions schedule sometimes soon": 'I couldn\'t read "sometimes soon" as a schedule',
    }
    for line, expected in cases.items():
        answer = await harness.say("alex", line)
        assert expected in answer, (line, answer)
    assert await no_schedule(harness)


async def test_questions_more_often_than_the_minimum_are_refused(harness):
    answer = await harness.say("alex", "/questions schedule */5 * * * *")
    assert '"*/5 * * * *" would post a question every 5 minutes' in answer
    assert "at least 1 hour apart" in answer
    assert "daily 18:00" in answer
    assert await no_schedule(harness)
    assert "Questions will be posted" in await harness.say("alex", "/questions schedule 0 9,18 * * *")


async def test_the_question_minimum_is_configurable(tmp_path, store):
    settings = load_settings(None, scheduling={"min_question_gap_minutes": 24 * 60})
    harness = await make_harness(tmp_path, settings=settings)
    try:
        answer = await harness.say("alex", "/questions schedule 0 9,18 * * *")
        assert "every 9 hours" in answer and "at least 1 day apart" in answer
        assert "Questions will be posted" in await harness.say("alex", "/questions schedule daily 18:00")
    finally:
        await harness.close()


async def test_the_round_minimum_reads_in_days(harness):
    """The helper pairing's `pair schedule` is to call (see bot/features/schedules.py)."""
    from datetime import timedelta

    import pytest

    from bot.errors import Refusal
    from bot.features.schedules import read_schedule

    ctx = await harness.app.context(harness.inv("alex"))
    with pytest.raises(Refusal) as refused:
        read_schedule(ctx, "daily 10:00", "UTC", ctx.now.date(), minimum=timedelta(days=7), what="rounds")
    text = ctx.t(refused.value.key, **refused.value.params)
    assert text.startswith('"daily 10:00" would start a round every day. Rounds in this space last at least 7 days')
    assert read_schedule(
        ctx, "every 2 weeks mon 10:00", "UTC", ctx.now.date(), minimum=timedelta(days=7), what="rounds"
    ).text == "every 2 weeks mon 10:00"
