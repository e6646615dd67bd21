"""Private words typed in a shared Matrix room: the gentle note, and where the bot may redact
others' events there, an offer to remove the member's line, carried out only on that member's
own yes (issue 12, defect 8, the Matrix half).

On the real homeserver, in a plain room: without the power to redact the note makes no offer;
with it, the line stays until its author answers yes (another member's yes, bare or with the
question's number, removes nothing), and then it is redacted."""

from __future__ import annotations

import asyncio
import time

import pytest
from nio import RedactedEvent, RoomGetEventResponse

from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit

NOTE = "A gentle note: words typed in a channel can be read there"
OFFER = "I can remove the line you typed from the channel"


async def _redacted(member: kit.Member, room_id: str, event_id: str) -> bool:
    found = await member.client.room_get_event(room_id, event_id)
    assert isinstance(found, RoomGetEventResponse), found
    return isinstance(found.event, RedactedEvent)


@pytest.mark.timeout(150)
async def test_a_private_line_is_removed_from_the_room_only_on_its_authors_yes(synapse, matrix_localpart, tmp_path):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    jo = await kit.connect_member(synapse, matrix_localpart("jo"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex, sam, jo], encrypted=False)
        await bk.say(jo, room, "!pair status")
        jo_private, _ = await bk.wait_bot(jo, bot.user_id, "pair", timeout=30)
        await bk.say(sam, room, "!pair join")
        sam_private, _ = await bk.wait_bot(sam, bot.user_id, "Before you join pairing", timeout=30)
        await bk.say(sam, sam_private, "yes")
        await bk.wait_bot(sam, bot.user_id, "You're in", room_id=sam_private)

        # The bot has no power to redact yet: the note, and no offer.
        seen = bk.mark(sam)
        first = await bk.say(sam, room, f"!pair not-with {jo.user_id}")
        _, note = await bk.wait_bot(sam, bot.user_id, NOTE, room_id=sam_private, after=seen)
        assert OFFER not in note.body

        levels = await alex.client.room_get_state_event(room, "m.room.power_levels")
        content = dict(levels.content)
        content["users"] = {**content.get("users", {}), bot.user_id: 50}
        await alex.client.room_put_state(room, "m.room.power_levels", content)
        await kit.wait_until(
            sam.client,
            lambda: bot.adapter.rooms.may_redact(room, bot.user_id),
            20,
            "the bot to see its power to redact",
        )

        seen = bk.mark(sam)
        line = await bk.say(sam, room, f"!pair not-with {jo.user_id} remove")
        _, offer = await bk.wait_bot(sam, bot.user_id, OFFER, room_id=sam_private, after=seen)
        assert NOTE in offer.body and "answer yes" in offer.body.lower()
        await bot.idle()
        await bk.quiet(1.0)
        assert not await _redacted(alex, room, line), "removed without anyone's yes"

        # Another member's yes, bare or with the question's number, removes nothing.
        number = await bot.scalar("SELECT id FROM confirmations WHERE action = 'line.remove'")
        assert number is not None
        for answer in ("yes", f"yes {number}"):
            mark = bk.mark(jo)
            await bk.say(jo, jo_private, answer)
            await bk.wait_bot(jo, bot.user_id, "nothing waiting for your answer", room_id=jo_private, after=mark)
        await bot.idle()
        await bk.quiet(1.0)
        assert not await _redacted(alex, room, line), "another member's yes removed the line"

        # Its author's yes removes it.
        seen = bk.mark(sam)
        await bk.say(sam, sam_private, "yes")
        await bk.wait_bot(sam, bot.user_id, "Removing your line", room_id=sam_private, after=seen)
        deadline = time.monotonic() + 20
        while not await _redacted(alex, room, line):
            assert time.monotonic() < deadline, "the line was not removed after its author's yes"
            await asyncio.sleep(0.2)
        # Only that line: the earlier one (typed before the offer existed) stays.
        assert not await _redacted(alex, room, first)
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam, jo)
