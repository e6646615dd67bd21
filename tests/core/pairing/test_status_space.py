"""`pair status` names the pair's space as people find it: by the title the space was opened
with (the room's name on Matrix, the thread's on Discord), never by the internal key, which no
room or thread shows (issue 12, found on the Matrix journeys)."""

from __future__ import annotations

from bot.replies import PairSpaceOpen
from tests.core.pairing.helpers import join


async def test_status_names_the_space_by_its_title(harness):
    h = harness
    await join(h, "sam", "jo")
    await h.say("alex", "pair now")
    (space,) = [i for i in h.sink.take() if isinstance(i, PairSpaceOpen)]
    status = await h.say("sam", "pair status", channel=None)
    assert f'Your space together is called "{space.title}".' in status, status
    assert space.space_key not in status
