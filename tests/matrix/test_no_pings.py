"""No bot message on Matrix pings anyone (issue 11, hole 7, the Matrix half).

Public posts carry member-written text (a `space-agreement propose` announcement, an approved
suggested question): every message the bot sends has an empty `m.mentions` (Matrix 1.7
intentional mentions: nobody is notified, whatever names or ids the text holds) and no working
`@room` (for clients and servers still applying the body-based rules)."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from nio import Event, MatrixRoom, RoomSendResponse

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.render import Renderer
from adapters.matrix.settings import MatrixSettings
from tests.matrix import bot_kit as bk
from tests.matrix.test_matrix_units import ScriptedClient
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401

ROOM = "!circle:example.org"
PING = re.compile(r"@room\b", re.IGNORECASE)


class ContentClient(ScriptedClient):
    """Records every content sent, whole."""

    def __init__(self) -> None:
        super().__init__()
        self.contents: list[tuple[str, dict[str, Any]]] = []

    async def room_send(self, room_id, event_type, content, tx_id=None, ignore_unverified_devices=False):
        self.contents.append((room_id, content))
        return RoomSendResponse(f"$sent{len(self.contents)}", room_id)

    async def room_get_state_event(self, room_id, event_type, state_key=""):
        return SimpleNamespace(content={})

    async def room_put_state(self, room_id, event_type, content, state_key=""):
        return SimpleNamespace(event_id="$pinned")


def test_every_rendered_message_mentions_nobody_and_room_pings_are_inert():
    renderer = Renderer("!", ["help"])
    content = renderer.content("Hello @room, @Room! and x @ROOM. @sam:example.org Sam @roommate !help")
    assert content["m.mentions"] == {}
    assert not PING.search(content["body"]) and not PING.search(content["formatted_body"])
    # Only the ping is changed: the rest of the text, and words that merely start so, stay.
    assert "@sam:example.org Sam @roommate" in content["body"]
    assert content["body"].startswith("Hello ") and "room, " in content["body"]


def _message(sender: str, body: str, n: int) -> Event:
    return Event.parse_event({
        "type": "m.room.message", "event_id": f"$p{n}", "sender": sender, "origin_server_ts": 1,
        "room_id": ROOM, "content": {"msgtype": "m.text", "body": body},
    })


async def test_member_text_posted_publicly_pings_nobody(harness):
    client = ContentClient()
    room = MatrixRoom(ROOM, client.user_id)
    for user in ("alex", "sam", "jo"):
        room.add_member(f"@{user}:example.org", user, None)
    room.power_levels.users["@alex:example.org"] = 100
    client.rooms[ROOM] = room
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
    adapter.rooms.first_sync.set()
    harness.app.attach_sink(adapter)
    for user in ("alex", "sam"):  # their private rooms exist already
        private = f"!{user}-private:example.org"
        client.rooms[private] = MatrixRoom(private, client.user_id)
        client.rooms[private].add_member(f"@{user}:example.org", user, None)
        await adapter.rooms.remember_private(private, ROOM, f"@{user}:example.org")
    words = "We listen first. @room please read, jo and @jo:example.org too."
    lines = [
        ("@alex:example.org", "!space-agreement draft"),
        ("@sam:example.org", f"!space-agreement propose purpose {words}"),
        ("@alex:example.org", "!questions now"),
    ]
    outcomes: list[tuple[str, str]] = []
    harness.app.observe(lambda outcome, name: outcomes.append((outcome, name)))
    for n, (sender, line) in enumerate(lines):
        await adapter._on_message(ROOM, _message(sender, line, n))
        await adapter.idle()
        await harness.app.deliver_pending()
        await adapter.idle()
    public = [content for room_id, content in client.contents if room_id == ROOM]
    texts = " ".join(content.get("body", "") for content in public)
    assert [outcome for outcome, _ in outcomes] == ["done"] * len(lines), outcomes
    # The member's text was posted (as were the draft, a question and its thread's first line).
    assert "listen first" in texts and "replies to this question live in this thread" in texts, texts
    assert client.contents and all(content.get("m.mentions") == {} for _, content in client.contents)
    for _, content in client.contents:
        assert not PING.search(content.get("body", "")) and not PING.search(content.get("formatted_body", ""))
    await adapter.queues.close()


@pytest.mark.timeout(120)
async def test_a_post_naming_someone_does_not_notify_them_on_synapse(synapse, matrix_localpart, tmp_path):  # noqa: F811
    """On the real homeserver, which evaluates the push rules of an unencrypted room: a member's
    proposal quoting another member's display name, user id and `@room` highlights nobody."""
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        await alex.client.set_displayname("Alexandra Quill")
        room = await bk.community_room(bot, [alex, sam], encrypted=False)
        seen = bk.mark(alex)
        await bk.say(alex, room, "!space-agreement draft")
        await bk.wait_bot(alex, bot.user_id, "agreement, version 1", room_id=room, after=seen, timeout=30)
        # sam proposes from her private room (her own line there notifies nobody in the room).
        mark = bk.mark(sam)
        await bk.say(sam, room, "!help resources")
        private, _ = await bk.wait_bot(sam, bot.user_id, bk.help_for("resources"), after=mark, timeout=30)
        await bot.idle()
        await bk.quiet(1.0)
        assert alex.client.rooms[room].unread_highlights == 0
        seen = bk.mark(alex)
        words = f"Alexandra Quill and {alex.user_id} and @room, we listen first."
        await bk.say(sam, private, f"space-agreement propose purpose {words}")
        _, post = await bk.wait_bot(alex, bot.user_id, "listen first", room_id=room, after=seen, timeout=30)
        assert post.source["content"].get("m.mentions") == {}
        await bot.idle()
        await bk.quiet(1.0)  # a later sync carries the room's counts
        assert alex.client.rooms[room].unread_highlights == 0
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam)
