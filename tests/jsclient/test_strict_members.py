"""A bot Element trusts (issue 16), seen from matrix-js-sdk with its Rust crypto (Element Web/Element X).

What it checks, with matrix-js-sdk's Rust crypto (Element Web/Element X):
* a member with "exclude insecure devices" (``OnlySignedDevicesIsolationMode``) reads the bot's
  private answer and the bot reads and answers the member's commands;
* ``getDeviceVerificationStatus`` for the bot's device says it is signed by its owner, and a
  member who excludes nothing sees no shield on the bot's messages;
* after the bot's store is lost and it starts on a new device, that device is signed again and a
  command encrypted before the loss is read (its room key restored from the server-side backup).

Assumes the in-process bot of ``tests/matrix/bot_kit.py`` cross-signs on start with its token
(Synapse accepts a first upload of cross-signing keys without user-interactive auth) and restores
room keys from backup on start (adapters/matrix/key_backup.py); if the bootstrap needs the password, ``bot.user.password`` has it.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from tests.jsclient import js_kit as js
from tests.matrix import bot_kit as bk

pytestmark = pytest.mark.timeout(180)


async def test_a_strict_member_reads_the_bot_and_is_answered(synapse, matrix_localpart, tmp_path, jsclient, capsys):
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    sam = await js.js_member(
        jsclient, synapse, matrix_localpart("sam"), tmp_path, isolation="signed", auto_join_from=(bot.user_id,)
    )
    try:
        room = await sam.create_room(name="circle", encrypted=True, invite=[bot.user_id])
        await sam.wait_member(room, bot.user_id)
        status = await sam.device_status(bot.user_id, bot.user.device_id)
        assert status is not None and status["signedByOwner"], status
        talk = await js.help_and_private_command(bot.user_id, sam, room)
        for message in (talk.answer, talk.reply):
            assert message["decryption_failure"] is None and message["encrypted"], message
            assert message["sender_device"] == bot.user.device_id
            assert message["shield_colour"] == "NONE", message  # no "not verified by its owner"
        assert talk.reply["body"].startswith("!pair join")
        with capsys.disabled():
            print(f"\njs member (only signed devices): private answer round trip {talk.round_trip * 1000:.0f} ms")
    finally:
        await sam.close()
        await bot.stop()


async def test_a_member_who_excludes_nothing_sees_no_shield(synapse, matrix_localpart, tmp_path, jsclient):
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    sam = await js.js_member(jsclient, synapse, matrix_localpart("sam"), tmp_path, auto_join_from=(bot.user_id,))
    try:
        room = await sam.create_room(name="circle", encrypted=True, invite=[bot.user_id])
        await sam.wait_member(room, bot.user_id)
        talk = await js.help_and_private_command(bot.user_id, sam, room)
        assert (talk.reply["shield_colour"], talk.reply["shield_reason"]) == ("NONE", None), talk.reply
        status = await sam.device_status(bot.user_id, bot.user.device_id)
        assert status is not None and status["signedByOwner"], status
        # Nobody has verified the bot's identity, so the device is signed but not verified.
        assert not status["crossSigningVerified"]
        # Turning "exclude insecure devices" on changes nothing for the bot.
        await sam.set_isolation("signed")
        after = await sam.mark()
        await sam.send(talk.private, "help resources")
        reply = await sam.wait_message(bot.user_id, "Who can use it", room_id=talk.private, after=after)
        assert reply["body"].startswith("!resources") and reply["shield_colour"] == "NONE", reply
    finally:
        await sam.close()
        await bot.stop()


async def test_after_a_lost_store_the_bot_is_still_trusted_and_reads_from_backup(
    synapse, matrix_localpart, tmp_path, jsclient
):
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    sam = await js.js_member(
        jsclient, synapse, matrix_localpart("sam"), tmp_path, isolation="signed", auto_join_from=(bot.user_id,)
    )
    try:
        room = await sam.create_room(name="circle", encrypted=True, invite=[bot.user_id])
        await sam.wait_member(room, bot.user_id)
        talk = await js.help_and_private_command(bot.user_id, sam, room)
        old_device = bot.user.device_id

        # The bot is down; sam's next command uses the room key the old device already had (and
        # backed up), so only the backup can give it to a new device.
        await bot.stop()
        after = await sam.mark()
        await sam.send(talk.private, "help resources")
        shutil.rmtree(bot.matrix.store_path)
        bot.user = await asyncio.to_thread(synapse.login, bot.user)  # a new device, as after a lost store
        assert bot.user.device_id != old_device
        await bot.start()

        status = await sam.device_status(bot.user_id, bot.user.device_id)
        assert status is not None and status["signedByOwner"], status
        reply = await sam.wait_message(bot.user_id, "Who can use it", room_id=talk.private, after=after, timeout=40)
        assert reply["decryption_failure"] is None and reply["shield_colour"] == "NONE", reply
        assert reply["sender_device"] == bot.user.device_id
        assert reply["body"].startswith("!resources")
    finally:
        await sam.close()
        await bot.stop()
