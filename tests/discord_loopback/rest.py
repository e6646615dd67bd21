"""The loopback REST API (Discord API v10 subset), with request recording,
rate-limit headers, injected 429s/errors and Discord-shaped error bodies."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads as P
from .interactions import (
    ALLOWED_CALLBACKS,
    CB_AUTOCOMPLETE_RESULT,
    CB_CHANNEL_MESSAGE,
    CB_DEFERRED_CHANNEL_MESSAGE,
    CB_DEFERRED_UPDATE_MESSAGE,
    CB_MODAL,
    CB_UPDATE_MESSAGE,
    InteractionHandle,
)

if TYPE_CHECKING:
    from .server import LoopbackDiscord

API_PREFIX = "/api/v10"

ERROR_MESSAGES = {
    0: "General error",
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10007: "Unknown Member",
    10008: "Unknown Message",
    10011: "Unknown Role",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    10063: "Unknown application command",
    20012: "You are not authorized to perform this action on this application",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50005: "Cannot edit a message authored by another user",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50033: "Invalid Recipient(s)",
    50035: "Invalid Form Body",
    50083: "Operation cannot be performed on an archived thread",
    160004: "A thread has already been created for this message",
}


class ApiError(Exception):
    """Raised by handlers; rendered as Discord's JSON error body."""

    def __init__(
        self, status: int, code: int, message: str | None = None, errors: dict | None = None
    ):
        super().__init__(message or ERROR_MESSAGES.get(code, "Error"))
        self.status = status
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Error")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def form_error(field_name: str, code: str, message: str) -> ApiError:
    return ApiError(
        400, 50035, errors={field_name: {"_errors": [{"code": code, "message": message}]}}
    )


@dataclass
class RecordedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Recorded:
    """One HTTP request the bot made. ``path`` is relative to ``api_base``."""

    method: str
    path: str
    json: Any
    headers: dict[str, str]
    files: list[RecordedFile] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response: Any = None
    route: str | None = None  # matched route template; None = unknown endpoint
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Reply:
    status: int = 204
    body: Any = None


@dataclass
class Rule:
    """An injected failure: the next ``count`` matching requests get this answer."""

    method: str
    prefix: str
    count: int
    status: int
    body: dict[str, Any]
    retry_after: float | None = None
    is_global: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and path.startswith(self.prefix)


@dataclass
class Ctx:
    request: web.Request
    params: dict[str, str]
    json: Any
    files: list[RecordedFile]
    query: dict[str, str]
    recorded: Recorded
    on_done: list[Callable[[Recorded], None]] = field(default_factory=list)

    def int_param(self, name: str, code: int) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, code) from None


Handler = Callable[["RestApi", Ctx], Awaitable[Any]]
_ROUTES: list[tuple[str, str, re.Pattern[str], str, bool]] = []


def route(method: str, template: str, *, auth: bool = True):
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

    def deco(fn):
        _ROUTES.append((method, template, pattern, fn.__name__, auth))
        return fn

    return deco


