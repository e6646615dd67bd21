"""Room state comes only from genuine state events (issue 11, hole 1), on the real Synapse.

A member who is no facilitator sends events whose *type* is a state type (`m.room.power_levels`
giving herself 100, `m.room.create` of a room version whose creators outrank everyone, a room
member event, the bot's own room marker) as ordinary timeline messages (Synapse itself refuses
some: it applies the auth rules of power levels, create and member events to message events of
those types) and as encrypted events, with and without a `state_key` inside the encrypted
payload, in an encrypted room and in a plain one. Then she tries
a facilitator command: it is refused and changes nothing, while the real facilitator's commands
still work. Neither the adapter's own tracking nor nio's room objects take the forged state.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from nio import Api, RoomSendResponse

from adapters.matrix.rooms import MARKER_TYPE
from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401

pytestmark = pytest.mark.timeout(240)

FORBIDDEN = "is for the space's facilitators"


async def send_raw(member: kit.Member, room_id: str, event_type: str, content: dict[str, Any]) -> str | None:
    """A timeline (message) event of any type, sent as is (never encrypted by nio); None when
    the homeserver refuses it (Synapse applies the auth rules of `m.room.power_levels`,
    `m.room.create` and `m.room.member` to message events of those types too)."""
    client = member.client
    method, path, data = Api.room_send(client.access_token, room_id, event_type, content, uuid.uuid4())
    response = await client._send(RoomSendResponse, method, path, data, (room_id,))
    if not isinstance(response, RoomSendResponse):
        assert event_type in ("m.room.power_levels", "m.room.create", "m.room.member"), response
        return None
    return response.event_id


async def send_encrypted(member: kit.Member, room_id: str, payload: dict[str, Any]) -> str:
    """An encrypted event whose decrypted payload is `payload` exactly (it may carry a
    `state_key`, which nio's own encryption never puts there). The group session must already
    be shared (send one ordinary encrypted message first)."""
    olm = member.client.olm
    assert olm is not None
    if olm.should_share_group_session(room_id):
        # (The member's own nio takes her forged member events as state and drops the session.)
        await member.client.share_group_session(room_id, ignore_unverified_devices=True)
    event_id = await send_raw(member, room_id, "m.room.encrypted", olm.group_encrypt(room_id, dict(payload)))
    assert event_id is not None
    return event_id


async def forge(member: kit.Member, room_id: str, event_type: str, content: dict[str, Any],
                state_key: str = "") -> None:
    """Every way a member can make a timeline event of `event_type` that is no state event: a
    message event (with a state_key in the content's place too), and encrypted events (in a
    plain room as well: nothing stops a member's client from encrypting there)."""
    await send_raw(member, room_id, event_type, content)
    await send_raw(member, room_id, event_type, {**content, "state_key": state_key})
    response = await member.client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
    assert isinstance(response, RoomSendResponse), response
    await send_encrypted(member, room_id, {"type": event_type, "state_key": state_key, "content": content})


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_forged_room_state_gives_no_power(synapse, matrix_localpart, tmp_path: Path, encrypted: bool):  # noqa: F811
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    mallory = await kit.connect_member(synapse, matrix_localpart("mallory"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        assert bot.adapter is not None
        room = await bk.community_room(bot, [alex, mallory], encrypted=encrypted)
        # Both meet the bot; mallory's first line also shares her room key with it.
        for member in (alex, mallory):
            seen = bk.mark(member)
            await bk.say(member, room, "!help resources")
            await bk.wait_bot(member, bot.user_id, bk.help_for("resources"), after=seen, timeout=30)
        if not encrypted:
            # mallory's client encrypts in the plain room too (and shares its room key with the bot).
            mallory.client.rooms[room].encrypted = True
            await kit.trust_all_devices(mallory.client, [bot.user_id, alex.user_id])
        community_rule = "SELECT facilitator_rule FROM communities WHERE external_id = ?"
        rule_before = await bot.scalar(community_rule, (room,))
        nio_room = bot.adapter.client.rooms[room]
        version_before = nio_room.room_version
        ghost = f"@ghost-{uuid.uuid4().hex[:6]}:localhost"
        levels = {
            "users": {mallory.user_id: 100, alex.user_id: 0, bot.user_id: 100},
            "users_default": 100,
            "state_default": 0,
            "events_default": 0,
        }

        await forge(mallory, room, "m.room.power_levels", levels)
        await forge(mallory, room, "m.room.create",
                    {"room_version": "12", "creator": mallory.user_id, "additional_creators": [mallory.user_id]})
        await forge(mallory, room, "m.room.member", {"membership": "join", "displayname": "ghost"},
                    state_key=ghost)
        await forge(mallory, room, "m.room.member", {"membership": "leave"}, state_key=alex.user_id)
        marker = bot.adapter.rooms.marker("private", room, alex.user_id)
        await forge(mallory, room, MARKER_TYPE, {"key": marker})

        # The facilitator command is refused, and nothing changes.
        seen = bk.mark(mallory)
        await bk.say(mallory, room, f"!setup facilitator-rule members:{mallory.user_id}")
        _, answer = await bk.wait_bot(mallory, bot.user_id, lambda body: True, after=seen, timeout=30)
        assert FORBIDDEN in answer.body, answer.body
        await bot.idle()
        assert await bot.scalar(community_rule, (room,)) == rule_before
        seen = bk.mark(mallory)
        await bk.say(mallory, room, "!questions review")
        _, answer = await bk.wait_bot(mallory, bot.user_id, lambda body: True, after=seen, timeout=30)
        assert FORBIDDEN in answer.body, answer.body

        # Neither the adapter nor nio took the forged state.
        assert bot.adapter.rooms.power(room, mallory.user_id) == 0
        assert bot.adapter.rooms.power(room, alex.user_id) >= 100
        assert nio_room.power_levels.get_user_level(mallory.user_id) == 0
        assert nio_room.power_levels.get_user_level(alex.user_id) >= 100 or nio_room.room_version == "12"
        assert nio_room.room_version == version_before
        assert ghost not in nio_room.users and alex.user_id in nio_room.users
        assert room not in bot.adapter.rooms._marked.values()

        # The real facilitator still is one.
        seen = bk.mark(alex)
        await bk.say(alex, room, "!questions review")
        _, answer = await bk.wait_bot(alex, bot.user_id, lambda body: True, after=seen, timeout=30)
        assert FORBIDDEN not in answer.body and "No suggested questions" in answer.body, answer.body
    finally:
        await bot.stop()
        await kit.close_clients(alex, mallory)
