"""Issue 12, found walking the journey "two members negotiate an agreement while rounds go on"
(tests/journeys/stories/agreement_while_rounds_go_on.py). Each test failed on the main of its day."""

from __future__ import annotations

from datetime import timedelta

from bot.replies import ActionButtons
from tests.core.agreements.helpers import ID, say, start_pair, status
from tests.core.pairing.helpers import join, opened, private
from tests.harness import Harness


async def agreed(h: Harness, review: str | None = None) -> str:
    short_id = await start_pair(h, "alex", "sam")
    if review:
        await say(h, "alex", f"agreement edit #{short_id} revisit-date {review}")
    await say(h, "alex", f"agreement edit #{short_id} 7 We each name it when a message felt off.")
    await say(h, "alex", f"agreement propose #{short_id}")
    assert "is agreed" in await say(h, "sam", f"agreement accept #{short_id} v1")
    h.sink.take()
    return short_id


async def test_the_review_checkin_is_answered_while_a_pair_checkin_waits(harness):
    """The review reminder says `checkin` answers it; a pair check-in from an earlier round that
    is still open must not swallow that answer ("This one takes a number from 1 to 5")."""
    h = harness
    await join(h, "sam", "jo")
    await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(days=4))  # round 1 opened, its mid-round check-in is waiting
    assert any("Halfway through" in text for text in private(h.sink.take(), "sam"))
    short_id = await agreed(h, review="2026-01-10")
    await h.advance(timedelta(days=2))
    reminders = [i.text for i in h.sink.take() if isinstance(i, ActionButtons) and i.user_id == "sam"]
    assert any("Today is the review date" in text for text in reminders), reminders
    out = await say(h, "sam", "checkin")
    assert f"Agreement #{short_id}" in out and "How is our agreement working for you now?" in out, out
    out = await say(h, "sam", "checkin I'd like to look at it again")
    assert "Thank you for checking in" in out, out
    assert await status(h, short_id) == "agreed"  # an answer starts nothing; the command does
    # The pair check-in is still there afterwards, untouched.
    assert "How connected" in await say(h, "sam", "checkin")


async def test_the_review_date_example_works_as_shown_in_every_state(harness):
    """The "no review date" line shows a command; it names the agreement and is only shown where
    that command works (not on the agreed version, where `agreement edit` is refused)."""
    h = harness
    await start_pair(h, "alex", "jo")  # a second agreement: an example without its id can't work
    short_id = await agreed(h)
    view = await say(h, "sam", f"agreement view #{short_id}")
    assert "No review date set" in view
    assert "revisit-date" not in view, view
    await say(h, "sam", f"agreement revisit #{short_id}")
    view = await say(h, "sam", f"agreement view #{short_id}")
    example = f"/agreement edit #{short_id} revisit-date YYYY-MM-DD"
    assert example in view, view
    out = await say(h, "sam", example.removeprefix("/").replace("YYYY-MM-DD", "2026-03-01"))
    assert "Saved in agreement" in out, out


async def test_an_agreement_id_nobody_has_is_not_called_a_section(harness):
    h = harness
    short_id = await start_pair(h)
    out = await say(h, "alex", "agreement edit #1 safe Being listened to")
    assert "section" not in out and "can't find that agreement" in out, out
    assert "Saved" in await say(h, "alex", f"agreement edit #{short_id} safe Being listened to")


async def test_the_silent_rounds_question_does_not_deny_agreement_commands(harness):
    """Someone busy negotiating an agreement through three rounds typed commands all along; the
    stay-or-pause question counts only pairing's, and says so."""
    h = harness
    await join(h, "sam", "jo")
    await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(hours=1))
    assert opened(h.sink.take())
    out = await say(h, "sam", "agreement start @jo")
    assert ID.search(out), out
    asked = []
    for _ in range(3):
        await say(h, "sam", "agreement view")
        await h.advance(timedelta(days=7))
        asked += [t for t in private(h.sink.take(), "sam") if "rounds in a row" in t]
    assert asked, "sam was never asked"
    assert "no check-ins or commands from you" not in asked[0], asked[0]
    assert "pairing commands" in asked[0], asked[0]


async def test_space_agreement_changes_with_none_open_does_not_ask_for_a_response(harness):
    """After the only change is withdrawn, `space-agreement changes` said "Open changes: 0." and
    then how to agree to or object to an open change: an example that cannot work."""
    h = harness
    await say(h, "alex", "space-agreement draft", private=False)
    out = await say(h, "sam", "space-agreement propose how-we-talk We ask before advising.", private=False)
    assert "Your change is #1" in out, out
    await say(h, "sam", "space-agreement withdraw 1")
    out = await say(h, "jo", "space-agreement changes")
    assert "withdrawn by the person who proposed it" in out, out
    assert "space-agreement agree" not in out and "Open changes: 0" not in out, out
    assert "No changes are open right now" in out and "/space-agreement propose" in out, out
