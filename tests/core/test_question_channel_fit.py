"""Found walking the console as a new facilitator (issue 12): after `setup question-channel
#reflections`, a question schedule typed in #circle posted in #circle. A space's question channel
is where its scheduled questions go; without one, the channel the schedule was typed in."""

from __future__ import annotations

from datetime import timedelta

from bot.replies import ChannelPost


async def test_a_schedule_posts_in_the_question_channel_the_space_set(harness):
    h = harness
    assert "Saved" in await h.say("alex", "setup question-channel #reflections")
    out = await h.say("alex", "questions schedule daily 18:00", channel="circle")
    assert "in #reflections" in out, out
    h.sink.take()
    await h.advance(timedelta(days=1))
    posts = [i for i in h.sink.take() if isinstance(i, ChannelPost)]
    assert posts and {p.channel for p in posts} == {"reflections"}, posts


async def test_without_a_question_channel_a_schedule_posts_where_it_was_typed(harness):
    h = harness
    out = await h.say("alex", "questions schedule daily 18:00", channel="circle")
    assert "in #circle" in out, out
