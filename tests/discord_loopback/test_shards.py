"""The loopback Discord serves several shards as Discord does: IDENTIFY's shard field is checked
(4010 for a shard Discord would refuse, 4011 when a shard would hold too many servers), each
session sees only its shard's servers and their events, direct messages go to shard 0, and
GET /gateway/bot recommends a shard count. Unmodified discord.py `AutoShardedClient`s on
disjoint shard ranges each receive exactly their servers' interactions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import discord
import pytest

from .gateway import shard_of
from .server import LoopbackDiscord

pytestmark = pytest.mark.timeout(30)


async def identify(server: LoopbackDiscord, shard: Any) -> tuple[int | None, list[dict[str, Any]]]:
    """Identify over a raw websocket; returns (close code or None, dispatches received)."""
    received: list[dict[str, Any]] = []
    payload: dict[str, Any] = {"token": server.token, "intents": 1, "properties": {}}
    if shard is not None:
        payload["shard"] = shard
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{server.gateway_url}?v=10&encoding=json") as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["op"] == 10
            await ws.send_str(json.dumps({"op": 2, "d": payload}))
            while True:
                try:
                    msg = await ws.receive(timeout=0.5)
                except TimeoutError:
                    return None, received
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return ws.close_code, received
                received.append(json.loads(msg.data))


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [0], "0,1", [0, 1.5], [True, 2]])
async def test_a_shard_discord_would_refuse_closes_with_4010(loopback: LoopbackDiscord, shard: Any) -> None:
    code, received = await identify(loopback, shard)
    assert code == 4010
    assert not [m for m in received if m.get("t") == "READY"]
    assert loopback.gateway.live_sessions() == []


async def test_too_many_servers_on_one_shard_closes_with_4011(loopback: LoopbackDiscord) -> None:
    loopback.max_guilds_per_shard = 2
    for shard in (0, 0, 0, 1):
        loopback.add_guild(f"space {shard}", shard=(shard, 2))
    assert (await identify(loopback, None))[0] == 4011  # unsharded: all four on one connection
    assert (await identify(loopback, [0, 2]))[0] == 4011  # three on shard 0 of 2
    code, received = await identify(loopback, [1, 2])
    assert code is None and received[0]["t"] == "READY"


async def test_each_shard_sees_only_its_servers(loopback: LoopbackDiscord) -> None:
    guilds = [loopback.add_guild(f"space {n}", shard=(n % 3, 3)) for n in range(6)]
    for n in range(3):
        code, received = await identify(loopback, [n, 3])
        assert code is None
        ready = received[0]
        assert ready["t"] == "READY" and ready["d"]["shard"] == [n, 3]
        mine = {g.id for g in guilds if shard_of(g.id, 3) == n}
        assert {int(g["id"]) for g in ready["d"]["guilds"]} == mine and len(mine) == 2
        created = {int(m["d"]["id"]) for m in received if m.get("t") == "GUILD_CREATE"}
        assert created == mine


async def test_gateway_bot_recommends_a_shard_per_thousand_servers(loopback: LoopbackDiscord) -> None:
    loopback.guilds_per_recommended_shard = 2
    for n in range(5):
        loopback.add_guild(f"space {n}")
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{loopback.api_base}/gateway/bot", headers={"Authorization": f"Bot {loopback.token}"}
        ) as response:
            body = await response.json()
    assert body["shards"] == 3 and body["url"] == loopback.gateway_url


class Counting(discord.AutoShardedClient):
    def __init__(self, shard_ids: list[int], shard_count: int) -> None:
        super().__init__(
            intents=discord.Intents(guilds=True),
            shard_ids=shard_ids,
            shard_count=shard_count,
            guild_ready_timeout=0.05,
        )
        self.seen: list[int | None] = []  # the server of each interaction received

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.seen.append(interaction.guild_id)
        await interaction.response.send_message("seen", ephemeral=True)


async def test_two_sharded_clients_each_get_only_their_servers(loopback: LoopbackDiscord) -> None:
    east = loopback.add_guild("east", shard=(0, 4))
    west = loopback.add_guild("west", shard=(3, 4))
    user = loopback.add_member(east.id, None, "sam").user
    loopback.add_member(west.id, user.id, "sam")
    low, high = Counting([0, 1], 4), Counting([2, 3], 4)
    tasks = []
    try:
        for client in (low, high):
            await client.login(loopback.token)
            tasks.append(asyncio.create_task(client.connect(reconnect=False)))
        await asyncio.wait_for(asyncio.gather(low.wait_until_ready(), high.wait_until_ready()), 10)
        assert {g.id for g in low.guilds} == {east.id} and {g.id for g in high.guilds} == {west.id}
        shards = sorted(tuple(s.shard) for s in loopback.gateway.live_sessions())
        assert shards == [(0, 4), (1, 4), (2, 4), (3, 4)]
        for guild in (east, west, east):
            channel = loopback.add_channel(guild.id, f"c{len(low.seen) + len(high.seen)}")
            handle = await loopback.send_slash_command(guild.id, channel.id, user.id, "ping")
            assert (await handle.response(timeout=5)).ok
        dm = await loopback.send_slash_command(None, None, user.id, "ping")
        assert (await dm.response(timeout=5)).ok
        await asyncio.sleep(0.1)
        assert low.seen == [east.id, east.id, None]  # direct messages: shard 0
        assert high.seen == [west.id]
    finally:
        for client in (low, high):
            await client.close()
        await asyncio.gather(*tasks, return_exceptions=True)
