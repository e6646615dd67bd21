"""A circle's room on Matrix (issue 17): a circle of four gets one private room, encrypted, with
all four members and the circle's welcome, on the session's test Synapse."""

from __future__ import annotations

import pytest

from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit

pytestmark = pytest.mark.timeout(120)


async def test_a_circle_of_four_opens_one_encrypted_private_room(synapse, matrix_localpart, tmp_path):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    members = [await kit.connect_member(synapse, matrix_localpart(n), tmp_path) for n in ("ana", "ben", "cai", "dee")]
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex, *members], encrypted=False)
        for member in members:
            await bk.say(member, room, "!pair join")
            private, _ = await bk.wait_bot(member, bot.user_id, "Would you like to join?")
            await bk.say(member, private, "yes")
            await bk.wait_bot(member, bot.user_id, "You're in", room_id=private)
        await bk.say(alex, room, "!pair schedule weekly mon 10:00 size 4")
        await bk.wait_bot(alex, bot.user_id, "circles of about 4")
        await bk.say(alex, room, "!pair now")
        await bk.wait_bot(alex, bot.user_id, "has begun")
        rooms = set()
        for member in members:
            circle_room, welcome = await bk.wait_bot(member, bot.user_id, "This is your circle's private space")
            rooms.add(circle_room)
            assert "Any of you can step out of this circle" in welcome.body
        [circle_room] = rooms
        assert circle_room != room
        first = members[0]
        await kit.wait_until(
            first.client,
            lambda: set(first.client.rooms[circle_room].users) == {bot.user_id, *(m.user_id for m in members)},
            20,
            "all four and the bot in the circle's room",
        )
        assert first.client.rooms[circle_room].encrypted
        assert circle_room not in alex.client.rooms and circle_room not in alex.client.invited_rooms
    finally:
        await bot.stop()
        await kit.close_clients(alex, *members)
