"""The Matrix adapter against a real Synapse: invites, commands, private rooms, threads,
pairing rounds, agreements and power levels — each in an unencrypted and an encrypted room."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit

pytestmark = pytest.mark.timeout(120)

ENCRYPTION = pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "e2e"])


@ENCRYPTION
async def test_invite_help_and_only_commands_are_read(synapse, matrix_localpart, tmp_path, encrypted):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    stranger = await kit.connect_member(synapse, matrix_localpart("stranger"), tmp_path)
    bot = await bk.start_bot(
        synapse, tmp_path, matrix_localpart("bot"), allowed_inviters=(alex.user_id, sam.user_id)
    )
    try:
        room = await bk.community_room(bot, [alex, sam], encrypted=encrypted)

        # Someone who is not an allowed inviter: the invite is declined.
        other_room = await kit.create_room(stranger.client, invite=[bot.user_id])
        await kit.wait_until(
            stranger.client,
            lambda: bot.user_id not in stranger.client.rooms[other_room].users,
            20,
            "the bot to decline",
        )

        await bk.say(sam, room, "just chatting, nothing for the bot here")
        await bk.say(sam, room, "!notacommand for some other bot")
        await bk.say(sam, room, "!help")
        private, event = await bk.wait_bot(sam, bot.user_id, "Here is what you can use")
        assert private != room
        content = event.source["content"]
        assert content["msgtype"] == "m.notice"
        assert "<code>!pair join</code>" in content["formatted_body"]
        assert "!pair join" in event.body and "<code>" not in event.body  # the plain fallback
        assert "!questions now" not in event.body  # facilitators only: sam has power 0
        assert sam.client.rooms[private].encrypted == bot.matrix.encrypt_new_rooms
        if encrypted:
            assert event.decrypted

        # In the private room no prefix is needed.
        await bk.say(sam, private, "help pair join")
        await bk.wait_bot(sam, bot.user_id, "Who can use it", room_id=private)

        # Leaving the private room: the bot leaves too, and the next private answer opens a new one.
        await sam.client.room_leave(private)
        await kit.wait_until(
            sam.client, lambda: private not in bot.adapter.client.rooms, 20, "the bot to leave too"
        )
        await bk.say(sam, room, "!help resources")
        again, _ = await bk.wait_bot(sam, bot.user_id, bk.help_for("resources"))
        assert again != private

        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM seen_events") == 3
        assert await bot.scalar("SELECT COUNT(*) FROM adapter_state WHERE value LIKE ?", (f"%{private}%",)) == 0
        assert await bot.scalar("SELECT COUNT(*) FROM adapter_state WHERE key LIKE ?", (f"%{private}%",)) == 0
        members = await bot.scalar("SELECT GROUP_CONCAT(platform_user_id) FROM members")
        assert members == sam.user_id  # alex never used a command, so nothing about alex
        raw = bot.db_path.read_bytes() + bot.db_path.with_name(bot.db_path.name + "-wal").read_bytes()
        assert b"just chatting" not in raw and b"some other bot" not in raw
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam, stranger)


@ENCRYPTION
async def test_scheduled_question_opens_a_thread(synapse, matrix_localpart, tmp_path, encrypted):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex, sam], encrypted=encrypted)
        await bk.say(alex, room, "!questions schedule daily 18:00")
        _, answer = await bk.wait_bot(alex, bot.user_id, "Questions will be posted")
        assert "in #circle" in answer.body  # the room id is shown by the room's name

        await bot.advance(timedelta(hours=10))  # 09:00 -> 19:00: the 18:00 slot falls due
        _, post = await bk.wait_bot(sam, bot.user_id, "A question for the space", room_id=room)
        assert post.source["content"]["msgtype"] == "m.text"
        _, opener = await bk.wait_bot(sam, bot.user_id, "live in this thread", room_id=room)
        relation = opener.source["content"]["m.relates_to"]
        assert relation["rel_type"] == "m.thread" and relation["event_id"] == post.event_id
        if encrypted:
            assert post.decrypted and opener.decrypted

        # A member's reply lives in the thread; the bot neither answers nor keeps it.
        handled = await bot.scalar("SELECT COUNT(*) FROM seen_events")
        seen_by_alex = bk.mark(alex)
        await bk.say(sam, room, "what I noticed this week", **{"m.relates_to": {"rel_type": "m.thread", "event_id": post.event_id}})
        reply = await kit.wait_for_message(alex.client, room, "what I noticed this week")
        assert reply.source["content"]["m.relates_to"]["event_id"] == post.event_id
        await bot.idle()
        await bk.quiet(0.5)
        assert await bot.scalar("SELECT COUNT(*) FROM seen_events") == handled
        assert bk.bot_messages(alex, bot.user_id, after=seen_by_alex) == []
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam)


@ENCRYPTION
async def test_pair_join_with_consent_and_a_round(synapse, matrix_localpart, tmp_path, encrypted):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    jo = await kit.connect_member(synapse, matrix_localpart("jo"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex, sam, jo], encrypted=encrypted)
        for member in (sam, jo):
            await bk.say(member, room, "!pair join")
            private, prompt = await bk.wait_bot(member, bot.user_id, "Would you like to join?")
            assert "duty-of-care statement" in prompt.body
            assert "Answer yes or no here" in prompt.body
            await bk.say(member, private, "yes")  # no prefix needed in the private room
            await bk.wait_bot(member, bot.user_id, "You're in", room_id=private)

        await bk.say(alex, room, "!pair now")
        await bk.wait_bot(alex, bot.user_id, "has begun")
        pair_room, welcome = await bk.wait_bot(sam, bot.user_id, "This is your private space")
        jo_room, _ = await bk.wait_bot(jo, bot.user_id, "This is your private space")
        assert jo_room == pair_room and pair_room != room
        users = set(sam.client.rooms[pair_room].users)
        assert users == {bot.user_id, sam.user_id, jo.user_id}
        assert sam.client.rooms[pair_room].encrypted
        assert welcome.source["content"]["msgtype"] == "m.text"
        assert pair_room not in alex.client.rooms and pair_room not in alex.client.invited_rooms

        # The pair's conversation is theirs: the bot reads only prefixed commands there, and
        # answers them privately.
        handled = await bot.scalar("SELECT COUNT(*) FROM seen_events")
        await kit.wait_for_member(sam.client, pair_room, sam.user_id)
        await bk.say(sam, pair_room, "hello jo, help me think about this week")
        await bk.say(sam, pair_room, "!pair status")
        sam_private, status = await bk.wait_bot(sam, bot.user_id, "Your current pair")
        assert sam_private not in (pair_room, room)
        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM seen_events") == handled + 1
        assert [e.body for e in bk.bot_messages(sam, bot.user_id, room_id=pair_room)] == [welcome.body]

        await bot.advance(timedelta(days=15))  # past the round's end (14 days by default)
        await bk.wait_bot(sam, bot.user_id, "this space is closing", room_id=pair_room)
        await kit.wait_until(
            sam.client,
            lambda: bot.user_id not in sam.client.rooms[pair_room].users,
            20,
            "the bot to leave the pair room",
        )
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam, jo)


@ENCRYPTION
async def test_pair_agreement_negotiated_in_private_rooms(synapse, matrix_localpart, tmp_path, encrypted):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    jo = await kit.connect_member(synapse, matrix_localpart("jo"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam, jo], encrypted=encrypted)
        # Someone who is not in the community's room is no one to invite.
        stranger = await asyncio.to_thread(synapse.register, matrix_localpart("stranger"))
        await bk.say(sam, room, f"!agreement start {stranger.user_id}")
        await bk.wait_bot(sam, bot.user_id, "I couldn't tell who")
        # Jo has never used the bot, but is in the room: a mention of jo is enough.
        # Sam mentions jo with a pill, as Element does: the plain body holds only a name.
        await bk.say(
            sam,
            room,
            "!agreement start jo",
            format="org.matrix.custom.html",
            formatted_body=f'!agreement start <a href="https://matrix.to/#/{jo.user_id}">jo</a>',
        )
        sam_private, _ = await bk.wait_bot(sam, bot.user_id, "is started")
        jo_private, invite = await bk.wait_bot(jo, bot.user_id, "would like to negotiate an agreement")
        assert jo_private not in (room, sam_private)
        assert "Answer yes or no here" in invite.body
        await bk.say(jo, jo_private, "yes")
        await bk.wait_bot(jo, bot.user_id, "You've joined agreement", room_id=jo_private)

        # Step by step: plain lines in the private room are the answers.
        await bk.say(jo, jo_private, "agreement edit")
        await bk.wait_bot(jo, bot.user_id, "one section at a time", room_id=jo_private)
        await bk.say(jo, jo_private, "quiet time matters")
        await bk.wait_bot(jo, bot.user_id, "(2 of 15)", room_id=jo_private)
        await bk.say(jo, jo_private, "done")
        await bk.wait_bot(jo, bot.user_id, "That's all for now", room_id=jo_private)

        await bk.say(sam, sam_private, "agreement edit safe being asked first")
        await bk.wait_bot(sam, bot.user_id, "Saved in agreement", room_id=sam_private)
        await bk.say(sam, sam_private, "!agreement propose")
        _, proposal = await bk.wait_bot(jo, bot.user_id, "has proposed version 1", room_id=jo_private)
        assert "being asked first" in proposal.body and "quiet time matters" in proposal.body
        await bk.say(jo, jo_private, "agreement accept v1")
        await bk.wait_bot(jo, bot.user_id, "is agreed", room_id=jo_private)
        await bk.wait_bot(sam, bot.user_id, "it is agreed", room_id=sam_private)
        if encrypted:
            assert sam.client.rooms[sam_private].encrypted and jo.client.rooms[jo_private].encrypted
        # Nothing of it ever reached the community room.
        assert [e.body for e in bk.bot_messages(sam, bot.user_id, room_id=room)] == []
    finally:
        await bot.stop()
        await kit.close_clients(sam, jo)


@ENCRYPTION
async def test_facilitator_commands_follow_power_levels(synapse, matrix_localpart, tmp_path, encrypted):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex, sam], encrypted=encrypted)
        await bk.say(sam, room, "!questions now")
        await bk.wait_bot(sam, bot.user_id, "is for the space's facilitators")
        assert bk.bot_messages(sam, bot.user_id, room_id=room) == []

        levels = await alex.client.room_get_state_event(room, "m.room.power_levels")
        content = dict(levels.content)
        content["users"] = {**content.get("users", {}), sam.user_id: 50}
        await alex.client.room_put_state(room, "m.room.power_levels", content)
        await kit.wait_until(
            sam.client,
            lambda: bot.adapter.rooms.power(room, sam.user_id) == 50,
            20,
            "the bot to see the new power level",
        )
        await bk.say(sam, room, "!questions now")
        await bk.wait_bot(sam, bot.user_id, "A question for the space", room_id=room)
        sam_private, _ = await bk.wait_bot(sam, bot.user_id, "I've posted a question in #circle")

        # In a private room, the power level in the community's room still counts.
        seen = bk.mark(sam)
        await bk.say(alex, room, "!help")
        alex_private, listing = await bk.wait_bot(alex, bot.user_id, "Here is what you can use")
        assert "!questions now" in listing.body and "!setup" in listing.body
        await bk.say(alex, alex_private, "questions now")
        await bk.wait_bot(sam, bot.user_id, "A question for the space", room_id=room, after=seen)
        # Taken out of `users` altogether: back to the default level (0).
        content["users"] = {user: level for user, level in content["users"].items() if user != sam.user_id}
        await alex.client.room_put_state(room, "m.room.power_levels", content)
        await kit.wait_until(
            sam.client,
            lambda: bot.adapter.rooms.power(room, sam.user_id) == 0,
            20,
            "the bot to see the lowered power level",
        )
        seen = bk.mark(sam)
        await bk.say(sam, sam_private, "questions now")
        await bk.wait_bot(sam, bot.user_id, "is for the space's facilitators", after=seen)
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam)


async def test_rooms_of_a_space_share_one_community(synapse, matrix_localpart, tmp_path):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"), share_space_community=True)
    try:
        created = await alex.client.room_create(name="our space", space=True, invite=[bot.user_id])
        space = created.room_id
        parent = {"type": "m.space.parent", "state_key": space, "content": {"via": ["localhost"], "canonical": True}}
        rooms = []
        for name in ("lounge", "circle"):
            room_id = await kit.create_room(
                alex.client, name=name, invite=[bot.user_id, sam.user_id], initial_state=[parent]
            )
            # As Matrix clients do, the space lists the room too; the bot trusts only that pairing.
            await alex.client.room_put_state(space, "m.space.child", {"via": ["localhost"]}, state_key=room_id)
            await kit.accept_invite(sam.client, room_id)
            await kit.wait_for_member(alex.client, room_id, bot.user_id, timeout=30)
            rooms.append(room_id)
        await kit.wait_for_member(alex.client, space, bot.user_id, timeout=30)
        lounge, circle = rooms

        await bk.say(sam, lounge, "!pair join")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Would you like to join?")
        await bk.say(sam, private, "yes")
        await bk.wait_bot(sam, bot.user_id, "You're in", room_id=private)
        await bk.say(sam, circle, "!pair status")
        _, status = await bk.wait_bot(sam, bot.user_id, "You're in pairing", room_id=private)

        # The space's creator is a facilitator in every room of it.
        await bk.say(alex, circle, "!questions now")
        await bk.wait_bot(sam, bot.user_id, "A question for the space", room_id=circle)
        await bot.idle()
        assert await bot.scalar("SELECT GROUP_CONCAT(external_id) FROM communities") == space
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam)


async def test_a_private_file_arrives_encrypted(synapse, matrix_localpart, tmp_path):
    from nio.crypto.attachments import decrypt_attachment

    from bot.replies import Delivery, PrivateFile

    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=True)
        await bk.say(sam, room, "!help")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Here is what you can use")
        data = '{"what": "everything I keep about you"}'
        await bot.adapter.deliver(
            Delivery(9999, "matrix", room, PrivateFile(sam.user_id, "my-data.json", data, "Your data is attached."))
        )
        await bk.wait_bot(sam, bot.user_id, "Your data is attached.", room_id=private)
        file_event = await kit.wait_for_event(
            sam.client, private, lambda e: getattr(e, "body", "") == "my-data.json"
        )
        assert type(file_event).__name__ == "RoomEncryptedFile"
        download = await sam.client.download(mxc=file_event.url)
        plain = decrypt_attachment(download.body, file_event.key["k"], file_event.hashes["sha256"], file_event.iv)
        assert plain.decode() == data
    finally:
        await bot.stop()
        await kit.close_clients(sam)


async def test_a_dm_opened_by_a_member_becomes_their_private_room(synapse, matrix_localpart, tmp_path):
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    newcomer = await kit.connect_member(synapse, matrix_localpart("newcomer"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=False)
        await bk.say(sam, room, "!pair status")
        await bk.wait_bot(sam, bot.user_id, "pair")
        dm = await kit.create_room(sam.client, invite=[bot.user_id], direct=True, encrypted=True)
        await kit.wait_for_member(sam.client, dm, bot.user_id, timeout=30)
        await kit.trust_all_devices(sam.client, [bot.user_id])
        await bk.say(sam, dm, "help resources")
        await bk.wait_bot(sam, bot.user_id, bk.help_for("resources"), room_id=dm)

        # Someone the bot knows in no community gets a pointer, and nothing else happens.
        other = await kit.create_room(newcomer.client, invite=[bot.user_id], direct=True)
        await kit.wait_for_member(newcomer.client, other, bot.user_id, timeout=30)
        await bk.say(newcomer, other, "help")
        await bk.wait_bot(newcomer, bot.user_id, "I work in community rooms", room_id=other)
        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = ?", (newcomer.user_id,)) == 0

        # After `mydata forget` the link between sam and the room is gone; the room stays, and
        # the next line sam types there links it again (it does not become a community).
        from adapters.matrix.personal_data import MatrixData
        from bot.context import Actor, CommunityRef, Invocation

        ctx = await bot.app.context(
            Invocation(CommunityRef("matrix", room, "circle"), Actor(sam.user_id), None, private=True)
        )
        async with bot.db.transaction() as tx:
            await MatrixData(bot.adapter.state, bot.adapter.rooms).forget_member(tx, ctx)
        assert await bot.scalar("SELECT COUNT(*) FROM private_channels") == 0
        await bk.say(sam, dm, "help pair leave")
        await bk.wait_bot(sam, bot.user_id, bk.help_for("pair leave"), room_id=dm)
        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM communities") == 1
        assert await bot.scalar("SELECT channel_id FROM private_channels") == dm
    finally:
        await bot.stop()
        await kit.close_clients(sam, newcomer)


async def test_mydata_export_and_forget_through_matrix(synapse, matrix_localpart, tmp_path):
    import json

    from nio.crypto.attachments import decrypt_attachment

    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [sam], encrypted=False)
        await bk.say(sam, room, "!pair join")
        private, _ = await bk.wait_bot(sam, bot.user_id, "Would you like to join?")
        await bk.say(sam, private, "yes")
        await bk.wait_bot(sam, bot.user_id, "You're in", room_id=private)

        await bk.say(sam, private, "mydata export")
        file_event = await kit.wait_for_event(
            sam.client, private, lambda e: type(e).__name__ == "RoomEncryptedFile", timeout=20
        )
        download = await sam.client.download(mxc=file_event.url)
        exported = json.loads(
            decrypt_attachment(download.body, file_event.key["k"], file_event.hashes["sha256"], file_event.iv)
        )
        assert json.dumps(exported).count(private) == 1  # the matrix section names the room

        await bk.say(sam, private, "mydata forget")
        await bk.wait_bot(sam, bot.user_id, "can't be undone", room_id=private)
        await bk.say(sam, private, "yes")
        await bk.wait_bot(sam, bot.user_id, "has been erased", room_id=private)  # answered where asked
        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM private_channels") == 0
        assert await bot.scalar("SELECT COUNT(*) FROM members") == 0
        stored = await bot.scalar("SELECT GROUP_CONCAT(value, ' ') FROM adapter_state")
        assert sam.user_id not in stored
    finally:
        await bot.stop()
        await kit.close_clients(sam)
