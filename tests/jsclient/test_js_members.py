"""Alongside's Matrix bot with members on matrix-js-sdk and its Rust crypto, the client code
Element Web and Element X run (issue 16): a client no one here wrote reads the bot's encrypted
answers and the bot reads its encrypted commands."""

from __future__ import annotations

import time

import pytest

from tests.jsclient import js_kit as js
from tests.matrix import bot_kit as bk

pytestmark = pytest.mark.timeout(120)


async def test_a_js_member_is_answered_in_encrypted_rooms(synapse, matrix_localpart, tmp_path, jsclient, capsys):
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    sam = await js.js_member(jsclient, synapse, matrix_localpart("sam"), tmp_path, auto_join_from=(bot.user_id,))
    try:
        room = await sam.create_room(name="circle", encrypted=True, invite=[bot.user_id])
        await sam.wait_member(room, bot.user_id)

        # The command is encrypted by matrix-js-sdk; the bot reads it and answers in the
        # private room it opens (encrypted too), which the member joins.
        await sam.send(room, "!help")
        answer = await sam.wait_message(bot.user_id, "Here is what you can use")
        private = answer["room_id"]
        assert private != room
        assert answer["decryption_failure"] is None
        assert answer["encrypted"] and answer["msgtype"] == "m.notice"
        assert "!pair join" in answer["body"]
        assert answer["sender_device"] == bot.user.device_id

        # In the private room: a command without prefix, answered there; the round trip is
        # what a member waits between sending and reading.
        after = await sam.mark()
        sent = time.monotonic()
        await sam.send(private, "help pair join")
        reply = await sam.wait_message(bot.user_id, "Who can use it", room_id=private, after=after)
        round_trip = time.monotonic() - sent
        assert reply["decryption_failure"] is None and reply["encrypted"]
        assert reply["body"].startswith("!pair join")
        with capsys.disabled():
            print(
                f"\njs member (all devices): private answer round trip {round_trip * 1000:.0f} ms; "
                f"shield on the bot's answer: {reply['shield_colour']}/{reply['shield_reason']}"
            )
    finally:
        await sam.close()
        await bot.stop()
