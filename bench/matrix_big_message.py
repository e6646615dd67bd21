"""Benchmark: how long one 64 KB Matrix message holds the bot's event loop.

Every message in every room the bot is in goes through the adapter's message handler, so a
crafted one must not stall it. This feeds 64 KB messages of several shapes (chatter, a command
prefix followed by 64 KB, adversarial HTML: `<a ` and `<mx-reply>` repeated, unclosed pills)
through `MatrixAdapter._on_message` with the real core (SQLite on disk), in a community room
(where they are ignored) and in a member's private room (where the core answers that the
message is too long), and prints the median and worst time per message. No homeserver: the
client is a stand-in that records what would be sent. Figures only: nothing asserts.

    .venv/bin/python -m bench.matrix_big_message [--count 50]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nio import Event, MatrixRoom, RoomSendResponse

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.settings import MatrixSettings
from tests.harness import make_harness

SIZE = 64 * 1024
HTML = "org.matrix.custom.html"
TARGET_MS = 5.0
COMMUNITY, PRIVATE, MEMBER = "!circle:bench.local", "!private:bench.local", "@sam:bench.local"


class RecordingClient:
    """Just enough of nio's AsyncClient for the adapter's message path: sends are recorded."""

    def __init__(self) -> None:
        self.user_id = "@bot:bench.local"
        self.rooms: dict[str, MatrixRoom] = {}
        self.olm = None
        self.sent = 0

    async def room_send(self, room_id: str, event_type: str, content: dict[str, Any], tx_id: Any = None,
                        ignore_unverified_devices: bool = False) -> RoomSendResponse:
        self.sent += 1
        return RoomSendResponse(f"$sent{self.sent}", room_id)


def shapes() -> dict[str, dict[str, Any]]:
    def html(formatted: str) -> dict[str, Any]:
        return {"body": formatted[:SIZE], "format": HTML, "formatted_body": ("matrix.to/#/" + formatted)[:SIZE]}

    return {
        "chatter": {"body": ("just talking " * SIZE)[:SIZE]},
        "prefix + 64 KB": {"body": ("!help " + "x" * SIZE)[:SIZE]},
        "<a  repeated": html("<a " * (SIZE // 3)),
        "<mx-reply> repeated": html("<mx-reply>" * (SIZE // 10)),
        "unclosed pills": html('<a href="https://matrix.to/#/@x' * (SIZE // 31)),
    }


async def run(count: int) -> list[tuple[str, str, float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        harness = await make_harness(Path(folder))
        client = RecordingClient()
        for room_id in (COMMUNITY, PRIVATE):
            room = MatrixRoom(room_id, client.user_id)
            room.add_member(MEMBER, "sam", None)
            client.rooms[room_id] = room
        adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
        # Answers go through the outbox (exactly once), delivered to the adapter as the sink.
        harness.app.attach_sink(adapter)
        adapter.rooms.first_sync.set()
        await adapter.rooms.remember_private(PRIVATE, COMMUNITY, MEMBER)
        serial = iter(range(10**9))

        def message(content: dict[str, Any]) -> Event:
            return Event.parse_event({
                "type": "m.room.message", "event_id": f"$m{next(serial)}", "sender": MEMBER,
                "origin_server_ts": 1, "content": {"msgtype": "m.text", **content},
            })

        await adapter._on_message(COMMUNITY, message({"body": "!help"}))  # the member is known
        await adapter.idle()
        rows = []
        for where, room_id in (("community room", COMMUNITY), ("private room", PRIVATE)):
            for name, content in shapes().items():
                times = []
                for _ in range(count):
                    event = message(content)
                    start = time.perf_counter()
                    await adapter._on_message(room_id, event)
                    times.append((time.perf_counter() - start) * 1000)
                    await adapter.idle()
                rows.append((where, name, statistics.median(times), max(times)))
        answered = adapter.handled - 1
        await adapter.queues.close()
        await harness.close()
        return rows, answered, client.sent - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="messages of each shape and room")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows, answered, sent = asyncio.run(run(args.count))
    print(f"time to handle one {SIZE // 1024} KB message (target < {TARGET_MS:g} ms)")
    for where, name, median, worst in rows:
        print(f"  {where:15} {name:22} median {median:7.3f} ms   worst {worst:7.3f} ms")
    worst_ignored = max(w for where, _, _, w in rows if where == "community room")
    print(f"worst in a community room (ignored): {worst_ignored:.3f} ms")
    print(f"private-room messages answered (too long): {answered}, answers sent: {sent}")


if __name__ == "__main__":
    main()
