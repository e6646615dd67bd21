"""The discord.py side: endpoints, the Client, and the persistent button.

The adapter HAS a client; it is not the bot through inheritance. `AlongsideClient` only sets
discord.py up (no privileged intents, no message cache, how long to wait for servers and before
re-identifying) and forwards the few events the adapter needs to an `EventHandler`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Protocol

import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.settings import DiscordSettings


def configure_discord_endpoints(api_base: str, gateway_url: str) -> None:
    """Point discord.py at a REST base and gateway (Discord's own by default, or a proxy).

    Process-global: discord.py builds every REST route (interaction callbacks and webhooks too)
    on `Route.BASE`, and a non-sharded client connects to `DEFAULT_GATEWAY`; resumes then use
    the `resume_gateway_url` READY gives."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def intents() -> discord.Intents:
    """Servers and their channels only: no message content, no member list, no presences."""
    return discord.Intents(guilds=True)


class EventHandler(Protocol):
    async def on_interaction(self, interaction: discord.Interaction) -> None: ...

    async def on_button(self, interaction: discord.Interaction, custom_id: str) -> None: ...

    async def on_ready(self) -> None: ...

    async def on_guild_available(self) -> None: ...


class _NoVoiceNotes(logging.Filter):
    """The bot never joins voice: discord.py's notes about missing voice libraries are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


logging.getLogger("discord.client").addFilter(_NoVoiceNotes())


def make_client(settings: DiscordSettings, *, sharded: bool = False) -> AlongsideClient:
    """The client for these settings: `AutoShardedClient` when asked to (the runner always is)
    or when the settings name shards; the plain client otherwise (tests of a single shard)."""
    options = {"guild_ready_timeout": settings.guild_ready_timeout, "reidentify_delay": settings.reidentify_delay}
    if sharded or settings.shard_ids is not None or settings.shard_count is not None:
        return ShardedAlongsideClient(
            None, shard_ids=settings.shard_ids, shard_count=settings.shard_count, **options
        )
    return AlongsideClient(None, **options)


class LaunchStopped(BaseException):
    """Raised by the identify hook of a client closed while its shards launch. A BaseException,
    so that discord.py's launcher (which logs every Exception and retries after 5 s) lets it
    through to `ShardedAlongsideClient.launch_shard`, which stops there."""


class AlongsideClient(discord.Client):
    def __init__(
        self,
        handler: EventHandler | None,
        *,
        guild_ready_timeout: float = 2.0,
        reidentify_delay: float = 5.0,
        **sharding: Any,
    ) -> None:
        super().__init__(
            intents=intents(),
            guild_ready_timeout=guild_ready_timeout,
            max_messages=None,  # keep no message cache: the bot reads commands, not conversations
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            # Nobody is pinged unless a send names exactly whom (a pair in its own thread).
            allowed_mentions=discord.AllowedMentions.none(),
            **sharding,
        )
        self.alongside = handler
        self._reidentify_delay = reidentify_delay

    async def setup_hook(self) -> None:
        # Buttons from before a restart still reach the adapter: their ids carry what they need.
        self.add_dynamic_items(CoreButton)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py's default waits 5 s before every non-initial IDENTIFY (Discord's pacing).
        # A close meanwhile (SIGTERM while shards launch) ends the wait at once.
        if not initial and self._reidentify_delay:
            deadline = asyncio.get_running_loop().time() + self._reidentify_delay
            while not self.is_closed() and (left := deadline - asyncio.get_running_loop().time()) > 0:
                await asyncio.sleep(min(left, 0.05))

    async def close(self) -> None:
        # discord.py 2.7 leaves its "wait for servers, then READY" task running when closed early;
        # it then fails on the closed client. Stop it first so a quick shutdown stays quiet.
        ready_task = getattr(self._connection, "_ready_task", None)
        if ready_task is not None and not ready_task.done():
            ready_task.cancel()
        await super().close()

    async def on_ready(self) -> None:
        if self.alongside is not None:
            await self.alongside.on_ready()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if self.alongside is not None:
            await self.alongside.on_interaction(interaction)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        # A server that arrived late (after its shard stopped waiting, or after an outage):
        # deliveries held back for it can go now rather than at the next retry.
        if self.alongside is not None:
            await self.alongside.on_guild_available()


class ShardedAlongsideClient(AlongsideClient, discord.AutoShardedClient):
    """The same client on discord.py's `AutoShardedClient`: one gateway connection per shard,
    `shard_ids` of `shard_count` (docs/discord.md, "Sharding"). Everything above applies per shard."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._launching: set[asyncio.Future[None]] = set()
        self._stopping = False

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await super().before_identify_hook(shard_id, initial=initial)
        if self._stopping or self.is_closed():
            raise LaunchStopped  # closed while waiting its turn: identify nothing more

    async def connect(self, *, reconnect: bool = True) -> None:
        try:
            await super().connect(reconnect=reconnect)
        except LaunchStopped:  # a shard re-identifying when the client was closed
            if not self._stopping:
                raise

    async def launch_shard(self, gateway: yarl.URL, shard_id: int, *, initial: bool = False) -> None:
        # discord.py launches shards one after another (each waiting its turn to identify) and
        # retries a failed launch forever, 5 s apart. A close during start-up (SIGTERM) cancels
        # the launch in progress and launches nothing more, so `connect` returns at once and no
        # shard connects after the close; a shard that got through just before is closed again.
        if self.is_closed() or self._stopping:
            return
        launch = asyncio.ensure_future(super().launch_shard(gateway, shard_id, initial=initial))
        self._launching.add(launch)
        try:
            await launch
        except (asyncio.CancelledError, LaunchStopped):
            if not self._stopping:
                raise
            return
        finally:
            self._launching.discard(launch)
        if self.is_closed() or self._stopping:
            shard = self.get_shard(shard_id)
            if shard is not None:
                await shard.disconnect()

    async def close(self) -> None:
        self._stopping = True
        for launch in list(self._launching):
            launch.cancel()
        if not hasattr(self, "_AutoShardedClient__queue"):
            # Never logged in: discord.py's sharded close needs the event queue login makes.
            await discord.Client.close(self)
            return
        await super().close()


# Every button the bot renders is this one persistent item. Its custom id is all it needs after
# a restart: the core's own id (e.g. "agreement:accept:K7M2Q:1a2b3c4d"), the adapter's yes/no and
# form ids ("~yes:12"), and in direct messages the server it belongs to ("@<guild id>/...").
BUTTON_TEMPLATE = re.compile(r"(?P<custom_id>[^\s]{1,100})")


class CoreButton(discord.ui.DynamicItem[discord.ui.Button], template=BUTTON_TEMPLATE):
    def __init__(self, custom_id: str, label: str = "", style: discord.ButtonStyle | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:80] or None,
                custom_id=custom_id,
                style=style or discord.ButtonStyle.secondary,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CoreButton:
        return cls(match["custom_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = getattr(interaction.client, "alongside", None)
        if handler is not None:
            await handler.on_button(interaction, self.custom_id)
