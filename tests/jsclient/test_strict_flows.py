"""A strict member can use every flow (issue 16): members on matrix-js-sdk's Rust crypto who
exclude insecure devices (Element's setting, ``OnlySignedDevicesIsolationMode``) walk what a
member does with the bot, each answer read decrypted, with no shield, from the bot's one device,
and each of their encrypted commands read by the bot.

alex (a js member too) creates the encrypted community room, so holds power 100, and invites the
bot, sam and jo. The flows: ``pair join`` and its consent answered ``yes`` in the private room;
alex's ``pair now`` and the welcome in the encrypted pair room both are invited to; the halfway
check-in (the bot's FakeClock moved a week on) answered plainly in private; an agreement
started, joined, edited, proposed and accepted by version; ``questions now`` read by both in the
community room; ``mydata export`` (an encrypted file, downloaded and decrypted as Element does);
``mydata forget`` and its yes.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.jsclient import js_kit as js
from tests.matrix import bot_kit as bk

pytestmark = pytest.mark.timeout(240)


class Walk:
    """Sends a strict member's lines and reads the bot's answers, timing each round trip."""

    def __init__(self, bot: bk.Bot) -> None:
        self.bot = bot
        self.round_trips: list[float] = []

    def check(self, message: dict[str, Any]) -> dict[str, Any]:
        """Decrypted, from the bot's own device, and no shield (not "not verified by its owner")."""
        assert message["encrypted"] and message["decryption_failure"] is None, message
        assert message["sender_device"] == self.bot.user.device_id, message
        assert (message["shield_colour"], message["shield_reason"]) == ("NONE", None), message
        return message

    async def ask(
        self, member: js.JsMember, room_id: str, line: str, answer: str, *, answer_room: str | None = None
    ) -> dict[str, Any]:
        after = await member.mark()
        sent = time.monotonic()
        await member.send(room_id, line)
        message = await member.wait_message(self.bot.user_id, answer, room_id=answer_room, after=after, timeout=30)
        self.round_trips.append(time.monotonic() - sent)
        return self.check(message)

    async def read(self, member: js.JsMember, text: str, *, room_id: str | None = None, after: int = 0) -> dict[str, Any]:
        return self.check(await member.wait_message(self.bot.user_id, text, room_id=room_id, after=after, timeout=30))