class RestApi:
    def __init__(self, server: LoopbackDiscord) -> None:
        self.server = server
        self.rules: list[Rule] = []
        self.rate_limit = 50  # advertised X-RateLimit-Limit per bucket and window
        self.rate_window = 1.0
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    # ------------------------------------------------------------------ plumbing

    async def handle(self, request: web.Request) -> web.Response:
        server = self.server
        full_path = request.rel_url.raw_path
        path = full_path[len(API_PREFIX) :] if full_path.startswith(API_PREFIX + "/") else full_path
        body_json, files = await self._read_body(request)
        recorded = Recorded(
            method=request.method,
            path=path,
            json=body_json,
            headers=dict(request.headers),
            files=files,
            query=dict(request.query),
        )
        headers: dict[str, str] = {"Via": "1.1 google"}
        on_done: list[Callable[[Recorded], None]] = []  # run once status/response are set
        try:
            match = (
                self._match(request.method, path)
                if full_path.startswith(API_PREFIX + "/")
                else None
            )
            if match is None:
                server.unhandled.append(recorded)
                raise ApiError(404, 0, "404: Not Found")
            template, params, handler_name, auth = match
            recorded.route = template
            if auth and request.headers.get("Authorization") != f"Bot {server.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            bucket, major = self._bucket(request.method, template, params)
            rule = self._take_rule(request.method, path)
            if rule is not None and rule.status == 429:
                status, body = 429, dict(rule.body)
                headers.update(self._limit_headers(bucket, major, rule=rule))
            else:
                headers.update(self._limit_headers(bucket, major))
                if rule is not None:
                    raise ApiError(
                        rule.status,
                        rule.body.get("code", 0),
                        rule.body.get("message"),
                        rule.body.get("errors"),
                    )
                ctx = Ctx(request, params, body_json, files, recorded.query, recorded, on_done)
                result = await getattr(self, handler_name)(ctx)
                if isinstance(result, Reply):
                    status, body = result.status, result.body
                else:
                    status, body = 200, result
        except ApiError as exc:
            status, body = exc.status, exc.body()
        recorded.status = status
        recorded.response = body
        for callback in on_done:
            callback(recorded)
        server._record(recorded)
        if status == 204 or body is None:
            return web.Response(status=status, headers=headers)
        # discord.py only parses bodies whose Content-Type is exactly "application/json".
        headers["Content-Type"] = "application/json"
        return web.Response(body=_dumps(body).encode(), status=status, headers=headers)

    def _match(self, method: str, path: str):
        for rmethod, template, pattern, handler, auth in _ROUTES:
            if rmethod != method:
                continue
            m = pattern.match(path)
            if m:
                return template, m.groupdict(), handler, auth
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        files: list[RecordedFile] = []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    data = await part.read(decode=False)
                    files.append(
                        RecordedFile(
                            part.name or "",
                            part.filename,
                            part.headers.get("Content-Type"),
                            bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return raw.decode(errors="replace"), files

    def _take_rule(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(method, path):
                rule.count -= 1
                return rule
        return None

    def _bucket(self, method: str, template: str, params: dict[str, str]) -> tuple[str, str]:
        bucket = hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:32]
        major = "+".join(params[k] for k in ("channel_id", "guild_id", "token") if k in params)
        return bucket, major

    def _limit_headers(self, bucket: str, major: str, rule: Rule | None = None) -> dict[str, str]:
        now = time.time()
        if rule is not None:
            retry = float(rule.retry_after or 0)
            headers = {
                "Retry-After": str(max(1, math.ceil(retry))),
                "X-RateLimit-Scope": "global" if rule.is_global else "user",
            }
            if rule.is_global:
                headers["X-RateLimit-Global"] = "true"
                return headers
            headers.update(
                {
                    "X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{now + retry:.3f}",
                    "X-RateLimit-Reset-After": f"{retry:.3f}",
                    "X-RateLimit-Bucket": bucket,
                }
            )
            return headers
        reset_at, used = self._windows.get((bucket, major), (0.0, 0))
        if now >= reset_at:
            reset_at, used = now + self.rate_window, 0
        used += 1
        self._windows[(bucket, major)] = (reset_at, used)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - used, 0)),
            "X-RateLimit-Reset": f"{reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{max(reset_at - now, 0.0):.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    # ------------------------------------------------------------------ lookups

    def _channel(self, ctx: Ctx, name: str = "channel_id") -> P.SimChannel:
        cid = ctx.int_param(name, 10003)
        channel = self.server.channels.get(cid)
        if channel is None:
            raise ApiError(404, 10003)
        return channel

    def _guild(self, ctx: Ctx) -> P.SimGuild:
        guild = self.server.guilds.get(ctx.int_param("guild_id", 10004))
        if guild is None:
            raise ApiError(404, 10004)
        return guild

    def _message(self, ctx: Ctx, channel: P.SimChannel) -> dict[str, Any]:
        msg = self.server.messages.get(ctx.int_param("message_id", 10008))
        if msg is None or msg["channel_id"] != str(channel.id):
            raise ApiError(404, 10008)
        return msg

    def _app(self, ctx: Ctx) -> None:
        if ctx.params.get("application_id") != str(self.server.application_id):
            raise ApiError(403, 20012)

    def _interaction_for_webhook(self, ctx: Ctx) -> InteractionHandle:
        handle = self.server.interactions.get(ctx.params["token"])
        if (
            handle is None
            or ctx.params["application_id"] != str(self.server.application_id)
            or not handle.acknowledged
        ):
            raise ApiError(404, 10015)
        return handle

    # ------------------------------------------------------------------ gateway / users / application

    @route("GET", "/gateway", auth=False)
    async def get_gateway(self, ctx: Ctx) -> Any:
        return {"url": self.server.gateway_url}

    @route("GET", "/gateway/bot")
    async def get_gateway_bot(self, ctx: Ctx) -> Any:
        return {
            "url": self.server.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }

    @route("GET", "/users/@me")
    async def get_me(self, ctx: Ctx) -> Any:
        return P.self_user_payload(self.server.bot_user)

    @route("GET", "/users/@me/guilds")
    async def get_my_guilds(self, ctx: Ctx) -> Any:
        return [
            {
                "id": str(g.id),
                "name": g.name,
                "icon": None,
                "banner": None,
                "owner": False,
                "permissions": "0",
                "features": [],
            }
            for g in self.server.guilds.values()
        ]

    @route("GET", "/users/{user_id}")
    async def get_user(self, ctx: Ctx) -> Any:
        user = self.server.users.get(ctx.int_param("user_id", 10013))
        if user is None:
            raise ApiError(404, 10013)
        return P.user_payload(user)

    @route("POST", "/users/@me/channels")
    async def create_dm(self, ctx: Ctx) -> Any:
        body = ctx.json or {}
        try:
            user_id = int(body.get("recipient_id"))
        except (TypeError, ValueError):
            raise form_error(
                "recipient_id", "BASE_TYPE_REQUIRED", "This field is required"
            ) from None
        if user_id not in self.server.users or user_id == self.server.bot_user.id:
            raise ApiError(400, 50033)
        return P.channel_payload(self.server._dm_channel_for(user_id))

    @route("GET", "/oauth2/applications/@me")
    async def get_application_oauth(self, ctx: Ctx) -> Any:
        return self.server._application_payload()

    @route("GET", "/applications/@me")
    async def get_application(self, ctx: Ctx) -> Any:
        return self.server._application_payload()

    # ------------------------------------------------------------------ application commands

    @route("GET", "/applications/{application_id}/commands")
    async def get_global_commands(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self.server.commands.get(None, [])

    @route("PUT", "/applications/{application_id}/commands")
    async def put_global_commands(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self._store_commands(None, ctx.json)

    @route("POST", "/applications/{application_id}/commands")
    async def post_global_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self._upsert_command(None, ctx.json)

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def get_guild_commands(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self.server.commands.get(self._guild(ctx).id, [])

    @route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def put_guild_commands(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self._store_commands(self._guild(ctx).id, ctx.json)

    @route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def post_guild_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self._upsert_command(self._guild(ctx).id, ctx.json)

    def _command(self, ctx: Ctx, guild_id: int | None) -> tuple[list[dict[str, Any]], int]:
        commands = self.server.commands.get(guild_id, [])
        for i, cmd in enumerate(commands):
            if cmd["id"] == ctx.params["command_id"]:
                return commands, i
        raise ApiError(404, 10063)

    @route("GET", "/applications/{application_id}/commands/{command_id}")
    async def get_global_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        commands, i = self._command(ctx, None)
        return commands[i]

    @route("PATCH", "/applications/{application_id}/commands/{command_id}")
    async def edit_global_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self._patch_command(ctx, None)

    @route("DELETE", "/applications/{application_id}/commands/{command_id}")
    async def delete_global_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        commands, i = self._command(ctx, None)
        del commands[i]
        return Reply(204)

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def get_guild_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        commands, i = self._command(ctx, self._guild(ctx).id)
        return commands[i]

    @route("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def edit_guild_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        return self._patch_command(ctx, self._guild(ctx).id)

    @route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def delete_guild_command(self, ctx: Ctx) -> Any:
        self._app(ctx)
        commands, i = self._command(ctx, self._guild(ctx).id)
        del commands[i]
        return Reply(204)

    def _patch_command(self, ctx: Ctx, guild_id: int | None) -> dict[str, Any]:
        commands, i = self._command(ctx, guild_id)
        fields = ("id", "application_id", "version", "guild_id")
        merged = {k: v for k, v in commands[i].items() if k not in fields}
        merged.update(ctx.json or {})
        err = P.validate_command(merged)
        if err:
            raise ApiError(400, 50035, errors=err)
        commands[i] = self._render_command(guild_id, merged, commands[i])
        return commands[i]

    def _store_commands(self, guild_id: int | None, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, list):
            raise ApiError(
                400,
                50035,
                errors={
                    "_errors": [
                        {
                            "code": "LIST_TYPE_CONVERT",
                            "message": "Only iterables may be used in a ListType",
                        }
                    ]
                },
            )
        errors: dict[str, Any] = {}
        seen: set[tuple[int, str]] = set()
        for i, cmd in enumerate(body):
            err = P.validate_command(cmd)
            key = (cmd.get("type", 1), cmd.get("name")) if isinstance(cmd, dict) else None
            if key in seen:
                err.setdefault("name", {"_errors": []})["_errors"].append(
                    {
                        "code": "APPLICATION_COMMANDS_DUPLICATE_NAME",
                        "message": "Application command names must be unique",
                    }
                )
            seen.add(key)
            if err:
                errors[str(i)] = err
        if errors:
            raise ApiError(400, 50035, errors=errors)
        previous = {(c["type"], c["name"]): c for c in self.server.commands.get(guild_id, [])}
        stored = []
        for cmd in body:
            old = previous.get((cmd.get("type", 1), cmd["name"]))
            stored.append(self._render_command(guild_id, cmd, old))
        self.server.commands[guild_id] = stored
        return stored

    def _upsert_command(self, guild_id: int | None, cmd: Any) -> Any:
        err = P.validate_command(cmd)
        if err:
            raise ApiError(400, 50035, errors=err)
        current = self.server.commands.setdefault(guild_id, [])
        key = (cmd.get("type", 1), cmd["name"])
        for i, old in enumerate(current):
            if (old["type"], old["name"]) == key:
                current[i] = self._render_command(guild_id, cmd, old)
                return current[i]
        current.append(self._render_command(guild_id, cmd, None))
        return Reply(201, current[-1])

    def _render_command(
        self, guild_id: int | None, cmd: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        return P.command_payload(
            cmd,
            id=int(old["id"]) if old else self.server.snowflake(),
            application_id=self.server.application_id,
            guild_id=guild_id,
            version=self.server.snowflake(),
        )

    # ------------------------------------------------------------------ interactions & webhooks

    @route("POST", "/interactions/{interaction_id}/{token}/callback", auth=False)
    async def interaction_callback(self, ctx: Ctx) -> Any:
        server = self.server
        handle = server.interactions.get(ctx.params["token"])
        if handle is None or ctx.params["interaction_id"] != str(handle.id):
            raise ApiError(404, 10062)
        ctx.on_done.append(handle._on_callback)
        if handle.acknowledged:
            raise ApiError(400, 40060)
        deadline = server.interaction_deadline
        if deadline is not None and time.monotonic() - handle.created > deadline:
            raise ApiError(404, 10062)
        body = ctx.json if isinstance(ctx.json, dict) else {}
        ctype = body.get("type")
        data = body.get("data") or {}
        if ctype not in ALLOWED_CALLBACKS.get(handle.type, ()):
            raise form_error(
                "type",
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {ctype} is not valid for interaction type {handle.type}",
            )
        channel = server.channels[handle.channel_id]
        message: dict[str, Any] | None = None
        flags = int(data.get("flags") or 0)
        if ctype == CB_CHANNEL_MESSAGE:
            message = server.create_message(
                channel, server.bot_user, data, ctx.files, interaction=handle
            )
            handle.original_message_id = int(message["id"])
        elif ctype == CB_DEFERRED_CHANNEL_MESSAGE:
            loading = {"flags": P.FLAG_LOADING | (flags & P.FLAG_EPHEMERAL)}
            message = server.create_message(
                channel, server.bot_user, loading, [], interaction=handle, allow_empty=True
            )
            handle.original_message_id = int(message["id"])
            handle.deferred_thinking = True
            handle.deferred_ephemeral = bool(flags & P.FLAG_EPHEMERAL)
        elif ctype == CB_DEFERRED_UPDATE_MESSAGE:
            handle.original_message_id = handle.source_message_id
        elif ctype == CB_UPDATE_MESSAGE:
            source = server.messages.get(handle.source_message_id or 0)
            if source is None:
                raise ApiError(404, 10008)
            message = await server.edit_message(source, data, ctx.files)
            handle.original_message_id = int(message["id"])
        elif ctype == CB_AUTOCOMPLETE_RESULT:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise form_error(
                    "data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            handle.choices = choices
        elif ctype == CB_MODAL:
            comps = data.get("components") or []
            if not data.get("custom_id") or not data.get("title") or len(data["title"]) > 45:
                raise form_error(
                    "data", "MODAL_INVALID", "Modal needs custom_id and a title of 1-45 characters"
                )
            if not 1 <= len(comps) <= 5:
                raise form_error(
                    "data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
                )
            handle.modal = data
            server.modals[data["custom_id"]] = data
        handle.callback_type = ctype
        handle.callback_data = data
        if message is not None and not int(message["flags"]) & P.FLAG_EPHEMERAL:
            await server._dispatch_message(
                "MESSAGE_UPDATE" if ctype == CB_UPDATE_MESSAGE else "MESSAGE_CREATE", message
            )
        if ctx.query.get("with_response") not in ("1", "true", "True"):
            return Reply(204)
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            resource["message"] = message
        interaction: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        if message is not None:
            interaction.update(
                {
                    "response_message_id": message["id"],
                    "response_message_loading": ctype == CB_DEFERRED_CHANNEL_MESSAGE,
                    "response_message_ephemeral": bool(int(message["flags"]) & P.FLAG_EPHEMERAL),
                }
            )
        return {"interaction": interaction, "resource": resource}

    @route("POST", "/webhooks/{application_id}/{token}", auth=False)
    async def create_followup(self, ctx: Ctx) -> Any:
        server = self.server
        handle = self._interaction_for_webhook(ctx)
        body = dict(ctx.json or {})
        original = handle.original_message
        if (
            handle.deferred_thinking
            and original is not None
            and int(original["flags"]) & P.FLAG_LOADING
            and not handle.followups()
        ):
            # The first follow-up after a "thinking" deferral replaces the loading message.
            body["flags"] = (int(body.get("flags") or 0) & ~P.FLAG_EPHEMERAL) | (
                P.FLAG_EPHEMERAL if handle.deferred_ephemeral else 0
            )
            message = await server.edit_message(original, body, ctx.files, replace_flags=True)
        else:
            channel = server.channels[handle.channel_id]
            message = server.create_message(
                channel, server.bot_user, body, ctx.files, interaction=handle, followup=True
            )
            if not int(message["flags"]) & P.FLAG_EPHEMERAL:
                await server._dispatch_message("MESSAGE_CREATE", message)
        if ctx.query.get("wait") in ("1", "true", "True"):
            return message
        return Reply(204)

    def _webhook_message(self, ctx: Ctx, handle: InteractionHandle) -> dict[str, Any]:
        mid = ctx.params["message_id"]
        if mid == "@original":
            msg = handle.original_message
        else:
            msg = self.server.messages.get(int(mid)) if mid.isdigit() else None
            if msg is not None and msg.get("webhook_id") != str(self.server.application_id):
                msg = None
        if msg is None:
            raise ApiError(404, 10008)
        return msg

    @route("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
    async def get_webhook_message(self, ctx: Ctx) -> Any:
        return self._webhook_message(ctx, self._interaction_for_webhook(ctx))

    @route("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
    async def edit_webhook_message(self, ctx: Ctx) -> Any:
        msg = self._webhook_message(ctx, self._interaction_for_webhook(ctx))
        return await self.server.edit_message(msg, ctx.json or {}, ctx.files, clear_loading=True)

    @route("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", auth=False)
    async def delete_webhook_message(self, ctx: Ctx) -> Any:
        msg = self._webhook_message(ctx, self._interaction_for_webhook(ctx))
        await self.server.delete_message(msg)
        return Reply(204)

    # ------------------------------------------------------------------ channels & messages

    @route("GET", "/channels/{channel_id}")
    async def get_channel(self, ctx: Ctx) -> Any:
        return self.server._channel_payload(self._channel(ctx))

    @route("PATCH", "/channels/{channel_id}")
    async def edit_channel(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        body = ctx.json or {}
        for key in (
            "name",
            "topic",
            "archived",
            "locked",
            "invitable",
            "auto_archive_duration",
            "rate_limit_per_user",
            "nsfw",
        ):
            if key in body:
                setattr(channel, key, body[key])
        data = self.server._channel_payload(channel)
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        if channel.guild_id is not None:
            await self.server.gateway.dispatch(event, data, intent=P.INTENT_GUILDS)
        return data

    @route("POST", "/channels/{channel_id}/messages")
    async def create_message(self, ctx: Ctx) -> Any:
        server = self.server
        channel = self._channel(ctx)
        if channel.type == P.CH_DM:
            if channel.recipients and channel.recipients[0].id in server.closed_dms:
                raise ApiError(403, 50007)
        else:
            self._require_perms(
                channel, P.P_SEND_MESSAGES_IN_THREADS if channel.is_thread else P.P_SEND_MESSAGES
            )
        message = server.create_message(channel, server.bot_user, ctx.json or {}, ctx.files)
        await server._dispatch_message("MESSAGE_CREATE", message)
        return message

    def _require_perms(self, channel: P.SimChannel, bit: int) -> None:
        guild = self.server.guilds.get(channel.guild_id or 0)
        if guild is None:
            return
        perms = P.base_permissions(guild, guild.members[self.server.bot_user.id])
        if not perms & P.P_VIEW_CHANNEL:
            raise ApiError(403, 50001)
        if not perms & bit:
            raise ApiError(403, 50013)

    @route("GET", "/channels/{channel_id}/messages")
    async def list_messages(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        limit = max(1, min(int(ctx.query.get("limit", 50)), 100))
        before = int(ctx.query.get("before", 0)) or None
        after = int(ctx.query.get("after", 0)) or None
        msgs = [
            m
            for m in self.server.messages.values()
            if m["channel_id"] == str(channel.id) and not int(m["flags"]) & P.FLAG_EPHEMERAL
        ]
        if before:
            msgs = [m for m in msgs if int(m["id"]) < before]
        if after:
            msgs = [m for m in msgs if int(m["id"]) > after]
        msgs.sort(key=lambda m: int(m["id"]), reverse=True)
        return msgs[:limit]

    @route("GET", "/channels/{channel_id}/messages/pins")
    async def list_pins(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        pinned = [
            m
            for m in self.server.messages.values()
            if m["channel_id"] == str(channel.id) and m["pinned"]
        ]
        return {
            "items": [{"pinned_at": P.iso_now(), "message": m} for m in pinned],
            "has_more": False,
        }

    @route("GET", "/channels/{channel_id}/pins")
    async def list_pins_legacy(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        return [
            m
            for m in self.server.messages.values()
            if m["channel_id"] == str(channel.id) and m["pinned"]
        ]

    @route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def get_message(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        return self._message(ctx, channel)

    @route("PATCH", "/channels/{channel_id}/messages/{message_id}")
    async def edit_message(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        msg = self._message(ctx, channel)
        body = ctx.json or {}
        if msg["author"]["id"] != str(self.server.bot_user.id) and set(body) - {"flags"}:
            raise ApiError(403, 50005)
        return await self.server.edit_message(msg, body, ctx.files)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}")
    async def delete_message(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        await self.server.delete_message(self._message(ctx, channel))
        return Reply(204)

    async def _set_pinned(self, ctx: Ctx, pinned: bool) -> Reply:
        channel = self._channel(ctx)
        msg = self._message(ctx, channel)
        msg["pinned"] = pinned
        data: dict[str, Any] = {"channel_id": str(channel.id), "last_pin_timestamp": P.iso_now()}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        await self.server.gateway.dispatch(
            "CHANNEL_PINS_UPDATE",
            data,
            intent=P.INTENT_GUILDS if channel.guild_id else P.INTENT_DIRECT_MESSAGES,
        )
        return Reply(204)

    @route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
    async def pin(self, ctx: Ctx) -> Any:
        return await self._set_pinned(ctx, True)

    @route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
    async def unpin(self, ctx: Ctx) -> Any:
        return await self._set_pinned(ctx, False)

    @route("PUT", "/channels/{channel_id}/pins/{message_id}")
    async def pin_legacy(self, ctx: Ctx) -> Any:
        return await self._set_pinned(ctx, True)

    @route("DELETE", "/channels/{channel_id}/pins/{message_id}")
    async def unpin_legacy(self, ctx: Ctx) -> Any:
        return await self._set_pinned(ctx, False)

    @route("POST", "/channels/{channel_id}/typing")
    async def typing(self, ctx: Ctx) -> Any:
        self._channel(ctx)
        return Reply(204)

    @route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
    async def add_reaction(self, ctx: Ctx) -> Any:
        self._message(ctx, self._channel(ctx))
        return Reply(204)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
    async def remove_reaction(self, ctx: Ctx) -> Any:
        self._message(ctx, self._channel(ctx))
        return Reply(204)

    # ------------------------------------------------------------------ threads

    @route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def start_thread_from_message(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        msg = self._message(ctx, channel)
        if channel.type not in (P.CH_GUILD_TEXT, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if int(msg["id"]) in self.server.channels:
            raise ApiError(400, 160004)
        self._require_perms(channel, P.P_CREATE_PUBLIC_THREADS)
        body = ctx.json or {}
        thread = await self.server._create_thread(
            channel,
            body,
            thread_type=10 if channel.type == 5 else P.CH_PUBLIC_THREAD,
            thread_id=int(msg["id"]),
        )
        msg["flags"] = int(msg["flags"]) | (1 << 5)  # HAS_THREAD
        msg["thread"] = self.server._channel_payload(thread)
        return Reply(201, self.server._channel_payload(thread))

    @route("POST", "/channels/{channel_id}/threads")
    async def start_thread(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        body = ctx.json or {}
        if "message" in body:  # forum/media post
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        ttype = body.get("type")
        if ttype not in (10, P.CH_PUBLIC_THREAD, P.CH_PRIVATE_THREAD):
            raise form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}.")
        self._require_perms(
            channel,
            P.P_CREATE_PRIVATE_THREADS
            if ttype == P.CH_PRIVATE_THREAD
            else P.P_CREATE_PUBLIC_THREADS,
        )
        thread = await self.server._create_thread(channel, body, thread_type=ttype)
        return Reply(201, self.server._channel_payload(thread))

    def _thread(self, ctx: Ctx) -> P.SimChannel:
        thread = self._channel(ctx)
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return thread

    def _user_param(self, ctx: Ctx) -> int:
        raw = ctx.params["user_id"]
        return self.server.bot_user.id if raw == "@me" else ctx.int_param("user_id", 10013)

    @route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
    async def add_thread_member(self, ctx: Ctx) -> Any:
        thread = self._thread(ctx)
        user_id = self._user_param(ctx)
        code = self.server.thread_member_failures.get(user_id)
        if code is not None:
            raise ApiError(403 if code >= 50000 else 404, code)
        guild = self.server.guilds[thread.guild_id or 0]
        if user_id not in guild.members:
            raise ApiError(404, 10007)
        if thread.archived:
            raise ApiError(400, 50083)
        await self.server._add_thread_member(thread, user_id)
        return Reply(204)

    @route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
    async def remove_thread_member(self, ctx: Ctx) -> Any:
        thread = self._thread(ctx)
        thread.members.discard(self._user_param(ctx))
        return Reply(204)

    @route("GET", "/channels/{channel_id}/thread-members")
    async def list_thread_members(self, ctx: Ctx) -> Any:
        thread = self._thread(ctx)
        return [
            P.thread_member_payload(thread.id, uid, thread.created_at)
            for uid in sorted(thread.members)
        ]

    @route("GET", "/channels/{channel_id}/thread-members/{user_id}")
    async def get_thread_member(self, ctx: Ctx) -> Any:
        thread = self._thread(ctx)
        uid = self._user_param(ctx)
        if uid not in thread.members:
            raise ApiError(404, 10007)
        return P.thread_member_payload(thread.id, uid, thread.created_at)

    # ------------------------------------------------------------------ guilds

    @route("GET", "/guilds/{guild_id}")
    async def get_guild(self, ctx: Ctx) -> Any:
        return self.server._guild_payload(self._guild(ctx))

    @route("GET", "/guilds/{guild_id}/channels")
    async def get_guild_channels(self, ctx: Ctx) -> Any:
        guild = self._guild(ctx)
        return [
            self.server._channel_payload(self.server.channels[c])
            for c in guild.channel_ids
            if not self.server.channels[c].is_thread
        ]

    @route("GET", "/guilds/{guild_id}/roles")
    async def get_guild_roles(self, ctx: Ctx) -> Any:
        return [P.role_payload(r) for r in self._guild(ctx).roles.values()]

    @route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def get_member(self, ctx: Ctx) -> Any:
        guild = self._guild(ctx)
        member = guild.members.get(ctx.int_param("user_id", 10013))
        if member is None:
            raise ApiError(404, 10007)
        return P.member_payload(member)

    @route("GET", "/guilds/{guild_id}/threads/active")
    async def get_active_threads(self, ctx: Ctx) -> Any:
        guild = self._guild(ctx)
        threads = [
            self.server.channels[c] for c in guild.channel_ids if self.server.channels[c].is_thread
        ]
        active = [t for t in threads if not t.archived]
        return {
            "threads": [self.server._channel_payload(t) for t in active],
            "members": [
                P.thread_member_payload(t.id, self.server.bot_user.id, t.created_at)
                for t in active
                if self.server.bot_user.id in t.members
            ],
        }


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
