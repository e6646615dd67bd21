"""Benchmark: how long a slash command takes through Alongside, against the floor of the stack.

Runs the loopback Discord (tests/discord_loopback) and sends 500 sequential `/help`
interactions, measuring from the moment each is dispatched on the gateway to the moment the
bot's interaction callback arrives at the REST API. Through a minimal discord.py bot that
answers the same interaction directly with the same text (the floor: discord.py, aiohttp and
the loopback), and through Alongside (the Discord adapter and the real core on SQLite), in
alternating blocks, one bot connected at a time. Both also send help's second part as a
follow-up, and the next interaction waits until the bot is idle, so each measurement is one
interaction on its own. Figures only: nothing asserts.

    .venv/bin/python -m bench.discord_latency [--count 500] [--blocks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import statistics
import tempfile
import time
from pathlib import Path

import discord

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.client import configure_discord_endpoints, intents
from adapters.discord.render import split_text
from adapters.discord.tree import build_tree
from alongside.runtime import build_core
from alongside.settings import load_settings
from bot.app import all_commands
from bot.clock import SystemClock
from bot.commands.registry import Registry
from bot.context import Actor, CommunityRef, Invocation
from bot.texts.catalog import Catalog
from tests.discord_loopback.server import LoopbackDiscord

WARMUP = 10  # per block: the first few after connecting warm caches and the pool


class MinimalBot(discord.Client):
    """Answers every interaction at once with a fixed text and one follow-up."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05, max_messages=None)
        self.first, self.second = first, second
        self.busy: set[asyncio.Task] = set()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.busy.add(task)
        try:
            await interaction.response.send_message(self.first, ephemeral=True)
            await interaction.followup.send(self.second, ephemeral=True)
        finally:
            self.busy.discard(task)

    async def idle(self) -> None:
        while self.busy:
            await asyncio.gather(*self.busy, return_exceptions=True)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(server: LoopbackDiscord, guild: int, channel: int, user: int, count: int, idle) -> list[float]:
    samples = []
    for index in range(WARMUP + count):
        handle = await server.send_slash_command(guild, channel, user, "help")
        callback = await handle.response(timeout=10)
        assert callback.ok and callback.json["type"] == 4, callback.response
        await handle.wait_followups(1)
        await idle()
        if index >= WARMUP:
            samples.append((callback.at - handle.created) * 1000)
    return samples


async def main(count: int, blocks: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    server = await LoopbackDiscord(interaction_deadline=None).start()
    configure_discord_endpoints(server.api_base, server.gateway_url)
    guild = server.add_guild("Bench Space")
    channel = server.add_channel(guild.id, "circle")
    user = server.add_member(guild.id, None, "sam").user
    tree = build_tree(Registry(all_commands()).specs(), Catalog(load_settings(None).prompts_dir))
    server.commands[guild.id] = [dict(c, id=str(server.snowflake())) for c in tree.payload]
    floor: list[float] = []
    ours: list[float] = []

    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            None,
            discord={
                "guild_ids": [guild.id],
                "guild_ready_timeout": 0.05,
                "api_base": server.api_base,
                "gateway_url": server.gateway_url,
            },
            data_key=base64.urlsafe_b64encode(bytes(32)).decode(),
        )
        core = await build_core(settings, SystemClock(), db_path=Path(folder) / "bench.db", seed=1)
        await core.app.start()
        # The text Alongside answers with, so the minimal bot sends the very same bytes.
        inv = Invocation(CommunityRef("discord", str(guild.id), guild.name), Actor(str(user.id), "sam"), "0")
        probe = await core.app.handle_structured(inv, "help", {}, lambda token: None)
        first, *rest = split_text(probe[0].text)
        second = "\n".join(rest) or "."

        async def run_minimal(n: int) -> None:
            bot = MinimalBot(first, second)
            await bot.login(server.token)
            task = asyncio.create_task(bot.connect())
            await bot.wait_until_ready()
            floor.extend(await measure(server, guild.id, channel.id, user.id, n, bot.idle))
            await bot.close()
            await task

        async def run_alongside(n: int) -> None:
            adapter = DiscordAdapter(core.app, settings.discord)
            await adapter.client.login(server.token)
            task = asyncio.create_task(adapter.client.connect())
            await adapter.client.wait_until_ready()
            ours.extend(await measure(server, guild.id, channel.id, user.id, n, adapter.settle))
            await adapter.shutdown()
            await task

        # Alternate blocks (and which goes first) so that drifting machine load hits both alike.
        per_block = max(1, count // blocks)
        for block in range(blocks):
            runs = (run_minimal, run_alongside) if block % 2 == 0 else (run_alongside, run_minimal)
            for run in runs:
                await run(per_block)
        await core.close()
    await server.stop()

    floor_median, ours_median = statistics.median(floor), statistics.median(ours)
    floor_p95, ours_p95 = quantile(floor, 0.95), quantile(ours, 0.95)
    print(
        f"/help over the loopback Discord, {len(ours)} sequential interactions each"
        f" (dispatch -> interaction callback, {blocks} alternating blocks)"
    )
    print(f"  minimal discord.py bot: median {floor_median:.2f} ms, p95 {floor_p95:.2f} ms")
    print(f"  Alongside:              median {ours_median:.2f} ms, p95 {ours_p95:.2f} ms")
    print(
        f"  ratio Alongside/minimal: median {ours_median / floor_median:.2f}x, p95 {ours_p95 / floor_p95:.2f}x"
        " (target: median within 1.3x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(main(args.count, args.blocks))
    print(f"  (ran in {time.monotonic() - started:.1f} s)")
