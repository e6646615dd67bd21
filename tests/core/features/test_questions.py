"""Reflective questions on the fake clock: schedules, slots, grace, rotation, suggestions."""

import sqlite3
from datetime import UTC, datetime, timedelta

from bot.replies import ChannelPost, PrivateMessage
from bot.storage.db import Database
from tests.harness import make_harness


def posts(sink):
    return [i for i in sink.take() if isinstance(i, ChannelPost)]


async def test_questions_now_posts_with_a_thread(harness):
    # Light questions carry no content note, so the thread takes the question's own words.
    await harness.say("alex", "/questions depth light")
    answer = await harness.say("alex", "/questions now")
    assert "posted a question in #circle" in answer
    (post,) = posts(harness.sink)
    # The thread is named by the question's own words (cut to fit), not an internal id.
    assert post.channel == "circle" and post.text.startswith("A question for the space: " + post.thread_title.rstrip("…"))
    assert post.text.rstrip().endswith("so is passing.")


async def test_facilitator_only_commands_refuse_others_and_change_nothing(harness):
    for command in ("/questions now", "/questions schedule daily 18:00", "/questions pause",
                    "/questions resume", "/questions focus worldview", "/questions review",
                    "/questions approve 1", "/questions decline 1", "/setup timezone Europe/Paris"):
        answer = await harness.say("sam", command)
        assert "is for the space's facilitators" in answer, command
    assert posts(harness.sink) == []
    status = await harness.say("sam", "/questions status")
    assert "no question schedule yet" in status and "Focus: all" in status


async def test_daily_schedule_posts_each_slot_once_across_dst(harness):
    await harness.say("alex", "/questions schedule daily 18:00 Europe/London")
    harness.sink.take()
    # Across the spring change (29 March 2026) the post stays at 18:00 London time.
    harness.clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    await harness.say("alex", "/questions schedule daily 18:00 Europe/London")
    await harness.advance(timedelta(days=4))
    rows = await harness.db.fetchall("SELECT slot_key FROM question_postings ORDER BY id")
    slots = [r[0].split(":", 2)[2] for r in rows]
    assert slots == [
        "2026-03-27T18:00:00+00:00",
        "2026-03-28T18:00:00+00:00",
        "2026-03-29T17:00:00+00:00",
        "2026-03-30T17:00:00+00:00",
    ]
    assert len(posts(harness.sink)) == 4


async def test_rotation_never_repeats_within_a_cycle(harness):
    await harness.say("alex", "/questions focus mutuality")
    bank = [q for q in harness.app.catalog.questions("en") if q.audience == "group" and "mutuality" in q.tasks]
    seen = []
    for _ in range(len(bank) + 3):
        await harness.say("alex", "/questions now")
        (post,) = posts(harness.sink)
        seen.append(post.thread_title)
    first_cycle = seen[: len(bank)]
    assert len(set(first_cycle)) == len(bank)
    assert set(seen[len(bank):]) <= set(first_cycle)
    rows = await harness.db.fetchall("SELECT DISTINCT cycle FROM question_postings")
    assert {r[0] for r in rows} == {1, 2}


async def test_rotation_is_deterministic_for_a_seed(tmp_path, store):
    titles = []
    for run in range(2):
        h = await make_harness(tmp_path / str(run), seed=7)
        for _ in range(3):
            await h.say("alex", "/questions now")
        titles.append([p.thread_title for p in posts(h.sink)])
        await h.close()
    assert titles[0] == titles[1]


async def test_pause_resume_and_missed_slots_while_paused(harness):
    await harness.say("alex", "/questions schedule daily 10:00")
    assert "paused" in await harness.say("alex", "/questions pause")
    assert "already paused" in await harness.say("alex", "/questions pause")
    await harness.advance(timedelta(days=2))
    assert posts(harness.sink) == []
    assert "running again" in await harness.say("alex", "/questions resume")
    await harness.advance(timedelta(days=1))
    assert len(posts(harness.sink)) == 1


async def test_restart_catches_up_inside_grace_and_skips_outside(tmp_path, store):
    h = await make_harness(tmp_path)
    await h.say("alex", "/questions schedule daily 18:00")
    await h.close()
    # Down from 09:00 to 18:30: the 18:00 slot is inside the one-hour grace window.
    h = await make_harness(tmp_path, start=datetime(2026, 1, 5, 18, 30, tzinfo=UTC))
    assert len(posts(h.sink)) == 1
    await h.close()
    # Restarting again at 18:40 posts nothing twice.
    h = await make_harness(tmp_path, start=datetime(2026, 1, 5, 18, 40, tzinfo=UTC))
    assert posts(h.sink) == []
    await h.close()
    # Down through the next day's slot by two hours: skipped, not posted late.
    h = await make_harness(tmp_path, start=datetime(2026, 1, 6, 20, 0, tzinfo=UTC))
    assert posts(h.sink) == []
    await h.advance(timedelta(hours=23))
    assert len(posts(h.sink)) == 1
    await h.close()


async def test_crash_after_deciding_but_before_sending_delivers_once(tmp_path, store):
    h = await make_harness(tmp_path)
    await h.say("alex", "/questions schedule daily 18:00")
    h.app.attach_sink(None)  # the process "dies" before the outbox is flushed
    await h.advance(timedelta(hours=10))
    await h.close()
    h = await make_harness(tmp_path, start=datetime(2026, 1, 5, 19, 0, tzinfo=UTC))
    assert len(posts(h.sink)) == 1
    await h.close()


