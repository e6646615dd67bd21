"""The Matrix adapter when things go wrong: the bot restarts, Synapse restarts, the homeserver
rate-limits the bot, a message cannot be decrypted."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from bot.storage.db import Database
from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit

pytestmark = pytest.mark.timeout(150)


def details(member: kit.Member, bot_id: str, room_id: str, command: str) -> list[str]:
    """The bot's `help <command>` answers in a room."""
    return [
        e.body
        for e in bk.bot_messages(member, bot_id, room_id=room_id)
        if e.body.startswith(f"!{command}") and "Who can use it" in e.body
    ]


async def test_bot_restart_neither_replays_nor_loses_commands(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=True)
        await bot.idle()
        before_any = await bot.scalar("SELECT value FROM adapter_state WHERE key = 'sync_token'")
        assert before_any

        await bk.say(sam, room, "!help questions now")
        private, _ = await bk.wait_bot(sam, bot.user_id, bk.help_for("questions now"))
        await bot.stop()

        # Sent while the bot is away: handled once it is back (the crypto store kept its keys).
        await bk.say(sam, room, "!help pair join")
        await bot.start()
        await bk.wait_bot(sam, bot.user_id, bk.help_for("pair join"), room_id=private)
        await bot.idle()

        # Rewind the sync token to before both commands: the homeserver sends them again, and
        # the stored event ids keep them from being handled twice.
        await bot.stop()
        await bot.set_state("sync_token", before_any)
        await bot.start()
        await bk.say(sam, private, "help pair leave")
        await bk.wait_bot(sam, bot.user_id, bk.help_for("pair leave"), room_id=private)
        await bot.idle()
        await bk.quiet(1.0)
        assert len(details(sam, bot.user_id, private, "questions now")) == 1
        assert len(details(sam, bot.user_id, private, "pair join")) == 1
        assert len(details(sam, bot.user_id, private, "pair leave")) == 1
        assert await bot.scalar("SELECT COUNT(*) FROM seen_events") == 3
        assert bot.starts == 3
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_synapse_restart_while_the_bot_runs(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=False)
        await bk.say(sam, room, "!help")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Here is what you can use")

        await asyncio.to_thread(synapse.restart)

        await bk.say(sam, room, "!help resources")
        await bk.wait_bot(sam, bot.user_id, bk.help_for("resources"), room_id=private, timeout=60)
        await bk.say(sam, private, "help pair status")
        await bk.wait_bot(sam, bot.user_id, bk.help_for("pair status"), room_id=private, timeout=30)
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_rate_limited_bot_sends_everything_in_order(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    commands = ["questions now", "pair join", "pair leave", "pair status", "resources", "checkin", "help"]
    try:
        room = await bk.community_room(bot, [sam], encrypted=False)
        await bk.say(sam, room, "!help")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Here is what you can use")
        await bot.idle()
        seen_before = bk.mark(sam)

        await asyncio.to_thread(synapse.override_ratelimit, bot.user_id, 1, 1)
        try:
            for command in commands:
                await bk.say(sam, private, f"help {command}")
            await kit.wait_until(
                sam.client,
                lambda: len(bk.bot_messages(sam, bot.user_id, room_id=private, after=seen_before))
                >= len(commands),
                60,
                "every answer",
            )
            await bot.idle()
            await bk.quiet(0.5)
        finally:
            await asyncio.to_thread(synapse.clear_ratelimit_override, bot.user_id)
        answers = [e.body for e in bk.bot_messages(sam, bot.user_id, room_id=private, after=seen_before)]
        assert len(answers) == len(commands)  # nothing dropped, nothing doubled
        for command, answer in zip(commands, answers, strict=True):
            assert answer.startswith(f"!{command}"), (command, answer[:40])
        assert bot.adapter.transport.rate_limited > 0  # the limit was hit and waited out
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_undecryptable_command_gets_a_private_note(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=True)
        await bk.say(sam, room, "!help")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Here is what you can use")
        await bot.idle()

        def garbled(room_id: str) -> None:
            """An encrypted event with a session the bot never received."""
            content = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEpAB" + secrets.token_urlsafe(48),
                "sender_key": sam.client.olm.account.identity_keys["curve25519"],
                "session_id": secrets.token_urlsafe(32),
                "device_id": sam.client.device_id,
            }
            synapse.request(
                "PUT",
                f"/_matrix/client/v3/rooms/{room_id}/send/m.room.encrypted/{secrets.token_hex(8)}",
                content,
                access_token=sam.user.access_token,
            )

        # In the community room nothing says it was meant for the bot: logged, not answered.
        seen_before = bk.mark(sam)
        await asyncio.to_thread(garbled, room)
        # In the private room everything is for the bot: a short note on re-sharing keys.
        await asyncio.to_thread(garbled, private)
        _, note = await bk.wait_bot(sam, bot.user_id, "couldn't read your last message", room_id=private)
        assert "verified sessions" in note.body
        await bot.idle()
        await bk.quiet(0.5)
        notes = bk.bot_messages(sam, bot.user_id, after=seen_before)
        assert len(notes) == 1
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_a_long_gap_is_filled_in_from_history(synapse, matrix_localpart, tmp_path):
    """More messages arrived while the bot was away than one sync carries: the command among
    them is still found (from the room's history) and handled once."""
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=False)
        await bk.say(sam, room, "!help")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Here is what you can use")
        await bot.stop()
        await bk.say(sam, room, "!help pair not-with")
        for n in range(70):  # more than the sync filter's timeline limit (50)
            await bk.say(sam, room, f"chatter {n}")
        await bot.start()
        await bk.wait_bot(sam, bot.user_id, bk.help_for("pair not-with"), room_id=private, timeout=30)
        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM seen_events") == 2
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_a_revoked_token_stops_the_bot_with_one_clear_reason(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        await asyncio.to_thread(
            synapse.request, "POST", "/_matrix/client/v3/logout", {}, access_token=bot.user.access_token
        )
        await asyncio.wait_for(bot.adapter.stopped.wait(), 30)
        assert bot.adapter.fatal is not None and "M_UNKNOWN_TOKEN" in bot.adapter.fatal
        assert bot.user.access_token not in bot.adapter.fatal
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_what_was_said_before_the_bot_joined_is_not_for_it(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await kit.create_room(sam.client, name="circle")
        await bk.say(sam, room, "!help resources")  # the bot is not in the room yet
        await kit.invite(sam.client, room, bot.user_id)
        await kit.wait_for_member(sam.client, room, bot.user_id, timeout=30)
        await bk.say(sam, room, "!help pair status")
        private, _ = await bk.wait_bot(sam, bot.user_id, bk.help_for("pair status"))
        await bot.idle()
        await bk.quiet(0.5)
        assert details(sam, bot.user_id, private, "resources") == []
        assert await bot.scalar("SELECT COUNT(*) FROM seen_events") == 1
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_a_room_created_just_before_a_crash_is_found_not_made_twice(synapse, matrix_localpart, tmp_path):
    """Killed between creating a pair (or private) room and recording it, the bot finds the room
    again on the next start by the marker it put in the room's state."""
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    jo = await kit.connect_member(synapse, matrix_localpart("jo"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    members = (sam.user_id, jo.user_id)
    try:
        pair_room = await bot.adapter.rooms.open_pair_room("!community", "pair-1-1", members, "Round 1", "")
        private = await bot.adapter.rooms.private_room("!community", sam.user_id, "Alongside", "")
        await kit.wait_for_invite(sam.client, pair_room)
        await bot.stop()
        # What a crash right after the two `createRoom` calls leaves behind: nothing recorded.
        db = await Database.open(bot.db_path)
        await db.execute("DELETE FROM pair_space_channels")
        await db.execute("DELETE FROM private_channels")
        await db.execute(
            "DELETE FROM adapter_state WHERE key NOT IN ('sync_token', 'txn_salt', 'crypto_store_pickle_key')"
        )
        await db.close()
        await bot.start()
        again = await bot.adapter.rooms.open_pair_room("!community", "pair-1-1", members, "Round 1", "")
        assert again == pair_room
        assert await bot.adapter.rooms.private_room("!community", sam.user_id, "Alongside", "") == private
        other = await bot.adapter.rooms.open_pair_room("!community", "pair-1-2", members, "Round 1", "")
        assert other != pair_room  # a different pair gets its own room
        await kit.wait_until(
            sam.client,
            lambda: len([r for r, room in sam.client.invited_rooms.items() if room.inviter == bot.user_id]) == 3,
            20,
            "three invites",
        )
        await bk.quiet(0.5)
        bot_made = [r for r, room in sam.client.invited_rooms.items() if room.inviter == bot.user_id]
        assert sorted(bot_made) == sorted({pair_room, private, other})
    finally:
        await bot.stop()
        await kit.close_clients(sam, jo)
