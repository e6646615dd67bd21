"""The mutable side of the simulated Discord: messages, threads, DM channels and the
Discord-shaped payloads (READY, GUILD_CREATE, guild, application) built from it.

Mixed into ``LoopbackDiscord``; REST handlers and test helpers both go through it, so
every change is stored once and dispatched to the gateway the way Discord would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import payloads as P
from .gateway import GatewaySession
from .interactions import IT_APPLICATION_COMMAND, InteractionHandle
from .restkit import ApiError, RecordedFile, form_error

if TYPE_CHECKING:
    from .gateway import GatewayHub

_MENTION_RE = re.compile(r"<@!?(\d+)>")
# Message flags a client may set when sending.
_SETTABLE_FLAGS = (1 << 2) | P.FLAG_EPHEMERAL | (1 << 12) | (1 << 15)


class WorldMixin:
    # provided by LoopbackDiscord
    snowflake: P.SnowflakeFactory
    application_id: int
    bot_user: P.SimUser
    owner_user: P.SimUser
    users: dict[int, P.SimUser]
    guilds: dict[int, P.SimGuild]
    channels: dict[int, P.SimChannel]
    messages: dict[int, dict[str, Any]]
    dm_channels: dict[int, int]
    attachment_data: dict[int, bytes]
    allowed_privileged_intents: int
    max_guilds_per_shard: int
    guilds_per_recommended_shard: int
    gateway: GatewayHub
    http_base: str
    resume_gateway_url: str

    async def dispatch(self, event: str, data: Any, *, intent: int = 0) -> int:
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ messages (world side)

    def create_message(
        self,
        channel: P.SimChannel,
        author: P.SimUser,
        body: Mapping[str, Any],
        files: list[RecordedFile],
        *,
        interaction: InteractionHandle | None = None,
        followup: bool = False,
        allow_empty: bool = False,
    ) -> dict[str, Any]:
        content = body.get("content") or ""
        content = content if isinstance(content, str) else str(content)
        if len(content) > 2000:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds = [{"type": "rich", **e} for e in body.get("embeds") or []]
        if len(embeds) > 10:
            raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        components = _with_component_ids(body.get("components") or [])
        attachments = self._attachments(channel.id, body, files)
        flags = int(body.get("flags") or 0) & (_SETTABLE_FLAGS | P.FLAG_LOADING)
        if not allow_empty and not (
            content
            or embeds
            or components
            or attachments
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise ApiError(400, 50006)
        mentions = [
            P.user_payload(self.users[int(u)])
            for u in dict.fromkeys(_MENTION_RE.findall(content))
            if int(u) in self.users
        ]
        mid = self.snowflake()
        kwargs: dict[str, Any] = {}
        if interaction is not None:
            kwargs = {
                "webhook_id": self.application_id,
                "application_id": self.application_id,
                "type": 20
                if interaction.type == IT_APPLICATION_COMMAND and not followup
                else 19
                if followup
                else 0,
                "interaction_metadata": {
                    "id": str(interaction.id),
                    "type": interaction.type,
                    "user": P.user_payload(self.users[interaction.user_id]),
                    "authorizing_integration_owners": interaction.payload[
                        "authorizing_integration_owners"
                    ],
                },
            }
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            target = self.messages.get(int(ref["message_id"]))
            if target is None and ref.get("fail_if_not_exists", True):
                raise form_error(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            kwargs["message_reference"] = {
                "type": 0,
                "message_id": str(ref["message_id"]),
                "channel_id": str(channel.id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            kwargs["type"] = 19
        message = P.message_payload(
            id=mid,
            channel_id=channel.id,
            author=author,
            content=content,
            embeds=embeds,
            components=components,
            attachments=attachments,
            flags=flags,
            tts=bool(body.get("tts")),
            mentions=mentions,
            **kwargs,
        )
        if "nonce" in body:
            message["nonce"] = body["nonce"]
        self.messages[mid] = message
        if not flags & P.FLAG_EPHEMERAL:
            channel.last_message_id = mid
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        return message

    def _attachments(
        self, channel_id: int, body: Mapping[str, Any], files: list[RecordedFile]
    ) -> list[dict[str, Any]]:
        meta = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        out = []
        for f in files:
            index = f.field[len("files[") : -1] if f.field.startswith("files[") else f.field
            info = meta.get(index, {})
            att_id = self.snowflake()
            filename = info.get("filename") or f.filename or "file"
            url = f"{self.http_base}/attachments/{channel_id}/{att_id}/{filename}"
            att = {
                "id": str(att_id),
                "filename": filename,
                "size": len(f.data),
                "url": url,
                "proxy_url": url,
                "content_type": f.content_type or "application/octet-stream",
            }
            if info.get("description"):
                att["description"] = info["description"]
            self.attachment_data[att_id] = f.data
            out.append(att)
        return out

    async def edit_message(
        self,
        msg: dict[str, Any],
        body: Mapping[str, Any],
        files: list[RecordedFile],
        *,
        clear_loading: bool = False,
        replace_flags: bool = False,
    ) -> dict[str, Any]:
        channel = self.channels[int(msg["channel_id"])]
        was_loading = bool(int(msg["flags"]) & P.FLAG_LOADING)
        if "content" in body:
            content = body["content"] or ""
            if len(content) > 2000:
                raise form_error(
                    "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
                )
            msg["content"] = content
            msg["mentions"] = [
                P.user_payload(self.users[int(u)])
                for u in dict.fromkeys(_MENTION_RE.findall(content))
                if int(u) in self.users
            ]
        if "embeds" in body:
            msg["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            msg["components"] = _with_component_ids(body["components"] or [])
        if "attachments" in body or files:
            keep = {str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)}
            kept = (
                [a for a in msg["attachments"] if a["id"] in keep]
                if "attachments" in body
                else msg["attachments"]
            )
            msg["attachments"] = kept + self._attachments(channel.id, body, files)
        flags = int(msg["flags"])
        if replace_flags:
            flags = int(body.get("flags") or 0) & _SETTABLE_FLAGS
        elif "flags" in body and body["flags"] is not None:
            flags = (flags & (P.FLAG_EPHEMERAL | P.FLAG_LOADING)) | (
                int(body["flags"]) & _SETTABLE_FLAGS & ~P.FLAG_EPHEMERAL
            )
        if clear_loading or replace_flags:
            flags &= ~P.FLAG_LOADING
        msg["flags"] = flags
        if not was_loading:
            msg["edited_timestamp"] = P.iso_now()
        if not flags & P.FLAG_EPHEMERAL:
            await self._dispatch_message("MESSAGE_UPDATE", msg)
        return msg

    async def delete_message(self, msg: dict[str, Any]) -> None:
        self.messages.pop(int(msg["id"]), None)
        channel = self.channels[int(msg["channel_id"])]
        if int(msg["flags"]) & P.FLAG_EPHEMERAL:
            return
        data: dict[str, Any] = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        await self.dispatch(
            "MESSAGE_DELETE",
            data,
            intent=P.INTENT_GUILD_MESSAGES if channel.guild_id else P.INTENT_DIRECT_MESSAGES,
        )

    async def _dispatch_message(self, event: str, msg: dict[str, Any]) -> None:
        channel = self.channels[int(msg["channel_id"])]
        data = dict(msg)
        intent = P.INTENT_DIRECT_MESSAGES
        if channel.guild_id is not None:
            intent = P.INTENT_GUILD_MESSAGES
            data["guild_id"] = str(channel.guild_id)
            member = self.guilds[channel.guild_id].members.get(int(msg["author"]["id"]))
            if member is not None:
                data["member"] = P.member_payload(member, with_user=False)

        def visible(session: GatewaySession, d: dict[str, Any]) -> dict[str, Any]:
            return self.as_seen_by_bot(d, bool(session.intents & P.INTENT_MESSAGE_CONTENT))

        await self.dispatch_transformed(event, data, intent, visible)

    def as_seen_by_bot(self, msg: dict[str, Any], content_intent: bool) -> dict[str, Any]:
        """Without MESSAGE_CONTENT, content/embeds/attachments/components come back empty,
        except in DMs, for the bot's own messages and for messages mentioning the bot."""
        bot_id = str(self.bot_user.id)
        channel = self.channels.get(int(msg["channel_id"]))
        exempt = (
            content_intent
            or channel is None
            or channel.guild_id is None
            or msg["author"]["id"] == bot_id
            or any(m["id"] == bot_id for m in msg.get("mentions", []))
        )
        if exempt:
            return msg
        return {**msg, "content": "", "embeds": [], "attachments": [], "components": []}

    def rest_view(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A message as REST returns it: the portal's MESSAGE_CONTENT switch applies."""
        allowed = bool(self.allowed_privileged_intents & P.INTENT_MESSAGE_CONTENT)
        return self.as_seen_by_bot(msg, allowed)

    async def dispatch_transformed(
        self, event: str, data: Any, intent: int, transform: Callable[[GatewaySession, Any], Any]
    ) -> int:
        await self.flush()
        return await self.gateway.dispatch(event, data, intent=intent, transform=transform)

    # ------------------------------------------------------------------ channels & threads (world side)

    def _dm_channel_for(self, user_id: int) -> P.SimChannel:
        cid = self.dm_channels.get(user_id)
        if cid is None:
            channel = P.SimChannel(self.snowflake(), P.CH_DM, recipients=[self.users[user_id]])
            self.channels[channel.id] = channel
            self.dm_channels[user_id] = cid = channel.id
        return self.channels[cid]

    async def _create_thread(
        self,
        parent: P.SimChannel,
        body: Mapping[str, Any],
        *,
        thread_type: int,
        thread_id: int | None = None,
    ) -> P.SimChannel:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        thread = P.SimChannel(
            thread_id or self.snowflake(),
            thread_type,
            name,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            invitable=bool(body.get("invitable", True)),
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            members={self.bot_user.id},
        )
        self.channels[thread.id] = thread
        self.guilds[parent.guild_id or 0].channel_ids.append(thread.id)
        data = {**self._channel_payload(thread), "newly_created": True}
        await self.dispatch("THREAD_CREATE", data, intent=P.INTENT_GUILDS)
        return thread

    async def _add_thread_member(self, thread: P.SimChannel, user_id: int) -> None:
        if user_id in thread.members:
            return
        thread.members.add(user_id)
        member = self.guilds[thread.guild_id or 0].members[user_id]
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": min(len(thread.members), 50),
            "added_members": [
                {
                    **P.thread_member_payload(thread.id, user_id, P.iso_now()),
                    "member": P.member_payload(member),
                }
            ],
        }
        await self.dispatch("THREAD_MEMBERS_UPDATE", data, intent=P.INTENT_GUILD_MEMBERS)

    def thread_members(self, thread_id: int) -> set[int]:
        return set(self.channels[thread_id].members)

    # ------------------------------------------------------------------ payloads

    def _channel_payload(self, channel: P.SimChannel) -> dict[str, Any]:
        return P.channel_payload(channel, bot_id=self.bot_user.id)

    def _guild_payload(self, guild: P.SimGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [P.role_payload(r) for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.preferred_locale,
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
        }

    def _guild_create_payload(self, guild: P.SimGuild, intents: int) -> dict[str, Any]:
        data = self._guild_payload(guild)
        members = (
            guild.members.values()
            if intents & P.INTENT_GUILD_MEMBERS
            else [guild.members[self.bot_user.id]]
        )
        chans = [self.channels[c] for c in guild.channel_ids]
        data.update(
            {
                "joined_at": guild.joined_at,
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [P.member_payload(m) for m in members],
                "channels": [self._channel_payload(c) for c in chans if not c.is_thread],
                "threads": [
                    self._channel_payload(c) for c in chans if c.is_thread and not c.archived
                ],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )
        return data

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": 10,
            "user_settings": {},
            "user": P.self_user_payload(self.bot_user),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds if session.sees(g)],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "_trace": ["loopback"],
        }
        if "shard" in session.identify:
            data["shard"] = session.identify["shard"]
        return data

    def _application_flags(self) -> int:
        # GATEWAY_*_LIMITED flags say which privileged intents the portal has switched on.
        flags = 0
        if self.allowed_privileged_intents & P.INTENT_GUILD_PRESENCES:
            flags |= 1 << 13
        if self.allowed_privileged_intents & P.INTENT_GUILD_MEMBERS:
            flags |= 1 << 15
        if self.allowed_privileged_intents & P.INTENT_MESSAGE_CONTENT:
            flags |= 1 << 19
        return flags

    def _application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "Loopback test application",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "bot": P.user_payload(self.bot_user),
            "owner": P.user_payload(self.owner_user),
            "team": None,
            "verify_key": "0" * 64,
            "flags": self._application_flags(),
            "hook": True,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "rpc_origins": [],
            "tags": [],
            "approximate_guild_count": len(self.guilds),
            "role_connections_verification_url": None,
            "integration_types_config": {"0": {}},
            "install_params": {
                "scopes": ["bot", "applications.commands"],
                "permissions": str(P.DEFAULT_BOT_PERMISSIONS),
            },
        }


def _custom_ids(components: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for comp in components:
        if "custom_id" in comp:
            out.add(comp["custom_id"])
        out |= _custom_ids(comp.get("components", []))
        if isinstance(comp.get("accessory"), dict):
            out |= _custom_ids([comp["accessory"]])
    return out


def _with_component_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Discord numbers every component of a message; keep given ids, fill the rest."""
    counter = [0]
    used: set[int] = set()

    def walk(items: list[dict[str, Any]], assign: bool) -> list[dict[str, Any]]:
        out = []
        for comp in items:
            comp = dict(comp)
            if not assign and isinstance(comp.get("id"), int):
                used.add(comp["id"])
            if assign and not isinstance(comp.get("id"), int):
                counter[0] += 1
                while counter[0] in used:
                    counter[0] += 1
                comp["id"] = counter[0]
            if "components" in comp:
                comp["components"] = walk(comp["components"], assign)
            if isinstance(comp.get("accessory"), dict):
                comp["accessory"] = walk([comp["accessory"]], assign)[0]
            out.append(comp)
        return out

    walk(components, False)
    return walk(components, True)
