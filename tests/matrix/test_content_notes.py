"""A question with a content note on Matrix: the `m.thread` root is the post itself and starts
with the note, and the thread's opening notice names the note rather than the question (issue
14). No homeserver needed: the adapter sends through a scripted client."""

from __future__ import annotations

import asyncio
from typing import Any

from nio import MatrixRoom, RoomSendResponse

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.settings import MatrixSettings
from bot.replies import ChannelPost, Delivery


class RecordingClient:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.user_id = "@bot:example.org"
        self.rooms: dict[str, MatrixRoom] = {}
        self.olm = None

    async def room_send(self, room_id, event_type, content, tx_id=None, ignore_unverified_devices=False):
        await asyncio.sleep(0)
        self.sent.append((room_id, content))
        return RoomSendResponse(f"$event{len(self.sent)}", room_id)


async def test_the_thread_root_starts_with_the_content_note(harness):
    await harness.say("alex", "/questions depth deep")
    posts: list[ChannelPost] = []
    for _ in range(12):
        await harness.say("alex", "/questions now")
        posts += [i for i in harness.sink.take() if isinstance(i, ChannelPost) and i.text.startswith("(Content")]
    assert posts
    post = posts[0]
    question = next(q for q in harness.app.catalog.questions("en") if q.text in post.text)
    room_id = "!circle:example.org"
    client = RecordingClient()
    client.rooms[room_id] = MatrixRoom(room_id, client.user_id)
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
    adapter.rooms.first_sync.set()
    await adapter.deliver(Delivery(1, "matrix", room_id, ChannelPost(room_id, post.text, post.thread_title, post.thread_key)))
    await adapter.queues.close()
    (_, root), (_, opener) = client.sent
    assert root["body"].startswith(f"(Content note: {question.content_note}.)\n")
    assert root["body"].index(question.content_note) < root["body"].index(question.text)
    assert opener["m.relates_to"]["rel_type"] == "m.thread" and opener["m.relates_to"]["event_id"] == "$event1"
    assert question.content_note in opener["body"] and question.text not in opener["body"]
