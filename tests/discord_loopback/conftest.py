from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from .payloads import SimChannel, SimGuild, SimUser

if TYPE_CHECKING:  # the server needs aiohttp, which comes with discord.py
    from .server import LoopbackDiscord


@contextlib.contextmanager
def point_discord_py_at(api_base: str, gateway_url: str | None) -> Iterator[None]:
    """Point unmodified discord.py at another REST base / gateway; restore afterwards.

    Mirrors what the adapter's ``configure_discord_endpoints`` does:
    ``Route.BASE`` is the REST root every request (webhooks and interaction
    callbacks included) is built on, and the non-sharded ``Client`` connects to
    ``DiscordWebSocket.DEFAULT_GATEWAY`` (it never calls ``GET /gateway/bot``);
    resumes then use READY's ``resume_gateway_url``.
    """
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url is not None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackDiscord]:
    from .server import LoopbackDiscord

    server = await LoopbackDiscord().start()
    try:
        with point_discord_py_at(server.api_base, server.gateway_url):
            yield server
    finally:
        await server.stop()


@dataclass
class World:
    guild: SimGuild
    channel: SimChannel
    alice: SimUser
    bob: SimUser


@pytest.fixture
def world(loopback: LoopbackDiscord) -> World:
    guild = loopback.add_guild("Peer Space")
    channel = loopback.add_channel(guild.id, "check-ins")
    volunteer = loopback.add_role(guild.id, "volunteer")
    alice = loopback.add_member(guild.id, None, "alice", roles=[volunteer.id]).user
    bob = loopback.add_member(guild.id, None, "bob").user
    return World(guild, channel, alice, bob)
