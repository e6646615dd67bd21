"""Smaller question defects (issue 12, #17): approving without a task keeps the suggester's task
or asks; a full-width question mark ends a question; thread titles show the question's words;
`every 2 weeks` says which week it counts from; a long-missed schedule logs one line, not one
per slot."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.replies import ChannelPost


async def test_approve_without_a_task_keeps_the_suggesters_task(harness):
    assert "Thank" in await harness.say("sam", "/questions suggest worldview Where did you first learn what help looks like?")
    answer = await harness.say("alex", "/questions approve 1")
    assert "tagged worldview" in answer
    row = await harness.db.fetchone("SELECT tasks FROM community_questions")
    assert row[0] == '["worldview"]'


async def test_approve_without_a_task_asks_when_the_suggester_gave_none(harness):
    await harness.say("sam", "/questions suggest What does a good week look like for you?")
    answer = await harness.say("alex", "/questions approve 1")
    assert "Which task" in answer and "/questions approve 1 connection" in answer
    assert (await harness.db.fetchone("SELECT COUNT(*) FROM community_questions"))[0] == 0
    # The example in the answer works as written.
    assert "tagged connection" in await harness.say("alex", "/questions approve 1 connection")


async def test_a_full_width_question_mark_ends_a_question(harness):
    answer = await harness.say("sam", "/questions suggest 最近、何があなたを支えていますか？")
    assert "Thank" in answer, answer


async def test_thread_titles_show_the_questions_words(harness):
    # (A question with a content note is titled by its note instead: test_question_depths.py.)
    await harness.say("alex", "/questions depth light")
    await harness.say("alex", "/questions now")
    (post,) = [i for i in harness.sink.take() if isinstance(i, ChannelPost)]
    assert "Question " not in post.thread_title
    words = post.thread_title.rstrip("…").split()
    assert words and all(word in post.text for word in words[:-1])
    assert len(post.thread_title) <= 80


async def test_every_two_weeks_says_which_week_it_counts_from(harness):
    # START is Monday 5 January 2026, 09:00: 10:00 today is the first.
    harness.clock.set(harness.clock.now() + timedelta(days=2))  # Wednesday 7 January
    answer = await harness.say("alex", "/questions schedule every 2 weeks mon 10:00")
    assert "counted from the week of Mon, 5 Jan 2026" in answer
    assert "Mon, 19 Jan 2026" in answer  # the next one: not Monday 12 January


async def test_a_long_missed_schedule_logs_one_line(harness, caplog):
    await harness.say("alex", "/questions schedule daily 18:00")
    harness.clock.set(harness.clock.now() + timedelta(days=400))
    with caplog.at_level(logging.WARNING):
        await harness.app.questions.run_due(1, harness.clock.now())
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1, [r.getMessage() for r in skipped]
    assert "400 question slots" in skipped[0].getMessage() or "question slots" in skipped[0].getMessage()
