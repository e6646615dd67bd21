"""Invitations to negotiate an agreement can be refused for good (issue 11, hole 13).

A declined invitation holds off a new one from the same person for `reinvite_after_days`, and
anyone can turn invitations off for themselves. Both are answered with the same neutral words,
which say only "not now; they can start one with you", and neither sends anything to the
person asked."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from alongside.settings import load_settings
from bot.replies import ConfirmPrompt, PrivateFile
from tests.core.agreements.helpers import ID, dump, meet, say
from tests.harness import make_harness

NOT_NOW = "sam can't be invited to an agreement just now. They can start one with you whenever they like."


def invitations(h) -> list[ConfirmPrompt]:
    return [i for i in h.sink.take() if isinstance(i, ConfirmPrompt)]


async def test_a_declined_invitation_cannot_be_repeated_at_once(harness):
    h = harness
    await meet(h, "alex", "sam", "jo")
    await say(h, "alex", "agreement start @sam")
    assert len(invitations(h)) == 1
    assert "invitations off" in await say(h, "sam", "no")
    h.sink.take()

    before = await dump(h)
    for _ in range(5):  # the same person, again and again: nothing reaches sam
        assert await say(h, "alex", "agreement start @sam") == NOT_NOW
        assert await say(h, "alex", "agreement start @sam @jo") == NOT_NOW
    assert await dump(h) == before
    assert h.sink.take() == []

    # Someone else may still invite sam; sam may still invite alex.
    assert "I've asked sam" in await say(h, "jo", "agreement start @sam")
    assert len(invitations(h)) == 1
    await say(h, "sam", "no")
    assert "I've asked alex" in await say(h, "sam", "agreement start @alex")
    assert len(invitations(h)) == 1
    await say(h, "alex", "no")
    h.sink.take()

    # After the wait (14 days by default) alex may ask once more.
    await h.advance(timedelta(days=13, hours=23))
    assert await say(h, "alex", "agreement start @sam") == NOT_NOW
    await h.advance(timedelta(hours=2))
    assert "I've asked sam" in await say(h, "alex", "agreement start @sam")
    assert len(invitations(h)) == 1


async def test_declining_one_of_two_in_a_group_invitation_holds_off_its_starter(harness):
    h = harness
    await meet(h, "alex", "sam", "rin")
    await say(h, "alex", "agreement start @sam @rin")
    await say(h, "rin", "yes")
    await say(h, "sam", "no")
    h.sink.take()
    assert await say(h, "alex", "agreement start @sam") == NOT_NOW
    assert h.sink.take() == []


async def test_the_wait_is_a_setting_and_zero_means_none(tmp_path, store):
    settings = load_settings(None, agreements={"reinvite_after_days": 0})
    h = await make_harness(tmp_path, settings=settings)
    try:
        await meet(h, "alex", "sam")
        await say(h, "alex", "agreement start @sam")
        await say(h, "sam", "no")
        h.sink.take()
        assert "I've asked sam" in await say(h, "alex", "agreement start @sam")
    finally:
        await h.close()


async def test_anyone_can_turn_invitations_off_and_on(harness):
    h = harness
    await meet(h, "alex", "sam", "jo")
    assert "Invitations are on" in await say(h, "sam", "agreement invitations")
    assert "nobody can invite you" in await say(h, "sam", "agreement invitations off")
    assert "already off" in await say(h, "sam", "agreement invitations off")
    assert "Invitations are off" in await say(h, "sam", "agreement invitations")
    h.sink.take()
    before = await dump(h)
    for inviter in ("alex", "jo"):  # a facilitator too: the same neutral answer, nothing sent
        assert await say(h, inviter, "agreement start @sam") == NOT_NOW
        assert await say(h, inviter, "agreement start @jo @sam" if inviter == "alex" else "agreement start @sam @alex") == NOT_NOW
    assert await dump(h) == before
    assert h.sink.take() == []
    # sam can still start one.
    assert "I've asked alex" in await say(h, "sam", "agreement start @alex")
    h.sink.take()
    assert "can invite you" in await say(h, "sam", "agreement invitations on")
    assert "I've asked sam" in await say(h, "jo", "agreement start @sam")
    assert "already on" in await say(h, "sam", "agreement invitations on")


async def test_a_lapsed_invitation_is_not_asked_again_once_invitations_are_off(harness):
    h = harness
    await meet(h, "alex", "sam")
    await say(h, "alex", "agreement start @sam")
    h.sink.take()
    await h.advance(timedelta(days=8))  # the invitation lapsed unanswered
    await say(h, "sam", "agreement invitations off")
    h.sink.take()
    assert await say(h, "alex", "agreement start @sam") == NOT_NOW
    assert h.sink.take() == []


async def test_bad_input_to_invitations_changes_nothing(harness):
    h = harness
    await meet(h, "sam")
    before = await dump(h)
    out = await say(h, "sam", "agreement invitations maybe")
    assert "maybe" in out and "on, off" in out
    assert await dump(h) == before
    assert tuple(await h.db.fetchone("SELECT COUNT(*) FROM agreement_invitation_settings")) == (0,)


async def test_the_setting_and_declines_are_exported_and_forgotten(harness):
    h = harness
    await meet(h, "alex", "sam", "jo")
    await say(h, "alex", "agreement start @sam")
    await say(h, "sam", "no")
    await say(h, "sam", "agreement invitations off")
    h.sink.take()

    async def export(user: str) -> dict:
        [file] = [i for i in await h.run(user, "mydata export", None) if isinstance(i, PrivateFile)]
        return json.loads(file.content)

    def find(data, key):
        if isinstance(data, dict):
            if key in data:
                return data[key]
            for value in data.values():
                found = find(value, key)
                if found is not None:
                    return found
        return None

    mine = await export("sam")
    assert find(mine, "agreement_invitations")["off_since"]
    [declined] = find(mine, "agreement_invitations")["invitations_you_declined"]
    assert declined["from"] == "alex" and "declined_at" in declined
    theirs = await export("alex")
    [held] = find(theirs, "agreement_invitations")["declined_your_invitation"]
    assert held["member"] == "sam" and held["can_invite_again_from"]
    assert find(await export("jo"), "agreement_invitations") == {
        "off_since": None,
        "invitations_you_declined": [],
        "declined_your_invitation": [],
    }

    await say(h, "sam", "mydata forget")
    await say(h, "sam", "yes")
    for table in ("agreement_invitation_settings", "agreement_invitation_declines"):
        assert tuple(await h.db.fetchone(f"SELECT COUNT(*) FROM {table}")) == (0,), table


async def test_old_declines_are_purged_after_the_wait(harness):
    h = harness
    await meet(h, "alex", "sam")
    await say(h, "alex", "agreement start @sam")
    await say(h, "sam", "no")
    assert tuple(await h.db.fetchone("SELECT COUNT(*) FROM agreement_invitation_declines")) == (1,)
    await h.advance(timedelta(days=16))
    assert tuple(await h.db.fetchone("SELECT COUNT(*) FROM agreement_invitation_declines")) == (0,)


def test_the_neutral_answer_says_nothing_about_why():
    catalog_text = NOT_NOW.lower()
    for word in ("declin", "off", "block", "days", "until", "said no"):
        assert word not in catalog_text
    assert re.search(r"they can start one with you", catalog_text)
    assert ID.search(NOT_NOW) is None


async def test_an_invitation_already_waiting_stays_answerable_after_turning_them_off(harness):
    h = harness
    await meet(h, "alex", "sam")
    out = await say(h, "alex", "agreement start @sam")
    short_id = ID.search(out).group(1)
    h.sink.take()
    await say(h, "sam", "agreement invitations off")
    assert "You've joined agreement" in await say(h, "sam", "yes")
    row = await h.db.fetchone("SELECT status FROM agreements WHERE short_id = ?", (short_id,))
    assert row[0] == "draft"
