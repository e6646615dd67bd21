"""`alongside run --adapter discord`: the composition root for Discord.

Problems found before the bot is connected (no token, a token Discord refuses, an unreachable
Discord, a bad config) end with one clear line and exit code 2 (ConfigError). Once connected,
discord.py reconnects and resumes on its own; what could not be sent is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from pathlib import Path

import aiohttp
import discord

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.client import configure_discord_endpoints, make_client
from adapters.discord.invite import invite_url
from adapters.discord.settings import DiscordSettings
from adapters.discord.shards import ShardPlan
from adapters.discord.sync import login, scopes, token_from, unsynced
from alongside.runtime import build_core
from alongside.settings import Settings
from bot.clock import SystemClock
from bot.config import ConfigError
from bot.scheduling.timeline import RealtimeDriver

log = logging.getLogger(__name__)


async def warn_if_unsynced(adapter: DiscordAdapter) -> list[int | None]:
    problems = adapter.tree.problems()
    for problem in problems:
        log.warning("the slash-command list breaks Discord's limits: %s", problem)
    stale = await unsynced(adapter.state, adapter.tree, scopes(adapter.settings))
    for scope in stale:
        where = "global commands" if scope is None else f"commands of server {scope}"
        log.warning(
            "the slash-command list differs from the %s last synced; run `alongside discord sync` to update Discord",
            where,
        )
    return stale


async def plan_shards(client: discord.AutoShardedClient, settings: DiscordSettings) -> ShardPlan:
    """How many shards the bot has (configured, else Discord's recommendation for it) and which
    this process runs; sets the client up to launch them on the configured gateway."""
    try:
        recommended, _url, _limits = await client.http.get_bot_gateway()
    except (discord.GatewayNotFound, discord.HTTPException, OSError, TimeoutError, aiohttp.ClientError):
        raise ConfigError([f"cannot ask Discord at {settings.api_base} how many shards the bot needs"]) from None
    count = settings.shard_count or max(1, int(recommended))
    if count < recommended:
        log.warning(
            "Discord recommends %d shards for this bot and shard_count is %d: Discord refuses too few"
            " shards (close code 4011); see docs/discord.md, Sharding",
            recommended,
            count,
        )
    # With a count set, discord.py connects every shard to the configured gateway (a proxy too).
    client.shard_count = count
    return ShardPlan(count, tuple(settings.shard_ids) if settings.shard_ids is not None else None)


# Close codes that a restart cannot fix: the sharding settings are wrong for this bot.
SHARD_CLOSE_CODES = {
    4010: "Discord refused the shard settings (close code 4010, invalid shard): check shard_ids and shard_count",
    4011: "Discord requires more shards for this bot (close code 4011, sharding required): raise shard_count",
}


async def connect(adapter: DiscordAdapter, settings: DiscordSettings) -> None:
    """Run the gateway connection(s) until closed; what a restart cannot fix is one ConfigError."""
    try:
        await adapter.client.connect(reconnect=True)
    except discord.ConnectionClosed as error:
        if error.code == 4004:
            raise ConfigError(["Discord's gateway did not accept the token in ALONGSIDE_DISCORD_TOKEN"]) from None
        if error.code in SHARD_CLOSE_CODES:
            raise ConfigError([SHARD_CLOSE_CODES[error.code]]) from None
        raise ConfigError([f"Discord's gateway closed the connection ({error.code})"]) from None
    except discord.GatewayNotFound:
        raise ConfigError([f"cannot reach Discord's gateway at {settings.gateway_url}"]) from None


async def run_discord(settings: Settings, *, db_path: Path | None, seed: int) -> int:
    token = token_from(settings)
    configure_discord_endpoints(settings.discord.api_base, settings.discord.gateway_url)
    client = make_client(settings.discord, sharded=True)
    try:
        # Credentials first: a refused token or an unreachable Discord creates nothing locally.
        application_id = await login(client, token, settings.discord)
        assert isinstance(client, discord.AutoShardedClient)
        plan = await plan_shards(client, settings.discord)
    except BaseException:
        await client.close()
        raise
    clock = SystemClock()
    try:
        # Several processes may share the store: this one schedules only for what it serves.
        core = await build_core(
            settings, clock, db_path=db_path, seed=seed, instance="discord", owns=plan.owns
        )
    except BaseException:
        await client.close()
        raise
    adapter = DiscordAdapter(core.app, settings.discord, client)
    driver: RealtimeDriver | None = None
    retry: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()
    try:
        log.info("invite URL for this application: %s", invite_url(application_id))
        log.info("running %s", plan.describe())
        await warn_if_unsynced(adapter)

        async def after_job() -> None:
            adapter.kick_delivery()

        driver = RealtimeDriver(
            core.timeline, clock, grace=timedelta(minutes=settings.scheduling.grace_minutes), after_each=after_job
        )
        driver.start()
        # Sharing the store with other processes: read their schedule changes, deliver what they left.
        driver.every(settings.processes.resync_seconds, core.app.upkeep)
        await core.app.start()
        retry = asyncio.create_task(adapter.retry_forever())
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(adapter.shutdown()))
        await connect(adapter, settings.discord)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if retry is not None:
            retry.cancel()
        if driver is not None:
            driver.shutdown()
        await adapter.shutdown()
        await core.close()
