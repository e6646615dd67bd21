"""Benchmark: `!help` round trips through Alongside on Matrix, against the floor of the stack.

Starts a local Synapse (the test harness's: its own virtualenv, SQLite, 127.0.0.1), and a member
with a matrix-nio client. For an unencrypted and then an end-to-end encrypted room, it measures
100 sequential round trips -- the member sends `!help` in the room, and the clock stops when the
member's sync delivers the bot's reply -- first through a minimal echo bot written here with
matrix-nio (it answers every `!help` at once in the same room: the floor this stack allows),
then through Alongside (the Matrix adapter and the real core on SQLite, which answers in the
member's private room). Each bot runs alone while it is measured. Figures only: nothing asserts.

    .venv/bin/python -m bench.matrix_latency [--count 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, RoomMessageNotice, RoomMessageText
from pydantic import SecretStr

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import connect
from alongside.runtime import build_core
from bot.clock import SystemClock
from bot.config import MatrixSettings, load_settings
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.synapse import SYNAPSE_VERSION, RegisteredUser, SynapseServer

WARMUP = 5
MESSAGES = (RoomMessageText, RoomMessageNotice)


class Member:
    """The member's client: sends `!help`, and notes when a reply from `bot_id` arrives."""

    def __init__(self, member: kit.Member) -> None:
        self.member = member
        self.client = member.client
        self.waiting: asyncio.Future[float] | None = None
        self.bot_id = ""
        self.client.add_event_callback(self._on_message, MESSAGES)  # type: ignore[arg-type]
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        if event.sender == self.bot_id and self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(time.perf_counter())

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.sender == self.bot_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def round_trip(self, room_id: str) -> float:
        self.waiting = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        await kit.send_text(self.client, room_id, "!help")
        arrived = await asyncio.wait_for(self.waiting, 30)
        return (arrived - started) * 1000


class EchoBot:
    """The minimal bot: one nio client syncing, answering `!help` in the same room."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        client.add_event_callback(self._on_message, RoomMessageText)  # type: ignore[arg-type]
        client.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != self.client.user_id and event.body.strip() == "!help":
            await self.client.room_send(
                room.room_id,
                "m.room.message",
                {"msgtype": "m.notice", "body": "help"},
                ignore_unverified_devices=True,
            )

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.client.user_id and event.membership == "invite":
            await self.client.join(room.room_id)


async def _room(member: Member, bot: RegisteredUser, encrypted: bool) -> str:
    room_id = await kit.create_room(member.client, encrypted=encrypted, invite=[bot.user_id])
    await kit.wait_for_member(member.client, room_id, bot.user_id, timeout=60)
    if encrypted:
        await kit.trust_all_devices(member.client, [bot.user_id])
    return room_id


async def _measure(member: Member, room_id: str, count: int) -> list[float]:
    for _ in range(WARMUP):
        await member.round_trip(room_id)
    return [await member.round_trip(room_id) for _ in range(count)]


async def _echo(server: SynapseServer, member: Member, encrypted: bool, count: int, tmp: Path) -> list[float]:
    bot = await asyncio.to_thread(server.register, f"echo-{'e2e' if encrypted else 'plain'}")
    client = await kit.make_client(server, bot, tmp / bot.localpart, encrypted=encrypted)
    EchoBot(client)
    sync = await kit.start_sync_loop(client, timeout_ms=30_000)
    member.bot_id = bot.user_id
    try:
        room_id = await _room(member, bot, encrypted)
        return await _measure(member, room_id, count)
    finally:
        await sync.stop()
        await client.close()


async def _alongside(
    server: SynapseServer, member: Member, encrypted: bool, count: int, tmp: Path
) -> list[float]:
    name = f"alongside-{'e2e' if encrypted else 'plain'}"
    bot = await asyncio.to_thread(server.register, name)
    settings = load_settings(None)
    matrix = MatrixSettings(homeserver=server.base_url, user_id=bot.user_id, store_path=tmp / name)
    clock = SystemClock()
    core = await build_core(settings, clock, db_path=tmp / f"{name}.db", seed=1)
    client = await connect(matrix, SecretStr(bot.access_token), None)
    adapter = MatrixAdapter(core.app, client, matrix, clock=clock)
    member.bot_id = bot.user_id
    try:
        await adapter.start()
        await adapter.wait_first_sync()
        room_id = await _room(member, bot, encrypted)
        return await _measure(member, room_id, count)
    finally:
        await adapter.stop()
        await core.close()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


async def main(count: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="alongside-bench-") as folder:
        tmp = Path(folder)
        server = SynapseServer()
        await asyncio.to_thread(server.start)
        try:
            print(
                f"Matrix `!help` round trips: {count} sequential after {WARMUP} warm-up, "
                f"Synapse {SYNAPSE_VERSION} on 127.0.0.1 (SQLite), matrix-nio clients"
            )
            print(f"{'room':<12} {'bot':<10} {'median':>9} {'p95':>9}")
            for encrypted in (False, True):
                user = await asyncio.to_thread(server.register, f"member-{int(encrypted)}")
                member = Member(await kit.connect_member(server, user.localpart, tmp, user=user))
                try:
                    runs: list[tuple[str, Callable[..., Awaitable[list[float]]]]] = [
                        ("echo bot", _echo),
                        ("Alongside", _alongside),
                    ]
                    medians, p95s = [], []
                    label = "encrypted" if encrypted else "unencrypted"
                    for title, run in runs:
                        values = await run(server, member, encrypted, count, tmp)
                        medians.append(statistics.median(values))
                        p95s.append(_p95(values))
                        print(f"{label:<12} {title:<10} {medians[-1]:>7.1f}ms {p95s[-1]:>7.1f}ms")
                    print(
                        f"{label:<12} ratio      {medians[1] / medians[0]:>8.2f}x {p95s[1] / p95s[0]:>8.2f}x"
                        "   (Alongside / echo bot)"
                    )
                finally:
                    await member.member.close()
        finally:
            await asyncio.to_thread(server.cleanup)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100)
    asyncio.run(main(parser.parse_args().count))
