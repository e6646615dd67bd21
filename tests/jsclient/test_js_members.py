"""Alongside's Matrix bot with members on matrix-js-sdk and its Rust crypto, the client code
Element Web and Element X run (issue 16): a client no one here wrote reads the bot's encrypted
answers and the bot reads its encrypted commands."""

from __future__ import annotations

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
        # The member's client holds its own identity, as Element does, and knows the bot's device.
        own = await sam.device_status(sam.user_id, sam.device_id)
        assert own is not None and own["signedByOwner"] and own["crossSigningVerified"], own
        bots = await sam.device_status(bot.user_id, bot.user.device_id)
        assert bots is not None, "the member's client does not know the bot's device"

        # The command is encrypted by matrix-js-sdk; the bot reads it and answers in the
        # private room it opens (encrypted too), which the member joins; there a command without
        # prefix is answered, and the round trip is what a member waits for an answer.
        talk = await js.help_and_private_command(bot.user_id, sam, room)
        assert talk.private != room
        for message in (talk.answer, talk.reply):
            assert message["decryption_failure"] is None and message["encrypted"]
            assert message["msgtype"] == "m.notice" and message["sender_device"] == bot.user.device_id
        assert "!pair join" in talk.answer["body"]
        assert talk.reply["body"].startswith("!pair join")
        # A post in the encrypted community room itself (sam created it: a facilitator).
        after = await sam.mark()
        await sam.send(room, "!questions now")
        post = await sam.wait_message(bot.user_id, "A question for the space", room_id=room, after=after)
        assert post["decryption_failure"] is None and post["encrypted"]
        await sam.wait_message(bot.user_id, "I've posted a question", room_id=talk.private, after=after)
        with capsys.disabled():
            print(
                f"\njs member (all devices): private answer round trip {talk.round_trip * 1000:.0f} ms; "
                f"shield on the bot's answer: {talk.reply['shield_colour']}/{talk.reply['shield_reason']}; "
                f"bot's device signed by its owner: {bots['signedByOwner']}"
            )
    finally:
        await sam.close()
        await bot.stop()