async def test_strict_members_use_every_flow(synapse, matrix_localpart, tmp_path, jsclient, capsys):
    started = time.monotonic()
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    members: list[js.JsMember] = []
    try:
        alex = await js.js_member(
            jsclient, synapse, matrix_localpart("alex"), tmp_path, isolation="signed", auto_join_from=(bot.user_id,)
        )
        members.append(alex)
        for name in ("sam", "jo"):
            members.append(
                await js.js_member(
                    jsclient,
                    synapse,
                    matrix_localpart(name),
                    tmp_path,
                    isolation="signed",
                    auto_join_from=(bot.user_id, alex.user_id),
                )
            )
        sam, jo = members[1], members[2]
        room = await alex.create_room(name="circle", encrypted=True, invite=[bot.user_id, sam.user_id, jo.user_id])
        for member in members:
            for other in (bot.user_id, *(m.user_id for m in members)):
                await member.wait_member(room, other)
        walk = Walk(bot)

        # pair join: the consent comes privately, and a plain yes there answers it.
        private: dict[str, str] = {}
        for member in (sam, jo):
            consent = await walk.ask(member, room, "!pair join", "Would you like to join?")
            assert consent["room_id"] != room
            private[member.user_id] = consent["room_id"]
            await walk.ask(member, consent["room_id"], "yes", "You're in", answer_room=consent["room_id"])

        # The facilitator's pair now: both are invited to one encrypted pair room (auto-joined)
        # and read the welcome there.
        marks = {m.user_id: await m.mark() for m in (sam, jo)}
        await walk.ask(alex, room, "!pair now", "has begun")
        welcomes = [await walk.read(m, "This is your private space", after=marks[m.user_id]) for m in (sam, jo)]
        pair_room = welcomes[0]["room_id"]
        assert welcomes[1]["room_id"] == pair_room and pair_room not in (room, *private.values())

        # A week on (the bot's FakeClock): the halfway check-in, answered plainly in private.
        marks = {m.user_id: await m.mark() for m in (sam, jo)}
        await bot.advance(timedelta(days=7, hours=1))
        for member in (sam, jo):
            checkin = await walk.read(member, "Halfway through round 1", after=marks[member.user_id])
            assert checkin["room_id"] == private[member.user_id]
        sam_private, jo_private = private[sam.user_id], private[jo.user_id]
        await walk.ask(sam, sam_private, "4", "Noted, just for you.", answer_room=sam_private)
        await walk.ask(sam, sam_private, "done", "Stopped here.", answer_room=sam_private)
        await walk.ask(jo, jo_private, "done", "Stopped here.", answer_room=jo_private)

        # An agreement: started by sam, joined by jo's yes, a section, proposed, accepted by version.
        started_msg = await walk.ask(sam, sam_private, f"agreement start {jo.user_id}", "is started", answer_room=sam_private)
        agreement = re.search(r"#([0-9A-Z]{5})", started_msg["body"])
        assert agreement, started_msg["body"]
        await walk.read(jo, "would like to negotiate an agreement", room_id=jo_private)
        await walk.ask(jo, jo_private, "yes", "You've joined agreement", answer_room=jo_private)
        await walk.ask(
            sam, sam_private, "agreement edit safe being asked first", "Saved in agreement", answer_room=sam_private
        )
        jo_mark = await jo.mark()
        await walk.ask(sam, sam_private, "agreement propose", "Version 1 of agreement", answer_room=sam_private)
        proposal = await walk.read(jo, "has proposed version 1", room_id=jo_private, after=jo_mark)
        assert "being asked first" in proposal["body"]
        sam_mark = await sam.mark()
        await walk.ask(jo, jo_private, "agreement accept v1", "is agreed", answer_room=jo_private)
        await walk.read(sam, "it is agreed", room_id=sam_private, after=sam_mark)

        # questions now, by the facilitator, read by both in the community room.
        marks = {m.user_id: await m.mark() for m in (sam, jo)}
        await walk.ask(alex, room, "!questions now", "I've posted a question")
        for member in (sam, jo):
            post = await walk.read(member, "A question for the space", room_id=room, after=marks[member.user_id])
            assert post["msgtype"] == "m.text"

        # mydata export: a file in the private room, encrypted, which sam downloads and decrypts.
        after = await sam.mark()
        await walk.ask(sam, sam_private, "mydata export", "Here is everything Alongside keeps", answer_room=sam_private)
        deadline = time.monotonic() + 30
        while not (files := [m for m in await sam.messages(after) if m["sender"] == bot.user_id and m["msgtype"] == "m.file"]):
            assert time.monotonic() < deadline, await sam.messages(after)
            await asyncio.sleep(0.1)
        file_event = files[0]
        assert file_event["room_id"] == sam_private
        walk.check(file_event)
        assert file_event["file"] is not None and file_event["url"] is None  # never a plain upload here
        download = await sam.download(file_event["event_id"])
        assert download["encrypted"]
        exported = json.loads(download["text"])
        assert sam.user_id in json.dumps(exported) and jo.user_id not in json.dumps(exported)

        # mydata forget, and its yes.
        await walk.ask(sam, sam_private, "mydata forget", "can't be undone", answer_room=sam_private)
        await walk.ask(sam, sam_private, "yes", "has been erased", answer_room=sam_private)
        await bot.idle()
        assert await bot.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = ?", (sam.user_id,)) == 0

        # Nothing the bot sent was undecryptable for either strict member.
        for member in (sam, jo):
            from_bot = [m for m in await member.messages() if m["sender"] == bot.user_id]
            assert from_bot and all(m["decryption_failure"] is None for m in from_bot), [
                m for m in from_bot if m["decryption_failure"]
            ]
        median = statistics.median(walk.round_trips)
        with capsys.disabled():
            print(
                f"\nstrict js members, every flow: {len(walk.round_trips)} round trips, median {median * 1000:.0f} ms,"
                f" max {max(walk.round_trips) * 1000:.0f} ms; the test took {time.monotonic() - started:.1f} s"
            )
    finally:
        for member in members:
            await member.close()
        await bot.stop()
