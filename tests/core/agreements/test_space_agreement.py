"""The space agreement through the real App (consent rounds, posts and pins, restarts) and the
`resources` command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alongside.settings import load_settings
from bot.replies import ChannelPost
from tests.core.agreements.helpers import dump, meet, say
from tests.harness import make_harness


def posts(h) -> list[ChannelPost]:
    return [i for i in h.sink.take() if isinstance(i, ChannelPost)]


async def drafted(h) -> None:
    await meet(h, "alex", "sam", "jo", "rin", "kit")
    await say(h, "alex", "space-agreement draft", private=False)
    h.sink.take()


async def test_a_facilitator_drafts_it_from_the_template_and_it_is_pinned(harness):
    h = harness
    await meet(h, "alex", "sam")
    assert "doesn't have an agreement yet" in await say(h, "sam", "space-agreement show")
    assert "for the space's facilitators" in await say(h, "sam", "space-agreement draft", private=False)
    assert "I'm not sure which channel" in await say(h, "alex", "space-agreement draft")
    out = await say(h, "alex", "space-agreement draft", private=False)
    assert "posted (and pinned) in #circle" in out
    [post] = posts(h)
    assert post.channel == "circle" and post.pin
    for title in ("Why we're here", "How we talk with each other", "Confidentiality", "Conflict and harm",
                  "What facilitators can see and do", "Duty of care", "How we change this agreement",
                  "Looking at it again"):
        assert title in post.text
    assert "open for 7 days" in post.text and "at least 3 members" in post.text
    assert "not an emergency service" in post.text and "(statement version 1)" in post.text
    assert "already has an agreement" in await say(h, "alex", "space-agreement draft", private=False)
    shown = await say(h, "sam", "space-agreement show")
    assert "version 1 (the first draft" in shown and "No changes are open" in shown


async def test_a_change_is_adopted_by_consent_when_its_days_are_up(harness):
    h = harness
    await drafted(h)
    out = await say(h, "sam", "space-agreement propose talk We ask before offering a suggestion.")
    assert "Your change is #1" in out
    [announce] = posts(h)
    assert "sam proposes a change" in announce.text and not announce.pin
    await say(h, "jo", "space-agreement agree 1")
    await say(h, "rin", "space-agreement agree 1")
    assert "Open until" in await say(h, "kit", "space-agreement changes")
    await h.advance(timedelta(days=6, hours=23))
    assert posts(h) == []
    await h.advance(timedelta(hours=2))
    adopted = posts(h)
    assert "is adopted" in adopted[0].text
    assert adopted[1].pin and "version 2 (adopted by consent" in adopted[1].text
    assert "We ask before offering a suggestion." in adopted[1].text
    shown = await say(h, "kit", "space-agreement show")
    assert "version 2" in shown and "We ask before offering a suggestion." in shown
    assert "#1 2. How we talk with each other: adopted" in await say(h, "kit", "space-agreement changes")
    versions = await h.db.fetchall("SELECT number, adopted_how FROM space_agreement_versions ORDER BY number")
    assert [tuple(v) for v in versions] == [(1, "draft"), (2, "consent")]


async def test_without_enough_agreement_it_is_not_adopted_and_the_proposer_hears_privately(harness):
    h = harness
    await drafted(h)
    await say(h, "sam", "space-agreement propose 8 Every season.")
    await say(h, "jo", "space-agreement agree 1")
    h.sink.take()
    await h.advance(timedelta(days=8))
    sent = h.sink.take()
    assert len(sent) == 1 and sent[0].user_id == "sam" and "wasn't adopted" in sent[0].text
    assert "not adopted" in await say(h, "sam", "space-agreement changes")


async def test_an_objection_keeps_it_open_and_invites_a_conversation(harness):
    h = harness
    await drafted(h)
    await say(h, "sam", "space-agreement propose talk We ask before offering a suggestion.")
    await say(h, "rin", "space-agreement agree 1")
    await say(h, "kit", "space-agreement agree 1")
    h.sink.take()
    out = await say(h, "jo", "space-agreement object 1 I'd like the words about advice kept.")
    assert "sam has your note" in out and "talk it over" in out
    [notice] = h.sink.take()
    assert notice.user_id == "sam" and "jo has an objection" in notice.text and "invitation to talk" in notice.text
    before = await dump(h)
    assert "has an objection open" in await say(h, "alex", "space-agreement adopt 1")
    assert await dump(h) == before
    await h.advance(timedelta(days=10))
    assert posts(h) == []
    assert "1 objection open" in await say(h, "sam", "space-agreement changes")
    out = await say(h, "jo", "space-agreement agree 1")
    assert "lifted your objection" in out
    adopted = [i for i in h.sink.take() if isinstance(i, ChannelPost)]
    assert adopted and adopted[-1].pin and "version 2 (adopted by consent" in adopted[-1].text


async def test_a_facilitator_adopts_early_only_with_no_objection_open(harness):
    h = harness
    await drafted(h)
    await say(h, "sam", "space-agreement propose 1 We're here to be with each other.")
    assert "for the space's facilitators" in await say(h, "sam", "space-agreement adopt 1")
    out = await say(h, "alex", "space-agreement adopt 1")
    assert "Change #1 is adopted: this is version 2" in out
    pinned = [p for p in posts(h) if p.pin]
    assert len(pinned) == 1 and "adopted by a facilitator" in pinned[0].text
    assert "isn't open any more" in await say(h, "jo", "space-agreement agree 1")
    assert "isn't open any more" in await say(h, "alex", "space-agreement adopt 1")
    await h.advance(timedelta(days=8))  # the round's own close finds nothing to do
    assert posts(h) == []


BAD_INPUT = [
    ("sam", "space-agreement propose feelings New words.", "I don't know a section called \"feelings\""),
    ("sam", "space-agreement propose 9 New words.", "I don't know a section called \"9\""),
    ("sam", "space-agreement propose duty-of-care New words.", "comes from this space's organisation settings"),
    ("sam", "space-agreement propose talk " + "x" * 1001, "up to 1000 characters, and this one has 1001"),
    ("sam", "space-agreement agree 7", "There's no change #7"),
    ("sam", "space-agreement agree 1", "so you've agreed to it already"),
    ("sam", "space-agreement object 1 hmm", "You proposed change #1"),
    ("jo", "space-agreement agree 1", "already agreed"),
    ("rin", "space-agreement object 1 again", "already objected"),
    ("alex", "space-agreement adopt 1", "has an objection open"),
    ("alex", "space-agreement draft", "already has an agreement"),
]


@pytest.mark.parametrize(("who", "line", "expected"), BAD_INPUT)
async def test_bad_input_changes_nothing(tmp_path, who, line, expected, store):
    h = await make_harness(tmp_path)
    try:
        await drafted(h)
        await say(h, "sam", "space-agreement propose talk We ask first.")
        await say(h, "jo", "space-agreement agree 1")
        await say(h, "rin", "space-agreement object 1 Let's talk.")
        h.sink.take()
        before = await dump(h)
        assert expected in await say(h, who, line, private=False)
        assert await dump(h) == before
        assert h.sink.take() == []
    finally:
        await h.close()


async def test_proposing_before_there_is_an_agreement_or_without_change(harness):
    h = harness
    await meet(h, "alex", "sam")
    assert "doesn't have an agreement yet" in await say(h, "sam", "space-agreement propose talk Hello.")
    await say(h, "alex", "space-agreement draft", private=False)
    current = await say(h, "sam", "space-agreement show")
    purpose = current.split("1. Why we're here\n")[1].split("\n")[0]
    assert "nothing to change" in await say(h, "sam", f"space-agreement propose purpose {purpose}")


async def test_a_round_that_closed_while_the_bot_was_down_is_decided_at_start(tmp_path, store):
    h = await make_harness(tmp_path)
    await drafted(h)
    await say(h, "sam", "space-agreement propose talk We ask first.")
    await say(h, "jo", "space-agreement agree 1")
    await say(h, "rin", "space-agreement agree 1")
    await h.close()
    h = await make_harness(tmp_path, start=datetime(2026, 1, 20, 9, tzinfo=UTC))
    try:
        pinned = [p for p in posts(h) if p.pin]
        assert len(pinned) == 1 and "We ask first." in pinned[0].text
        await h.close()
        h = await make_harness(tmp_path, start=datetime(2026, 1, 21, 9, tzinfo=UTC))
        assert posts(h) == []  # decided once
    finally:
        await h.close()


# -- resources ---------------------------------------------------------------------------------


async def test_resources_are_shown_privately_by_region_with_plain_policies(tmp_path, store):
    settings = load_settings(
        None,
        resources=[
            {"name": "Peer Warmline", "contact": "call 0100", "hours": "18:00-23:00", "region": "North",
             "peer_run": True, "intervention_policy": "never-without-consent"},
            {"name": "Night Line", "contact": "text 0200", "region": "South",
             "intervention_policy": "may-contact-emergency-services"},
            {"name": "Open Door", "contact": "opendoor.example", "region": "North"},
        ],
        duty_of_care={"version": "4", "text": "We are peers, not a crisis service."},
    )
    h = await make_harness(tmp_path, settings=settings)
    try:
        [answer] = await h.run("sam", "resources", channel="circle")
        assert answer.private
        text = answer.text
        assert text.index("North") < text.index("Peer Warmline") < text.index("Open Door") < text.index("South")
        assert "Peer Warmline: call 0100; 18:00-23:00; peer-run; never contacts emergency services without your consent." in text
        assert "Night Line: text 0200; may contact emergency services." in text
        assert "Open Door: opendoor.example; hasn't said whether it contacts emergency services." in text
        assert "Duty of care (statement version 4): We are peers, not a crisis service." in text
        assert "never contact anyone on your behalf" in text
        assert "intervention" not in text.lower()
        await say(h, "alex", "space-agreement draft", private=False)
        assert "We are peers, not a crisis service. (statement version 4)" in await say(h, "sam", "space-agreement show")
    finally:
        await h.close()


async def test_resources_when_none_are_listed(harness):
    text = await say(harness, "sam", "resources")
    assert "hasn't listed any resources yet" in text and "Duty of care" in text
