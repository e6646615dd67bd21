"""`alongside discord sync [--guild ID]`: register the slash-command tree with Discord.

Start-up never syncs on its own (Discord rate-limits command updates, and a global change takes
a while to reach everyone); it only warns when the tree built from the registry differs from
the one last synced. The synced tree's hash is kept in the adapter's state, per scope.
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import discord

from adapters.discord.client import configure_discord_endpoints, intents
from adapters.discord.settings import DiscordSettings
from adapters.discord.traits import PLATFORM
from adapters.discord.tree import CommandTree, build_tree
from alongside.runtime import build_core
from alongside.settings import Settings
from bot.clock import SystemClock
from bot.config import ConfigError
from bot.storage.adapter_state import AdapterState

log = logging.getLogger(__name__)


def hash_key(guild_id: int | None) -> str:
    return f"tree-hash:{guild_id if guild_id is not None else 'global'}"


def scopes(settings: DiscordSettings, guild: int | None = None) -> list[int | None]:
    """Where commands live: one server asked for, the configured servers, or global."""
    if guild is not None:
        return [guild]
    return list(settings.guild_ids) or [None]


async def sync_tree(
    client: discord.Client,
    state: AdapterState,
    tree: CommandTree,
    application_id: int,
    targets: list[int | None],
) -> list[str]:
    """Overwrite the commands in each target scope with the tree; returns a line per scope."""
    problems = tree.problems()
    if problems:
        raise ConfigError([f"the command list would break Discord's limits: {p}" for p in problems])
    lines = []
    for guild_id in targets:
        if guild_id is None:
            await client.http.bulk_upsert_global_commands(application_id, tree.payload)
            where = "globally (Discord may take up to an hour to show changes everywhere)"
        else:
            await client.http.bulk_upsert_guild_commands(application_id, guild_id, tree.payload)
            where = f"to server {guild_id}"
        await state.put(hash_key(guild_id), tree.digest)
        lines.append(f"synced {len(tree.payload)} commands {where}")
    return lines


async def unsynced(state: AdapterState, tree: CommandTree, targets: list[int | None]) -> list[int | None]:
    """The scopes whose last synced tree differs from this one."""
    return [scope for scope in targets if await state.get(hash_key(scope)) != tree.digest]


def token_from(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise ConfigError(["ALONGSIDE_DISCORD_TOKEN is not set: put the bot's token (Developer Portal → Bot) there"])
    return token


async def login(client: discord.Client, token: str, settings: DiscordSettings) -> int:
    """Log in over REST; any problem becomes one clear ConfigError line. Returns the app id."""
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError(["Discord did not accept the token in ALONGSIDE_DISCORD_TOKEN (check it under Developer Portal → Bot)"]) from None
    except discord.HTTPException as error:
        raise ConfigError([f"Discord answered {error.status} when logging in at {settings.api_base}"]) from None
    except (OSError, TimeoutError, aiohttp.ClientError) as error:
        raise ConfigError([f"cannot reach Discord at {settings.api_base}: {type(error).__name__}"]) from None
    application_id = client.application_id
    if application_id is None:
        raise ConfigError(["Discord did not say which application this token belongs to"])
    if settings.application_id is not None and settings.application_id != application_id:
        raise ConfigError(
            [
                f"[discord] application_id is {settings.application_id}, but the token belongs to "
                f"application {application_id}"
            ]
        )
    return application_id


async def run_sync(settings: Settings, *, guild: int | None, db_path: Path | None) -> int:
    token = token_from(settings)
    configure_discord_endpoints(settings.discord.api_base, settings.discord.gateway_url)
    client = discord.Client(intents=intents())
    core = None
    try:
        application_id = await login(client, token, settings.discord)
        core = await build_core(settings, SystemClock(), db_path=db_path)
        tree = build_tree(
            core.app.registry.specs(),
            core.app.catalog,
            facilitator_hint=settings.discord.facilitator_rule == "manage-server",
        )
        state = core.app.adapter_state(PLATFORM)
        try:
            lines = await sync_tree(client, state, tree, application_id, scopes(settings.discord, guild))
        except discord.HTTPException as error:
            raise ConfigError([f"Discord refused the command list: {error.status} {error.text[:200]}"]) from None
        for line in lines:
            print(line)
        return 0
    finally:
        await client.close()
        if core is not None:
            await core.close()
