"""Two Alongside processes on disjoint Discord shard ranges sharing one store (issue 19): each
server's commands are answered by exactly one of them, and each server's scheduled question is
posted by exactly one. In-process (two cores, two sharded clients, one database, one simulated
clock) for the scheduled posts; as two real `alongside run --shard-ids` processes for commands."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.client import ShardedAlongsideClient
from adapters.discord.shards import ShardPlan, shard_of
from adapters.discord.sync import sync_tree
from alongside.runtime import Core, build_core
from bot.clock import FakeClock
from bot.scheduling.timeline import SimulatedDriver
from tests.discord.conftest import MANAGE_GUILD, eventually, settings_for
from tests.discord.test_runner import ALONGSIDE, ROOT, env, write_config
from tests.discord_loopback import payloads as P
from tests.discord_loopback.server import LoopbackDiscord
from tests.harness import START


@dataclass
class Space:
    guild: P.SimGuild
    circle: P.SimChannel
    fay: P.SimUser


def add_space(server: LoopbackDiscord, name: str, shard: tuple[int, int]) -> Space:
    guild = server.add_guild(name, shard=shard)
    circle = server.add_channel(guild.id, "circle")
    role = server.add_role(guild.id, "facilitators", MANAGE_GUILD)
    fay = server.add_member(guild.id, None, "fay", roles=[role.id]).user
    return Space(guild, circle, fay)


@dataclass
class Process:
    core: Core
    adapter: DiscordAdapter
    driver: SimulatedDriver
    task: asyncio.Task[None]
    commands: Counter[str] = field(default_factory=Counter)
    delivered_to: set[str] = field(default_factory=set)  # the servers this process sent posts for


async def start_process(server: LoopbackDiscord, tmp: Path, clock: FakeClock, shards: list[int], spaces: list[Space]) -> Process:
    settings = settings_for(server, spaces[0].guild.id, tmp, shard_ids=shards, shard_count=2)
    plan = ShardPlan(2, tuple(shards))
    core = await build_core(settings, clock, db_path=tmp / "alongside.db", seed=1, owns=plan.owns)
    adapter = DiscordAdapter(core.app, settings.discord)
    assert isinstance(adapter.client, ShardedAlongsideClient)
    process = Process(core, adapter, SimulatedDriver(core.timeline, clock), asyncio.create_task(asyncio.sleep(0)))
    core.app.observe(lambda outcome, name: process.commands.update([name]))
    deliver = adapter.deliver

    async def recording(delivery):
        process.delivered_to.add(delivery.community_external_id)
        await deliver(delivery)

    adapter.deliver = recording  # type: ignore[method-assign]
    await adapter.client.login(server.token)
    process.task = asyncio.create_task(adapter.client.connect(reconnect=True))
    await asyncio.wait_for(adapter.client.wait_until_ready(), 10)
    await core.app.start()
    for space in spaces:
        await sync_tree(adapter.client, adapter.state, adapter.tree, server.application_id, [space.guild.id])
    return process


async def stop_process(process: Process) -> None:
    await process.adapter.client.close()
    await asyncio.wait_for(process.task, 5)
    await process.adapter.settle()
    await process.core.close()


async def test_each_server_is_answered_and_scheduled_by_exactly_one_process(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    east = add_space(loopback, "east", (0, 2))
    west = add_space(loopback, "west", (1, 2))
    clock = FakeClock(START)
    low = await start_process(loopback, tmp_path, clock, [0], [east, west])
    high = await start_process(loopback, tmp_path, clock, [1], [east, west])
    try:
        assert {g.id for g in low.adapter.client.guilds} == {east.guild.id}
        assert {g.id for g in high.adapter.client.guilds} == {west.guild.id}
        for space in (east, west):
            handle = await loopback.send_slash_command(
                space.guild.id, space.circle.id, space.fay.id, "questions schedule", {"recurrence": "daily 18:00"}
            )
            assert "18:00" in (await handle.response(timeout=5)).json["data"]["content"]
        await eventually(lambda: low.commands and high.commands)
        assert low.commands == Counter({"questions schedule": 1}) == high.commands
        # Both restart (a deploy): each rebuilds its jobs from the shared store, for its servers only.
        for process in (low, high):
            await stop_process(process)
        low = await start_process(loopback, tmp_path, clock, [0], [east, west])
        high = await start_process(loopback, tmp_path, clock, [1], [east, west])

        for _ in range(3 * 24):  # three days, an hour at a time, both processes in step
            target = clock.now() + timedelta(hours=1)
            for process in (low, high):
                await process.driver.advance_to(target, after_each=process.core.app.deliver_pending)
                await process.adapter.settle()
        for space in (east, west):
            posts = loopback.channel_messages(space.circle.id, ephemeral=False)
            assert len(posts) == 3, [p["content"][:40] for p in posts]  # 18:00 on three days, once each
        # and each server's posts went out from the process running its shard, none from the other
        for process, space in ((low, east), (high, west)):
            assert process.delivered_to == {str(space.guild.id)}
            assert process.adapter.client.shard_ids == [shard_of(space.guild.id, 2)]
    finally:
        for process in (low, high):
            await stop_process(process)


async def test_two_runner_processes_on_disjoint_shards_each_answer_their_servers(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    spaces = [add_space(loopback, f"space {n}", (n % 2, 2)) for n in range(4)]
    guilds = ",".join(str(space.guild.id) for space in spaces)
    config = write_config(tmp_path / "c.toml", loopback, guild_ids=f"[{guilds}]")
    processes = []
    try:
        sync = await asyncio.create_subprocess_exec(
            *ALONGSIDE, "discord", "sync", "--config", str(config), cwd=ROOT, env=env(loopback.token),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        assert await asyncio.wait_for(sync.wait(), 30) == 0
        for shard in ("0", "1"):
            processes.append(
                await asyncio.create_subprocess_exec(
                    *ALONGSIDE, "run", "--adapter", "discord", "--config", str(config),
                    "--shard-ids", shard, "--shard-count", "2",
                    cwd=ROOT, env=env(loopback.token), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )
            )
        await eventually(lambda: len(loopback.gateway.live_sessions()) == 2, timeout=30)
        assert sorted(s.shard for s in loopback.gateway.live_sessions()) == [(0, 2), (1, 2)]
        for space in spaces:
            before = {s.session_id: len(s.events()) for s in loopback.gateway.live_sessions()}
            handle = await loopback.send_slash_command(space.guild.id, space.circle.id, space.fay.id, "help")
            callback = await handle.response(timeout=15)
            assert callback.ok and "/help [command]" in callback.json["data"]["content"]
            got = [
                s.shard for s in loopback.gateway.live_sessions()
                if any(t == "INTERACTION_CREATE" for _, t in s.events()[before[s.session_id]:])
            ]
            assert got == [(shard_of(space.guild.id, 2), 2)]  # exactly one process was asked
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            _, err = await asyncio.wait_for(process.communicate(), 20)
            assert process.returncode == 0, err.decode()[-2000:]
            assert "Traceback" not in err.decode()
            assert "running shard" in err.decode()


async def test_a_post_for_a_server_not_loaded_yet_waits_instead_of_being_lost(bot) -> None:
    """A shard is ready once its servers arrive or its wait for them runs out; a server that has
    not arrived (or that Discord marks unavailable in an outage) is known only by its id. A post
    for it is tried again later, never dropped as if the bot had left the server."""
    assert bot.adapter is not None
    assert "18:00" in await bot.say("fay", "questions schedule", {"recurrence": "daily 18:00"})
    guild = bot.adapter.client.get_guild(bot.guild.id)
    assert guild is not None
    # As discord.py holds a server named in READY before its GUILD_CREATE: an id, no channels.
    channels, guild._channels = guild._channels, {}
    guild.unavailable = True
    await bot.advance(timedelta(hours=9, minutes=1))  # 09:00 -> 18:01: the slot falls due
    assert bot.posts(bot.circle) == []
    guild._channels, guild.unavailable = channels, False  # its GUILD_CREATE arrives
    bot.adapter.kick_delivery()
    await bot.settle()
    assert len(bot.posts(bot.circle)) == 1
