"""Benchmark: `!help` round trips through Alongside on Matrix, against the floor of the stack.

Starts a local Synapse (the test harness's: its own virtualenv, SQLite, 127.0.0.1), and a member
with a matrix-nio client. For an unencrypted and then an end-to-end encrypted room, it measures
100 sequential round trips -- the member sends `!help` in the room, and the clock stops when the
member's sync delivers the bot's reply -- through a minimal echo bot written here with
matrix-nio (it answers every `!help` at once in the same room: the floor this stack allows) and
through Alongside (the Matrix adapter and the real core on SQLite, which answers in the member's
private room). Both bots stay connected and the round trips alternate between them in blocks of
ten, so both meet the same machine and load. Figures only: nothing asserts.

    .venv/bin/python -m bench.matrix_latency [--count 100]
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

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, RoomMessageNotice, RoomMessageText
from pydantic import SecretStr

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import connect, crypto_store_key
from adapters.matrix.settings import MatrixSettings
from alongside.runtime import build_core
from alongside.settings import load_settings
from bot.clock import SystemClock
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


BLOCK = 10


class Echo:
    """The echo bot, connected and syncing."""

    def __init__(self, server: SynapseServer) -> None:
        self.server = server
        self.client: AsyncClient | None = None
        self.sync: kit.SyncLoop | None = None

    async def start(self, encrypted: bool, tmp: Path) -> RegisteredUser:
        user = await asyncio.to_thread(self.server.register, f"echo-{'e2e' if encrypted else 'plain'}")
        self.client = await kit.make_client(self.server, user, tmp / user.localpart, encrypted=encrypted)
        EchoBot(self.client)
        self.sync = await kit.start_sync_loop(self.client, timeout_ms=30_000)
        return user

    async def stop(self) -> None:
        if self.sync is not None:
            await self.sync.stop()
        if self.client is not None:
            await self.client.close()


class Alongside:
    """Alongside's Matrix adapter and the real core, connected and syncing."""

    def __init__(self, server: SynapseServer) -> None:
        self.server = server
        self.adapter: MatrixAdapter | None = None
        self.core: Any = None

    async def start(self, encrypted: bool, tmp: Path) -> RegisteredUser:
        name = f"alongside-{'e2e' if encrypted else 'plain'}"
        user = await asyncio.to_thread(self.server.register, name)
        matrix = MatrixSettings(homeserver=self.server.base_url, user_id=user.user_id, store_path=tmp / name)
        clock = SystemClock()
        self.core = await build_core(load_settings(None), clock, db_path=tmp / f"{name}.db", seed=1)
        pickle_key = await crypto_store_key(self.core.app.adapter_state("matrix"), self.core.app.cipher)
        client = await connect(matrix, SecretStr(user.access_token), None, pickle_key=pickle_key)
        self.adapter = MatrixAdapter(self.core.app, client, matrix, clock=clock)
        await self.adapter.start()
        await self.adapter.wait_first_sync()
        return user

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop()
        if self.core is not None:
            await self.core.close()


async def _compare(
    server: SynapseServer, member: Member, encrypted: bool, count: int, tmp: Path
) -> dict[str, list[float]]:
    """Both bots stay connected (each idle while the other is measured) and the round trips
    alternate between them in blocks of ten, so both meet the same machine, load included."""
    echo, alongside = Echo(server), Alongside(server)
    try:
        bots = {"echo bot": await echo.start(encrypted, tmp), "Alongside": await alongside.start(encrypted, tmp)}
        rooms = {title: await _room(member, user, encrypted) for title, user in bots.items()}
        times: dict[str, list[float]] = {title: [] for title in bots}
        for title, user in bots.items():
            member.bot_id = user.user_id
            for _ in range(WARMUP):
                await member.round_trip(rooms[title])
        while any(len(values) < count for values in times.values()):
            for title, user in bots.items():
                member.bot_id = user.user_id
                for _ in range(min(BLOCK, count - len(times[title]))):
                    times[title].append(await member.round_trip(rooms[title]))
        return times
    finally:
        await alongside.stop()
        await echo.stop()


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
                label = "encrypted" if encrypted else "unencrypted"
                try:
                    times = await _compare(server, member, encrypted, count, tmp)
                finally:
                    await member.member.close()
                medians = {title: statistics.median(values) for title, values in times.items()}
                p95s = {title: _p95(values) for title, values in times.items()}
                for title in times:
                    print(f"{label:<12} {title:<10} {medians[title]:>7.1f}ms {p95s[title]:>7.1f}ms")
                print(
                    f"{label:<12} ratio      {medians['Alongside'] / medians['echo bot']:>8.2f}x "
                    f"{p95s['Alongside'] / p95s['echo bot']:>8.2f}x   (Alongside / echo bot)"
                )
        finally:
            await asyncio.to_thread(server.cleanup)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100)
    asyncio.run(main(parser.parse_args().count))
