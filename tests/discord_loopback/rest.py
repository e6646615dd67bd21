"""The loopback REST API (Discord API v10 subset): request recording, rate-limit
headers, injected 429s/errors, Discord-shaped error bodies, and dispatch to the
route mixins (``routes_app``, ``routes_channels``)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .restkit import (
    _ROUTES,
    API_PREFIX,
    ApiError,
    Ctx,
    Recorded,
    RecordedFile,
    Reply,
    Rule,
    _dumps,
    form_error,
)
from .routes_app import AppRoutes
from .routes_channels import ChannelRoutes
from .spec import discord_spec

if TYPE_CHECKING:
    from .server import LoopbackDiscord

__all__ = ["ApiError", "Recorded", "RecordedFile", "Reply", "RestApi", "Rule", "form_error"]


class RestApi(AppRoutes, ChannelRoutes):
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
        if request.method == "GET" and full_path.startswith("/attachments/"):
            # CDN stand-in for uploaded files (Attachment.read() fetches these, unauthenticated)
            parts = full_path.split("/")
            data = (
                server.attachment_data.get(int(parts[3]))
                if len(parts) > 3 and parts[3].isdigit()
                else None
            )
            if data is not None:
                return web.Response(body=data)
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
                if server.validate_requests:
                    # What Discord's own specification rejects is rejected here too (spec.py).
                    problems = discord_spec().problems(request.method, path, body_json, recorded.query)
                    if problems is not None:
                        raise ApiError(400, 50035, errors=problems)
                ctx = Ctx(request, params, body_json, files, recorded.query, recorded, on_done)
                for hook in list(server.request_hooks):
                    await hook(recorded, "before")
                result = await getattr(self, handler_name)(ctx)
                for hook in list(server.request_hooks):
                    await hook(recorded, "after")
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
                if rule.count <= 0:
                    self.rules.remove(rule)
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
