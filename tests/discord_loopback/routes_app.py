"""REST routes for the gateway URL, the bot user and application, application
commands, interaction callbacks and interaction webhooks (follow-ups, @original)."""

from __future__ import annotations

import time
from typing import Any

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
from .restkit import ApiError, Ctx, Reply, RouteBase, form_error, route


class AppRoutes(RouteBase):
    # ------------------------------------------------------------------ gateway / users / application

    @route("GET", "/gateway", auth=False)
    async def get_gateway(self, ctx: Ctx) -> Any:
        return {"url": self.server.gateway_url}

    @route("GET", "/gateway/bot")
    async def get_gateway_bot(self, ctx: Ctx) -> Any:
        return {
            "url": self.server.gateway_url,
            "shards": max(1, -(-len(self.server.guilds) // self.server.guilds_per_recommended_shard)),
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
