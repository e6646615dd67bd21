"""Accepting by text is tied to the version the member was shown (issue 11, hole 12).

Discord's button carries the version's content hash; the text command names the version
(`agreement accept #K7M2Q v2`). A bare accept, or one naming a version that has since been
replaced, accepts nothing and shows the version out for acceptance with the command that accepts
it, so the member always accepts exactly what they read."""

from __future__ import annotations

import re

from tests.core.agreements.helpers import dump, meet, notices, say, start_pair, status

ACCEPT = re.compile(r"(/agreement accept #[0-9A-Z]{5} v\d+)")


def accept_command(text: str) -> str:
    """The accept command a text shows, exactly as it is shown."""
    found = ACCEPT.findall(text)
    assert found, f"no accept command shown in: {text!r}"
    assert len(set(found)) == 1, found
    return found[0]


async def test_an_amendment_after_viewing_is_not_accepted_unseen(harness):
    h = harness
    short_id = await start_pair(h)  # alex and sam
    await say(h, "alex", "agreement edit 1 Being able to say no without explaining.")
    await say(h, "alex", "agreement propose")
    proposal_notice = notices(h)["sam"][0]
    assert accept_command(proposal_notice) == f"/agreement accept #{short_id} v1"

    view = await say(h, "sam", "agreement view")
    shown = accept_command(view)
    assert shown == f"/agreement accept #{short_id} v1"

    # alex amends while sam is reading version 1.
    await say(h, "alex", "agreement amend 1 Being able to say no, and to call it off at any time.")
    h.sink.take()
    before = await dump(h)

    # sam types the command they were shown, and a bare accept: neither accepts version 2 unseen.
    for typed in (shown, "/agreement accept", f"/agreement accept #{short_id}"):
        out = await say(h, "sam", typed.removeprefix("/"))
        assert "call it off at any time" in out, out  # the new version is shown...
        assert accept_command(out) == f"/agreement accept #{short_id} v2"  # ...with its command
        assert "is agreed" not in out
        assert await status(h, short_id) == "proposed"
        assert await dump(h) == before, typed
        assert h.sink.take() == []
    stale = await say(h, "sam", shown.removeprefix("/"))
    assert "changed since version 1" in stale and "Nothing was accepted" in stale

    # The command shown, typed exactly, accepts the version sam has now read.
    out = await say(h, "sam", accept_command(stale).removeprefix("/"))
    assert f"agreement #{short_id} is agreed" in out
    assert await status(h, short_id) == "agreed"
    row = await h.db.fetchone("SELECT in_force_version FROM agreements WHERE short_id = ?", (short_id,))
    assert row[0] == 2


async def test_the_version_can_be_named_without_the_id_and_in_either_order(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "alex", "agreement propose")
    h.sink.take()
    assert "is agreed" in await say(h, "sam", f"agreement accept v1 #{short_id.lower()}")


async def test_a_version_word_that_is_not_a_version_is_answered_kindly(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "alex", "agreement propose")
    h.sink.take()
    before = await dump(h)
    out = await say(h, "sam", f"agreement accept #{short_id} version-one")
    assert "isn't a version" in out and f"/agreement accept #{short_id} v1" in out
    for typed in (f"agreement accept #{short_id} v0", f"agreement accept #{short_id} v99999999999999999999"):
        out = await say(h, "sam", typed)
        assert accept_command(out) == f"/agreement accept #{short_id} v1" and "is agreed" not in out
    assert await dump(h) == before


async def test_refusals_from_the_state_come_before_the_version(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    assert "nothing to accept" in await say(h, "sam", f"agreement accept #{short_id} v1")
    await say(h, "alex", "agreement propose")
    assert "so you've accepted it already" in await say(h, "alex", f"agreement accept #{short_id} v1")
    assert "so you've accepted it already" in await say(h, "alex", "agreement accept")


async def test_three_people_each_accept_the_version_they_were_shown(harness):
    h = harness
    await start_pair(h, "sam", "alex")
    await meet(h, "rin")
    out = await say(h, "sam", "agreement start @alex @rin")  # a second agreement, with three people
    await say(h, "alex", "yes")
    await say(h, "rin", "yes")
    short_id = re.search(r"#([0-9A-Z]{5})", out).group(1)
    await say(h, "sam", f"agreement edit #{short_id} 1 words")
    await say(h, "sam", f"agreement propose #{short_id}")
    sent = notices(h)
    for member in ("alex", "rin"):
        command = accept_command(sent[member][-1])
        out = await say(h, member, command.removeprefix("/"))
        assert "accepted version 1" in out
    assert await status(h, short_id) == "agreed"
