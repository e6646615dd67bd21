"""One unreachable destination holds up only itself: the outbox delivers per destination (a
room or channel, a pair's space, a member's private space), in order within each."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.outbox import TransientDeliveryError
from bot.replies import ChannelPost, Delivery, PairSpacePost, PrivateMessage, Reply


def where(delivery: Delivery) -> str:
    """The test's own name for where a delivery goes (the outbox's is `Delivery.destination`)."""
    intent = delivery.intent
    for attribute in ("channel", "space_key", "user_id"):
        value = getattr(intent, attribute, "")
        if value:
            return f"{attribute}:{value}"
    return "?"


@dataclass
class FlakySink:
    """Fails transiently for every destination in `down`; records what it delivered."""

    down: set[str] = field(default_factory=set)
    delivered: list[Delivery] = field(default_factory=list)
    attempts: int = 0

    async def deliver(self, delivery: Delivery) -> None:
        self.attempts += 1
        if where(delivery) in self.down:
            raise TransientDeliveryError("unreachable")
        self.delivered.append(delivery)

    def texts(self, destination: str) -> list[str]:
        return [d.intent.text for d in self.delivered if where(d) == destination]  # type: ignore[union-attr]


class ParallelFlakySink(FlakySink):
    parallel_destinations = True

    async def deliver(self, delivery: Delivery) -> None:
        await asyncio.sleep(0)  # let the lanes interleave
        await super().deliver(delivery)


async def queue(h, intents) -> None:
    community = await h.app.community_for(h.inv("alex"))
    async with h.db.transaction() as tx:
        for intent in intents:
            await h.app.outbox.add(tx, community.id, intent)


def mixed(round_: int) -> list:
    return [
        ChannelPost("circle", f"circle {round_}.1"),
        PrivateMessage("sam", f"sam {round_}.1"),
        ChannelPost("quiet", f"quiet {round_}.1"),
        PairSpacePost("pair-1-1", f"pair {round_}.1"),
        ChannelPost("circle", f"circle {round_}.2"),
        PrivateMessage("sam", f"sam {round_}.2"),
        Reply("jo", f"jo {round_}.1"),
        ChannelPost("quiet", f"quiet {round_}.2"),
    ]


@pytest.mark.parametrize("sink_type", [FlakySink, ParallelFlakySink])
@pytest.mark.parametrize("from_table", [False, True], ids=["queued", "after-restart"])
async def test_one_unreachable_room_delays_only_itself(harness, sink_type, from_table):
    h = harness
    await h.app.deliver_pending()
    sink = sink_type(down={"channel:circle"})
    h.app.attach_sink(sink)
    await queue(h, mixed(1))
    if from_table:
        h.app.outbox._scan_needed = True  # as after a restart: read from the table
        h.app.outbox._queue.clear()
    await h.app.deliver_pending()
    # Everyone else got their messages, in order; the unreachable room got nothing yet.
    assert sink.texts("user_id:sam") == ["sam 1.1", "sam 1.2"]
    assert sink.texts("channel:quiet") == ["quiet 1.1", "quiet 1.2"]
    assert sink.texts("space_key:pair-1-1") == ["pair 1.1"]
    assert sink.texts("user_id:jo") == ["jo 1.1"]
    assert sink.texts("channel:circle") == []
    # Its second message was not tried ahead of the first (order holds while it is down).
    assert sink.attempts == 7

    # While it is still down, new messages for the others go out at once.
    await queue(h, mixed(2))
    await h.app.deliver_pending()
    assert sink.texts("user_id:sam") == ["sam 1.1", "sam 1.2", "sam 2.1", "sam 2.2"]
    assert sink.texts("channel:circle") == []

    # Once it is back, its messages arrive in order, and nothing is delivered twice.
    sink.down.clear()
    await h.app.deliver_pending()
    assert sink.texts("channel:circle") == ["circle 1.1", "circle 1.2", "circle 2.1", "circle 2.2"]
    ids = [d.outbox_id for d in sink.delivered]
    assert len(ids) == len(set(ids)) == 16
    assert await h.app.outbox.pending() == []
    await h.app.deliver_pending()
    assert len(sink.delivered) == 16


async def test_a_failure_part_way_through_a_destination_keeps_its_order(harness):
    h = harness
    await h.app.deliver_pending()

    @dataclass
    class FailSecond(FlakySink):
        failed: bool = False

        async def deliver(self, delivery: Delivery) -> None:
            if delivery.intent.text == "sam 1.2" and not self.failed:  # type: ignore[union-attr]
                self.failed = True
                raise TransientDeliveryError("once")
            await super().deliver(delivery)

    sink = FailSecond()
    h.app.attach_sink(sink)
    await queue(h, mixed(1))
    await h.app.deliver_pending()
    assert sink.texts("user_id:sam") == ["sam 1.1"]
    await queue(h, [PrivateMessage("sam", "sam 1.3")])
    await h.app.deliver_pending()
    assert sink.texts("user_id:sam") == ["sam 1.1", "sam 1.2", "sam 1.3"]
    assert len(sink.delivered) == 9


def test_destination_keys():
    def key(intent) -> str:
        return Delivery(1, "matrix", "!c", intent).destination

    assert key(ChannelPost("circle", "a")) == key(ChannelPost("circle", "b")) != key(ChannelPost("quiet", "a"))
    assert key(PrivateMessage("sam", "a")) == key(Reply("sam", "b")) != key(PrivateMessage("jo", "a"))
    assert key(Reply("sam", "a", private=False, channel="!room")) != key(Reply("sam", "a"))
    assert key(PairSpacePost("pair-1-1", "a")) != key(PairSpacePost("pair-1-2", "a"))
    assert Delivery(1, "matrix", "!other", PrivateMessage("sam", "a")).destination != key(PrivateMessage("sam", "a"))
