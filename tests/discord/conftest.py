"""The Discord adapter running unmodified discord.py against the loopback Discord.

`bot` starts a loopback server with one server ("Peer Space": #circle, #pairs; members fay
(a facilitator: Manage Server), alice, bob, carol), an Alongside core on a temporary database
with a fake clock, and the adapter, with its commands synced to the server. Helpers send slash
commands, button presses and modal submits as those members and read what the bot sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.sync import sync_tree
from alongside.runtime import Core, build_core
from alongside.settings import Settings, load_settings
from bot.clock import FakeClock
from bot.scheduling.timeline import SimulatedDriver
from tests.discord_loopback import payloads as P
from tests.discord_loopback.conftest import point_discord_py_at
from tests.discord_loopback.interactions import InteractionHandle
from tests.discord_loopback.server import LoopbackDiscord
from tests.harness import START, TEST_KEY

MANAGE_GUILD = 1 << 5


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def settings_for(server: LoopbackDiscord, guild_id: int, tmp: Path, **discord: Any) -> Settings:
    import base64

    options = {
        "application_id": server.application_id,
        "guild_ids": [guild_id],
        "api_base": server.api_base,
        "gateway_url": server.gateway_url,
        "guild_ready_timeout": 0.05,
        "reidentify_delay": 0.0,
        "retry_seconds": 0.5,
    }
    options.update(discord)
    return load_settings(
        None,
        discord=options,
        storage={"path": tmp / "alongside.db"},
        data_key=base64.urlsafe_b64encode(TEST_KEY).decode(),
    )


@dataclass
class Bot:
    server: LoopbackDiscord
    settings: Settings
    tmp: Path
    guild: P.SimGuild
    circle: P.SimChannel
    pairs: P.SimChannel
    users: dict[str, P.SimUser]
    facilitator_role: P.SimRole
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    core: Core | None = None
    adapter: DiscordAdapter | None = None
    driver: SimulatedDriver | None = None
    _task: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def app(self):
        assert self.core is not None
        return self.core.app

    async def start(self, *, sync: bool = True) -> None:
        self.core = await build_core(self.settings, self.clock, db_path=self.tmp / "alongside.db", seed=1)
        self.adapter = DiscordAdapter(self.core.app, self.settings.discord)
        self.driver = SimulatedDriver(self.core.timeline, self.clock)
        client = self.adapter.client
        await client.login(self.server.token)
        self._task = asyncio.create_task(client.connect(reconnect=True))
        await asyncio.wait_for(client.wait_until_ready(), 5)
        await self.core.app.start()
        if sync:
            await sync_tree(client, self.adapter.state, self.adapter.tree, self.server.application_id, [self.guild.id])
        await self.settle()

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.client.close()
            if self._task is not None:
                await asyncio.wait_for(self._task, 5)
            await self.adapter.settle()
        if self.core is not None:
            await self.core.close()
        self.adapter = self.core = None

    async def restart(self) -> None:
        await self.stop()
        await self.start(sync=False)

    async def settle(self) -> None:
        """Let the adapter finish what it is doing (interactions and deliveries)."""
        assert self.adapter is not None
        for _ in range(3):
            await asyncio.sleep(0.01)
            await self.adapter.settle()

    async def advance(self, delta) -> None:
        assert self.driver is not None
        await self.driver.advance(delta, after_each=self.app.deliver_pending)
        await self.settle()

    # -- acting as members ---------------------------------------------------------------------

    def uid(self, name: str) -> int:
        return self.users[name].id

    async def slash(
        self,
        user: str,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        channel: P.SimChannel | None = None,
    ) -> InteractionHandle:
        handle = await self.server.send_slash_command(
            self.guild.id, (channel or self.circle).id, self.uid(user), name, options
        )
        await handle.response()
        await self.settle()
        return handle

    async def say(self, user: str, name: str, options: Any = None, **kw: Any) -> str:
        """Run a slash command and return everything the member saw in answer."""
        return texts(await self.slash(user, name, options, **kw))

    async def press(self, user: str, custom_id: str, *, dm: bool = False, message: Any = None) -> InteractionHandle:
        if dm:
            handle = await self.server.send_component(None, None, self.uid(user), custom_id, message=message)
        else:
            handle = await self.server.send_component(
                self.guild.id, self.circle.id, self.uid(user), custom_id, message=message
            )
        await handle.response()
        await self.settle()
        return handle

    async def submit(self, user: str, custom_id: str, values: Mapping[str, str], *, dm: bool = False) -> InteractionHandle:
        if dm:
            handle = await self.server.send_modal_submit(None, None, self.uid(user), custom_id, values=values)
        else:
            handle = await self.server.send_modal_submit(
                self.guild.id, self.circle.id, self.uid(user), custom_id, values=values
            )
        await handle.response()
        await self.settle()
        return handle

    def dms(self, user: str) -> list[dict[str, Any]]:
        cid = self.server.dm_channels.get(self.uid(user))
        return self.server.channel_messages(cid) if cid is not None else []

    def dm_text(self, user: str) -> str:
        return "\n".join(m["content"] for m in self.dms(user))

    def posts(self, channel: P.SimChannel) -> list[dict[str, Any]]:
        return self.server.channel_messages(channel.id, ephemeral=False)


def texts(handle: InteractionHandle) -> str:
    parts = []
    original = handle.original_message
    if original is not None:
        parts.append(original["content"])
    parts.extend(r.json.get("content", "") for r in handle.followups() if isinstance(r.json, dict))
    return "\n".join(p for p in parts if p)


def buttons(message: dict[str, Any] | None) -> dict[str, str]:
    """label → custom id of every button on a message."""
    found: dict[str, str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == 2 and "custom_id" in item:
                found[item.get("label") or ""] = item["custom_id"]
            walk(item.get("components") or [])

    walk((message or {}).get("components") or [])
    return found


def last_with_buttons(messages: list[dict[str, Any]]) -> dict[str, Any]:
    for message in reversed(messages):
        if buttons(message):
            return message
    raise AssertionError("no message with buttons")


def all_buttons(handle: InteractionHandle) -> dict[str, str]:
    found = dict(buttons(handle.original_message))
    server = handle.server
    for r in handle.followups():
        body = r.response if isinstance(r.response, dict) else None
        message = server.messages.get(int(body["id"])) if body and "id" in body else None
        found.update(buttons(message or (r.json if isinstance(r.json, dict) else None)))
    return found


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackDiscord]:
    server = await LoopbackDiscord().start()
    try:
        with point_discord_py_at(server.api_base, server.gateway_url):
            yield server
    finally:
        await server.stop()


def make_world(server: LoopbackDiscord, tmp: Path, **discord: Any) -> Bot:
    guild = server.add_guild("Peer Space")
    circle = server.add_channel(guild.id, "circle")
    pairs = server.add_channel(guild.id, "pairs")
    role = server.add_role(guild.id, "facilitators", MANAGE_GUILD)
    users = {
        "fay": server.add_member(guild.id, None, "fay", roles=[role.id]).user,
        "alice": server.add_member(guild.id, None, "alice").user,
        "bob": server.add_member(guild.id, None, "bob").user,
        "carol": server.add_member(guild.id, None, "carol").user,
    }
    return Bot(server, settings_for(server, guild.id, tmp, **discord), tmp, guild, circle, pairs, users, role)


@pytest.fixture
async def bot(loopback: LoopbackDiscord, tmp_path: Path) -> AsyncIterator[Bot]:
    world = make_world(loopback, tmp_path)
    await world.start()
    try:
        yield world
    finally:
        await world.stop()