async def test_suggestion_flow_and_privacy(harness):
    text = "What is one thing a friend taught you without meaning to?"
    assert "Thank you" in await harness.say("sam", f"/questions suggest {text}")
    assert "end with a question mark" in await harness.say("jo", "/questions suggest Tell me about your week.")
    review = await harness.say("alex", "/questions review")
    assert "#1" in review and text in review
    assert "isn't one of the options" in await harness.say("alex", "/questions approve 1 colours")
    assert "no suggestion #9" in await harness.say("alex", "/questions approve 9")
    assert "now part of this space's questions" in await harness.say("alex", "/questions approve 1 worldview")
    (notice,) = [i for i in harness.sink.take() if isinstance(i, PrivateMessage)]
    assert notice.user_id == "sam" and text in notice.text
    # Approved suggestions join this community's bank, tagged as approved.
    row = await harness.db.fetchone("SELECT tasks FROM community_questions")
    assert row[0] == '["worldview"]'
    assert "no suggestion #1" in await harness.say("alex", "/questions decline 1")


async def test_declined_suggestion_leaves_no_text_behind(harness):
    text = "Where did you first learn what kindness looks like?"
    await harness.say("rin", f"/questions suggest {text}")
    assert "declined" in await harness.say("alex", "/questions decline 1 we have a close one already")
    (notice,) = [i for i in harness.sink.take() if isinstance(i, PrivateMessage)]
    assert "we have a close one already" in notice.text
    await harness.close()
    if harness.engine == "sqlite":
        conn = sqlite3.connect(harness.path)
        assert conn.execute("SELECT text_enc, note_enc FROM question_suggestions").fetchone() == (None, None)
        conn.close()
    else:
        db = await Database.open(harness.location)
        assert tuple(await db.fetchone("SELECT text_enc, note_enc FROM question_suggestions")) == (None, None)
        await db.close()


async def test_avoided_words_are_flagged_for_review(harness):
    await harness.say("sam", "/questions suggest What would a good helper do here, in your view?")
    assert "words this space usually avoids (helper)" in await harness.say("alex", "/questions review")


async def test_setup_settings(harness):
    assert "timezone: UTC" in await harness.say("alex", "/setup")
    assert "Saved" in await harness.say("alex", "/setup timezone Europe/Paris")
    assert "Saved" in await harness.say("alex", "/setup question-channel #reflections")
    assert "isn't a facilitator rule" in await harness.say("alex", "/setup facilitator-rule everyone")
    assert "don't have words for" in await harness.say("alex", "/setup locale xx")
    assert "What would you like" in await harness.say("alex", "/setup locale")
    shown = await harness.say("alex", "/setup")
    assert "Europe/Paris" in shown and "#reflections" in shown
    # With a question channel set, `questions now` from a private space posts there.
    await harness.say("alex", "/questions now", channel=None)
    (post,) = posts(harness.sink)
    assert post.channel == "reflections"


async def test_help_lists_only_what_a_member_may_run(harness):
    member_help = await harness.say("sam", "/help")
    assert "/questions status" in member_help and "/questions now" not in member_help
    facilitator_help = await harness.say("alex", "/help")
    assert "/questions now" in facilitator_help
    detail = await harness.say("sam", "/help questions schedule")
    assert "/questions schedule <recurrence> [timezone]" in detail and "facilitators" in detail
    assert "don't have a command" in await harness.say("sam", "/help juggle")


async def test_a_slot_claimed_once_is_never_posted_again(harness):
    from dataclasses import replace

    await harness.say("alex", "/questions schedule daily 18:00")
    await harness.advance(timedelta(hours=10))
    assert len(posts(harness.sink)) == 1
    cid = (await harness.app.community_for(harness.inv("alex"))).id
    # Rewind the scan position as a crash before it was persisted would: the slot is claimed.
    schedule = harness.app.questions._schedules[cid]
    harness.app.questions._schedules[cid] = replace(schedule, checked_until=schedule.checked_until - timedelta(hours=2))
    assert await harness.app.questions.run_due(cid, harness.clock.now()) == 0
    await harness.app.deliver_pending()
    assert posts(harness.sink) == []


async def test_the_facilitator_sees_what_the_lint_noticed_as_a_short_hint(harness):
    clean = "What is one thing a friend taught you without meaning to?"
    flagged = {
        "So, do you feel settled in this space?": ["it can be answered with yes or no"],
        "When it gets hard, you need to rest: what helps you do that?": ["it gives advice (you need to)"],
        "Are you feeling s\u200bafe right now?": [
            "it asks whether someone is safe",
            "it can be answered with yes or no",
        ],
        "What would a good m\u0435ntor do here, in your view?": ["it uses words this space usually avoids (mentor)"],
    }
    thanks = await harness.say("sam", f"/questions suggest {clean}")
    for text in flagged:
        # The member is never lectured: the same thanks as for any suggestion, nothing else.
        assert await harness.say("jo", f"/questions suggest {text}") == thanks
    assert [i for i in harness.sink.take() if isinstance(i, PrivateMessage)] == []

    review = (await harness.say("alex", "/questions review")).splitlines()
    notes = [line for line in review if "note:" in line]
    assert len(notes) == len(flagged)  # none for the clean suggestion
    for note, expected in zip(notes, flagged.values(), strict=True):
        assert note.strip() == "note: " + "; ".join(expected)
        assert len(note) <= 100
    # A hint, not a block: a flagged suggestion can still be approved.
    assert "now part of this space's questions" in await harness.say("alex", "/questions approve 2 connection")
