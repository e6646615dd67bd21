"""REST routes for channels, messages, pins, threads, thread members and guilds."""

from __future__ import annotations

from typing import Any

from . import payloads as P
from .restkit import ApiError, Ctx, Reply, RouteBase, form_error, route
from .spec import discord_spec


class ChannelRoutes(RouteBase):
    # ------------------------------------------------------------------ channels & messages

    @route("GET", "/channels/{channel_id}")
    async def get_channel(self, ctx: Ctx) -> Any:
        return self.server._channel_payload(self._channel(ctx))

    @route("PATCH", "/channels/{channel_id}")
    async def edit_channel(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        body = ctx.json or {}
        if channel.is_thread and self.server.validate_requests:
            problems = discord_spec().schema_problems("UpdateThreadRequestPartial", body)
            if problems is not None:
                raise ApiError(400, 50035, errors=problems)
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
        body = ctx.json or {}
        # enforce_nonce: the same author's nonce seen in the last few minutes returns the message
        # it created, and nothing new is posted (Discord's documented de-duplication).
        nonce = body.get("nonce")
        enforced = nonce is not None and bool(body.get("enforce_nonce"))
        if enforced:
            earlier = server.message_for_nonce(server.bot_user.id, nonce)
            if earlier is not None:
                return earlier
        message = server.create_message(channel, server.bot_user, body, ctx.files)
        if enforced:
            server.remember_nonce(server.bot_user.id, nonce, message)
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
        return [self.server.rest_view(m) for m in msgs[:limit]]

    @route("GET", "/channels/{channel_id}/messages/pins")
    async def list_pins(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        pinned = [
            m
            for m in self.server.messages.values()
            if m["channel_id"] == str(channel.id) and m["pinned"]
        ]
        return {
            "items": [
                {"pinned_at": P.iso_now(), "message": self.server.rest_view(m)} for m in pinned
            ],
            "has_more": False,
        }

    @route("GET", "/channels/{channel_id}/pins")
    async def list_pins_legacy(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        return [
            self.server.rest_view(m)
            for m in self.server.messages.values()
            if m["channel_id"] == str(channel.id) and m["pinned"]
        ]

    @route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def get_message(self, ctx: Ctx) -> Any:
        channel = self._channel(ctx)
        return self.server.rest_view(self._message(ctx, channel))

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
