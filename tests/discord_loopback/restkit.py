"""Building blocks of the loopback REST API: Discord-shaped errors, request records,
injected-failure rules, the per-request context and the route table."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads as P

if TYPE_CHECKING:
    from .interactions import InteractionHandle
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


Handler = Callable[[Any, Ctx], Awaitable[Any]]
_ROUTES: list[tuple[str, str, re.Pattern[str], str, bool]] = []


def route(method: str, template: str, *, auth: bool = True):
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

    def deco(fn):
        _ROUTES.append((method, template, pattern, fn.__name__, auth))
        return fn

    return deco


class RouteBase:
    """Shared lookups for the route mixins (``server`` is the LoopbackDiscord)."""

    server: LoopbackDiscord

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


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
