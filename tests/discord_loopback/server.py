"""``LoopbackDiscord``: a Discord API v10 + gateway stand-in on 127.0.0.1 for tests.

Unmodified discord.py talks to it once ``discord.http.Route.BASE`` is ``api_base`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` is ``yarl.URL(gateway_url)`` (see
``point_discord_py_at`` in conftest.py).  Typical use::

    server = await LoopbackDiscord().start()
    guild = server.add_guild("Peer Space")
    channel = server.add_channel(guild.id, "check-ins")
    alice = server.add_member(guild.id, None, "alice").user
    ...  # start the bot, let it sync its commands
    handle = await server.send_slash_command(guild.id, channel.id, alice.id, "demo say", {"text": "hi"})
    callback = await handle.response()      # the bot's POST .../callback, as Recorded
    server.requests / server.unhandled      # everything the bot sent / unknown endpoints

Modules: ``payloads`` (world dataclasses, JSON renderers, constants), ``world`` (messages,
threads, DMs), ``interactions`` (INTERACTION_CREATE builders, InteractionHandle),
``gateway`` (websocket sessions, resume), ``rest``/``restkit``/``routes_*`` (HTTP API).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from . import payloads as P
from .gateway import GatewayHub, GatewaySession
from .interactions import (
    IT_APPLICATION_COMMAND,
    IT_AUTOCOMPLETE,
    IT_MESSAGE_COMPONENT,
    IT_MODAL_SUBMIT,
    InteractionHandle,
    base_payload,
    build_command_data,
    modal_submit_components,
)
from .rest import ApiError, Recorded, RestApi, Rule
from .world import WorldMixin, _custom_ids


class LoopbackDiscord(WorldMixin):
    def __init__(
        self,
        *,
        token: str = "loopback.bot.token",
        bot_username: str = "Alongside",
        heartbeat_interval_ms: int = 41250,
        gateway_compression: bool = True,
        allowed_privileged_intents: int = 0,
        interaction_deadline: float | None = 3.0,
    ) -> None:
        self.snowflake = P.SnowflakeFactory()
        self.token = token
        self.application_id = self.snowflake()
        # Bots created since 2020 share their application's id.
        self.bot_user = P.SimUser(self.application_id, bot_username, bot=True)
        self.owner_user = P.SimUser(self.snowflake(), "app-owner")
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.gateway_compression = gateway_compression
        self.allowed_privileged_intents = allowed_privileged_intents
        self.interaction_deadline = interaction_deadline
        # Sharding (gateway.py): Discord requires a shard per 2,500 servers, and recommends one per
        # 1,000 in GET /gateway/bot; tests lower these to see a small bot asked to shard.
        self.max_guilds_per_shard = 2500
        self.guilds_per_recommended_shard = 1000

        self.users: dict[int, P.SimUser] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, P.SimGuild] = {}
        self.channels: dict[int, P.SimChannel] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.attachment_data: dict[int, bytes] = {}  # attachment id -> uploaded bytes
        self.closed_dms: set[int] = set()
        self.thread_member_failures: dict[int, int] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, InteractionHandle] = {}
        self.modals: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.unhandled: list[Recorded] = []
        # (author id, nonce) -> (when, message id), for enforce_nonce; Discord keeps "a few minutes".
        self.nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self.nonce_window = 300.0
        # Awaited around every matched, authorised request: (request, "before" | "after" it acts).
        # Kill tests use them to kill the bot at a chosen point of its traffic.
        # Every request is checked against Discord's OpenAPI specification (spec.py).
        self.validate_requests = True
        self.request_hooks: list[Callable[[Recorded, str], Awaitable[None]]] = []

        self.rest = RestApi(self)
        self.gateway = GatewayHub(self)
        self._waiters: list[tuple[Callable[[Recorded], bool], asyncio.Future[Recorded]]] = []
        self._pending: list[tuple[str, Any, int]] = []
        self._flush_lock = asyncio.Lock()
        self._flush_tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> LoopbackDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/resume", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        for task in list(self._flush_tasks):
            task.cancel()
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()

    async def __aenter__(self) -> LoopbackDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.http_base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/resume"

    # ------------------------------------------------------------------ world building

    def add_user(
        self,
        user_id: int | None = None,
        username: str | None = None,
        *,
        global_name: str | None = None,
        bot: bool = False,
    ) -> P.SimUser:
        uid = user_id or self.snowflake()
        user = self.users.get(uid)
        if user is None:
            user = self.users[uid] = P.SimUser(
                uid, username or f"user{uid % 10000}", global_name, bot
            )
        elif username:
            user.username = username
        return user

    def add_guild(
        self,
        name: str,
        owner_id: int | None = None,
        *,
        bot_permissions: int = P.DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = P.DEFAULT_EVERYONE_PERMISSIONS,
        locale: str = "en-US",
        shard: tuple[int, int] | None = None,
    ) -> P.SimGuild:
        """Create a guild the bot is in: @everyone, a managed bot role, owner and bot members.
        ``shard=(k, n)`` gives it an id on shard k of n (its timestamp moved a few ms on)."""
        gid = self.snowflake()
        if shard is not None:
            stamp = (gid >> 22) + (shard[0] - (gid >> 22)) % shard[1]
            gid = (stamp << 22) | (gid & ((1 << 22) - 1))
        owner = self.add_user(owner_id)
        guild = P.SimGuild(gid, name, owner.id, preferred_locale=locale)
        guild.roles[gid] = P.SimRole(gid, gid, "@everyone", everyone_permissions)
        bot_role = P.SimRole(
            self.snowflake(),
            gid,
            self.bot_user.username,
            bot_permissions,
            position=1,
            managed=True,
            tags={"bot_id": str(self.bot_user.id)},
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = P.SimMember(gid, owner)
        guild.members[self.bot_user.id] = P.SimMember(gid, self.bot_user, [bot_role.id])
        self.guilds[gid] = guild
        self._queue_for_live_sessions(("GUILD_CREATE", guild, P.INTENT_GUILDS))
        return guild

    def add_channel(
        self,
        guild_id: int,
        name: str,
        type: int = P.CH_GUILD_TEXT,
        *,
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> P.SimChannel:
        guild = self.guilds[guild_id]
        channel = P.SimChannel(
            self.snowflake(),
            type,
            name,
            guild_id,
            parent_id=parent_id,
            position=len(guild.channel_ids),
            topic=topic,
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        self._queue_for_live_sessions(("CHANNEL_CREATE", channel, P.INTENT_GUILDS))
        return channel

    def add_role(
        self,
        guild_id: int,
        name: str,
        permissions: int = 0,
        *,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> P.SimRole:
        guild = self.guilds[guild_id]
        role = P.SimRole(
            self.snowflake(),
            guild_id,
            name,
            permissions,
            len(guild.roles),
            color,
            hoist,
            False,
            mentionable,
        )
        guild.roles[role.id] = role
        self._queue_for_live_sessions(
            (
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild_id), "role": P.role_payload(role)},
                P.INTENT_GUILDS,
            )
        )
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int | None = None,
        username: str | None = None,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        *,
        nick: str | None = None,
    ) -> P.SimMember:
        """Add (or update) a member; ``permissions`` overrides the role-computed value."""
        guild = self.guilds[guild_id]
        user = self.add_user(user_id, username)
        member = guild.members.get(user.id)
        if member is None:
            member = guild.members[user.id] = P.SimMember(guild_id, user)
            data = {**P.member_payload(member), "guild_id": str(guild_id)}
            self._queue_for_live_sessions(("GUILD_MEMBER_ADD", data, P.INTENT_GUILD_MEMBERS))
        member.roles = [int(r) for r in roles] or member.roles
        member.permissions = permissions
        member.nick = nick if nick is not None else member.nick
        return member

    def close_dms(self, user_id: int, closed: bool = True) -> None:
        """While closed, sending to the user's DM channel fails with 403 / 50007."""
        (self.closed_dms.add if closed else self.closed_dms.discard)(user_id)

    def fail_thread_member_add(self, user_id: int, code: int | None = 50001) -> None:
        """Make ``PUT /channels/{thread}/thread-members/{user_id}`` fail with ``code`` (None clears)."""
        if code is None:
            self.thread_member_failures.pop(user_id, None)
        else:
            self.thread_member_failures[user_id] = code

    # ------------------------------------------------------------------ message nonces

    def message_for_nonce(self, author_id: int, nonce: Any) -> dict[str, Any] | None:
        """The message this author created with this nonce within the window, if it still exists."""
        seen = self.nonces.get((author_id, str(nonce)))
        if seen is None or time.monotonic() - seen[0] > self.nonce_window:
            return None
        return self.messages.get(seen[1])

    def remember_nonce(self, author_id: int, nonce: Any, message: dict[str, Any]) -> None:
        self.nonces[(author_id, str(nonce))] = (time.monotonic(), int(message["id"]))

    # ------------------------------------------------------------------ failure injection

    def _norm_prefix(self, prefix: str) -> str:
        for head in (self.api_base, "/api/v10"):
            if prefix.startswith(head):
                return prefix[len(head) :]
        return prefix

    def rate_limit_next(
        self,
        method: str,
        path_prefix: str,
        retry_after: float = 0.3,
        count: int = 1,
        *,
        is_global: bool = False,
    ) -> Rule:
        """Answer the next ``count`` matching requests with a 429 (``method`` may be ``*``)."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        rule = Rule(
            method.upper(), self._norm_prefix(path_prefix), count, 429, body, retry_after, is_global
        )
        self.rest.rules.append(rule)
        return rule

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int = 500,
        code: int = 0,
        message: str | None = None,
        count: int = 1,
        errors: dict | None = None,
    ) -> Rule:
        """Answer the next ``count`` matching requests with a Discord-shaped error."""
        body = ApiError(status, code, message, errors).body()
        rule = Rule(method.upper(), self._norm_prefix(path_prefix), count, status, body)
        self.rest.rules.append(rule)
        return rule

    # ------------------------------------------------------------------ recording

    def _record(self, recorded: Recorded) -> None:
        self.requests.append(recorded)
        for entry in list(self._waiters):
            predicate, fut = entry
            if fut.done():
                self._waiters.remove(entry)
                continue
            try:
                hit = predicate(recorded)
            except Exception as exc:  # surface predicate bugs in the waiting test
                self._waiters.remove(entry)
                fut.set_exception(exc)
                continue
            if hit:
                self._waiters.remove(entry)
                fut.set_result(recorded)

    async def wait_for_request(
        self,
        predicate: Callable[[Recorded], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        timeout: float = 5.0,
        include_past: bool = True,
    ) -> Recorded:
        """First recorded request (already seen, unless ``include_past=False``) that matches."""

        def match(r: Recorded) -> bool:
            if method is not None and r.method != method.upper():
                return False
            if path is not None and r.path != self._norm_prefix(path):
                return False
            if path_prefix is not None and not r.path.startswith(self._norm_prefix(path_prefix)):
                return False
            return predicate is None or predicate(r)

        if include_past:
            for r in self.requests:
                if match(r):
                    return r
        fut: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, fut))
        return await asyncio.wait_for(fut, timeout)

    def requests_to(self, method: str, path_prefix: str) -> list[Recorded]:
        prefix = self._norm_prefix(path_prefix)
        return [
            r for r in self.requests if r.method == method.upper() and r.path.startswith(prefix)
        ]

    # ------------------------------------------------------------------ gateway controls

    @property
    def identify_payloads(self) -> list[dict[str, Any]]:
        return self.gateway.identifies

    @property
    def last_intents(self) -> int | None:
        return self.gateway.identifies[-1].get("intents") if self.gateway.identifies else None

    @property
    def sessions(self) -> list[GatewaySession]:
        return list(self.gateway.sessions.values())

    async def disconnect(self, code: int | None = 4000, resumable: bool = True) -> int:
        """Drop the bot's gateway socket (``code=None``: abort TCP without a close frame)."""
        return await self.gateway.disconnect(code, resumable=resumable)

    async def invalid_session(self, resumable: bool = False) -> None:
        await self.gateway.invalid_session(resumable)

    async def request_reconnect(self) -> None:
        await self.gateway.request_reconnect()

    async def dispatch(self, event: str, data: Any, *, intent: int = 0) -> int:
        await self.flush()
        return await self.gateway.dispatch(event, data, intent=intent)

    async def flush(self) -> None:
        """Send the gateway events queued by the synchronous ``add_*`` methods.

        They are flushed automatically (a task is scheduled when one is queued, and every
        dispatch flushes first); await this to be sure they went out before going on."""
        async with self._flush_lock:
            while self._pending:
                event, data, intent = self._pending.pop(0)
                if event == "GUILD_CREATE":
                    guild = data
                    await self.gateway.dispatch(
                        event,
                        None,
                        intent=intent,
                        guild_id=guild.id,
                        transform=lambda s, _d, g=guild: self._guild_create_payload(g, s.intents),
                    )
                elif event == "CHANNEL_CREATE":
                    await self.gateway.dispatch(event, self._channel_payload(data), intent=intent)
                else:
                    await self.gateway.dispatch(event, data, intent=intent)

    def _queue_for_live_sessions(self, item: tuple[str, Any, int]) -> None:
        """World changes made while the bot is connected become gateway events."""
        if not self.gateway.live_sessions():
            return
        self._pending.append(item)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.flush())
        self._flush_tasks.add(task)
        task.add_done_callback(self._flush_tasks.discard)

    # ------------------------------------------------------------------ interactions

    async def _send_interaction(
        self,
        itype: int,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        data: dict[str, Any],
        *,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        payload, iid, cid, token = base_payload(
            self,
            itype=itype,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
            locale=locale,
            message=message,
        )
        handle = InteractionHandle(self, iid, token, itype, payload, guild_id, cid, user_id)
        if message is not None:
            handle.source_message_id = int(message["id"])
        self.interactions[token] = handle
        await self.flush()
        if not await self.gateway.dispatch("INTERACTION_CREATE", payload):
            raise RuntimeError("no live gateway session to deliver the interaction to")
        return handle

    async def send_slash_command(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        subcommand: str | Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a CHAT_INPUT command. ``name`` may hold the path (``"demo say"``);
        ``options`` maps option names to values (typed from the registered command),
        or is a raw list of option dicts. ``guild_id=None`` sends it from the user's DM."""
        data = build_command_data(
            self,
            user_id=user_id,
            name=name,
            guild_id=guild_id,
            options=options,
            subcommand=subcommand,
            locale=locale,
        )
        return await self._send_interaction(
            IT_APPLICATION_COMMAND, guild_id, channel_id, user_id, data, locale=locale
        )

    async def send_autocomplete(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        subcommand: str | Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        data = build_command_data(
            self,
            user_id=user_id,
            name=name,
            guild_id=guild_id,
            options=options,
            subcommand=subcommand,
            focused=focused,
            locale=locale,
        )
        return await self._send_interaction(
            IT_AUTOCOMPLETE, guild_id, channel_id, user_id, data, locale=locale
        )

    async def send_component(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        custom_id: str,
        component_type: int = 2,
        message: dict[str, Any] | int | None = None,
        *,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a MESSAGE_COMPONENT press. ``message`` is a stored message (dict or id);
        by default the newest message in the channel carrying ``custom_id`` (or a synthetic
        bot message with such a button)."""
        if guild_id is None and channel_id is None:
            channel_id = self._dm_channel_for(user_id).id
        msg = self._component_message(channel_id, custom_id, component_type, message)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type in (3, 5, 6, 7, 8):
            data["values"] = list(values or [])
        return await self._send_interaction(
            IT_MESSAGE_COMPONENT, guild_id, channel_id, user_id, data, locale=locale, message=msg
        )

    async def send_modal_submit(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        custom_id: str,
        components: Sequence[dict[str, Any]] | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        message: dict[str, Any] | int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a MODAL_SUBMIT. Give raw ``components`` or ``values`` by input custom_id;
        values are laid out like the modal the bot opened with ``custom_id``."""
        if components is None:
            components = modal_submit_components(self.modals.get(custom_id), values or {})
        data = {"custom_id": custom_id, "components": list(components)}
        msg = self.messages.get(message) if isinstance(message, int) else message
        return await self._send_interaction(
            IT_MODAL_SUBMIT, guild_id, channel_id, user_id, data, locale=locale, message=msg
        )

    async def send_context_menu(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        target_id: int,
        *,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a USER (target is a user id) or MESSAGE (target is a stored message id)
        context-menu command."""
        ctype = 3 if target_id in self.messages else 2
        cmd, cmd_guild = self.find_command(name, guild_id, ctype)
        if cmd is None and self.has_registered_commands():
            raise LookupError(f"the bot registered no context menu {name!r} (type {ctype})")
        resolved: dict[str, Any]
        if ctype == 3:
            resolved = {"messages": {str(target_id): self.messages[target_id]}}
        else:
            resolved = {"users": {str(target_id): P.user_payload(self.users[target_id])}}
            member = self.guilds[guild_id].members.get(target_id) if guild_id else None
            if member is not None and guild_id is not None:
                resolved["members"] = {
                    str(target_id): {
                        **P.member_payload(member, with_user=False),
                        "permissions": str(P.base_permissions(self.guilds[guild_id], member)),
                    }
                }
        data: dict[str, Any] = {
            "id": str(cmd["id"]) if cmd else str(self.snowflake()),
            "name": name,
            "type": ctype,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if cmd_guild is not None:
            data["guild_id"] = str(cmd_guild)
        return await self._send_interaction(
            IT_APPLICATION_COMMAND, guild_id, channel_id, user_id, data, locale=locale
        )

    def _component_message(
        self,
        channel_id: int | None,
        custom_id: str,
        ctype: int,
        message: dict[str, Any] | int | None,
    ) -> dict[str, Any]:
        if isinstance(message, int):
            return self.messages[message]
        if isinstance(message, dict):
            return message
        for msg in reversed(list(self.messages.values())):
            if msg["channel_id"] == str(channel_id) and custom_id in _custom_ids(
                msg.get("components", [])
            ):
                return msg
        channel = self.channels[channel_id or 0]
        component = {"type": ctype, "custom_id": custom_id, "id": 2}
        if ctype == 2:
            component.update({"style": 1, "label": custom_id})
        body = {"content": "", "components": [{"type": 1, "id": 1, "components": [component]}]}
        return self.create_message(channel, self.bot_user, body, [])

    def find_command(
        self, name: str, guild_id: int | None, command_type: int = 1
    ) -> tuple[dict[str, Any] | None, int | None]:
        if guild_id is not None:
            for cmd in self.commands.get(guild_id, []):
                if cmd["name"] == name and cmd.get("type", 1) == command_type:
                    return cmd, guild_id
        for cmd in self.commands.get(None, []):
            if cmd["name"] == name and cmd.get("type", 1) == command_type:
                if guild_id is None:
                    contexts = cmd.get("contexts")
                    if cmd.get("dm_permission") is False or (
                        contexts is not None and 1 not in contexts
                    ):
                        return None, None
                elif cmd.get("contexts") is not None and 0 not in cmd["contexts"]:
                    return None, None
                return cmd, None
        return None, None

    def default_command_name(
        self, name: str, guild_id: int | None, locale: str, command_type: int = 1
    ) -> str:
        """The registered command a client in `locale` shows as `name` (its default name)."""
        for scope in (guild_id, None):
            for cmd in self.commands.get(scope, []):
                localized = cmd.get("name_localizations") or {}
                if cmd.get("type", 1) == command_type and localized.get(locale) == name:
                    return str(cmd["name"])
        return name

    def has_registered_commands(self) -> bool:
        return any(self.commands.values())

    # ------------------------------------------------------------------ simulated users

    async def send_user_message(
        self, channel_id: int, user_id: int, content: str
    ) -> dict[str, Any]:
        """A member posts a message (MESSAGE_CREATE; content hidden without MESSAGE_CONTENT)."""
        channel = self.channels[channel_id]
        message = self.create_message(channel, self.users[user_id], {"content": content}, [])
        await self._dispatch_message("MESSAGE_CREATE", message)
        return message

    def channel_messages(self, channel_id: int, *, ephemeral: bool = True) -> list[dict[str, Any]]:
        """Messages stored for a channel, oldest first (ephemeral ones unless excluded)."""
        return [
            m
            for m in self.messages.values()
            if m["channel_id"] == str(channel_id)
            and (ephemeral or not int(m["flags"]) & P.FLAG_EPHEMERAL)
        ]
