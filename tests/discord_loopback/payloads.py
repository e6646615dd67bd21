"""Discord-shaped JSON payloads for the loopback server.

The simulated world is kept as small dataclasses (``SimUser``, ``SimGuild``,
``SimChannel`` ...); the functions here render them the way Discord's API v10
documents the objects (user, guild member, role, channel, thread, message,
application command).  Snowflakes are strings on the wire, as on Discord.
"""

from __future__ import annotations

import itertools
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# --------------------------------------------------------------------------- constants

DISCORD_EPOCH_MS = 1420070400000

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents)
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1  # privileged
INTENT_GUILD_PRESENCES = 1 << 8  # privileged
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15  # privileged
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits (https://discord.com/developers/docs/topics/permissions)
P_CREATE_INSTANT_INVITE = 1 << 0
P_ADMINISTRATOR = 1 << 3
P_ADD_REACTIONS = 1 << 6
P_VIEW_CHANNEL = 1 << 10
P_SEND_MESSAGES = 1 << 11
P_MANAGE_MESSAGES = 1 << 13
P_EMBED_LINKS = 1 << 14
P_ATTACH_FILES = 1 << 15
P_READ_MESSAGE_HISTORY = 1 << 16
P_MENTION_EVERYONE = 1 << 17
P_USE_EXTERNAL_EMOJIS = 1 << 18
P_CHANGE_NICKNAME = 1 << 26
P_USE_APPLICATION_COMMANDS = 1 << 31
P_MANAGE_THREADS = 1 << 34
P_CREATE_PUBLIC_THREADS = 1 << 35
P_CREATE_PRIVATE_THREADS = 1 << 36
P_SEND_MESSAGES_IN_THREADS = 1 << 38
P_PIN_MESSAGES = 1 << 51
ALL_PERMISSIONS = (1 << 53) - 1

DEFAULT_EVERYONE_PERMISSIONS = (
    P_CREATE_INSTANT_INVITE
    | P_ADD_REACTIONS
    | P_VIEW_CHANNEL
    | P_SEND_MESSAGES
    | P_EMBED_LINKS
    | P_ATTACH_FILES
    | P_READ_MESSAGE_HISTORY
    | P_USE_EXTERNAL_EMOJIS
    | P_CHANGE_NICKNAME
    | P_USE_APPLICATION_COMMANDS
    | P_CREATE_PUBLIC_THREADS
    | P_CREATE_PRIVATE_THREADS
    | P_SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = (
    DEFAULT_EVERYONE_PERMISSIONS | P_MANAGE_MESSAGES | P_MANAGE_THREADS | P_PIN_MESSAGES
)
# What Discord reports as app_permissions for interactions in DMs.
DM_APP_PERMISSIONS = P_ATTACH_FILES | P_EMBED_LINKS | P_MENTION_EVERYONE | P_USE_EXTERNAL_EMOJIS

# Channel types
CH_GUILD_TEXT = 0
CH_DM = 1
CH_GUILD_CATEGORY = 4
CH_PUBLIC_THREAD = 11
CH_PRIVATE_THREAD = 12
THREAD_TYPES = (10, CH_PUBLIC_THREAD, CH_PRIVATE_THREAD)

# Message flags
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# Application command option types
OPT_SUB_COMMAND = 1
OPT_SUB_COMMAND_GROUP = 2
OPT_STRING = 3
OPT_INTEGER = 4
OPT_BOOLEAN = 5
OPT_USER = 6
OPT_CHANNEL = 7
OPT_ROLE = 8
OPT_MENTIONABLE = 9
OPT_NUMBER = 10
OPT_ATTACHMENT = 11

# --------------------------------------------------------------------------- snowflakes


class SnowflakeFactory:
    """Generates increasing snowflakes whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._last = 0

    def __call__(self) -> int:
        with self._lock:
            ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            value = (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)
            if value <= self._last:
                value = self._last + 1
            self._last = value
            return value


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def snowflake_iso(snowflake: int) -> str:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------- world model


@dataclass
class SimUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None


@dataclass
class SimRole:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    tags: dict[str, Any] | None = None


@dataclass
class SimMember:
    guild_id: int
    user: SimUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)
    permissions: int | None = None  # explicit override of the computed permissions


@dataclass
class SimChannel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    recipients: list[SimUser] = field(default_factory=list)  # DMs
    last_message_id: int | None = None
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    message_count: int = 0
    total_message_sent: int = 0
    created_at: str = field(default_factory=iso_now)
    members: set[int] = field(default_factory=set)  # thread members (user ids)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class SimGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, SimRole] = field(default_factory=dict)
    members: dict[int, SimMember] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    preferred_locale: str = "en-US"
    joined_at: str = field(default_factory=iso_now)

    @property
    def everyone_role(self) -> SimRole:
        return self.roles[self.id]


# --------------------------------------------------------------------------- renderers


def user_payload(user: SimUser) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": user.avatar,
        "avatar_decoration_data": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
    }
    if user.bot:
        data["bot"] = True
    return data


def self_user_payload(user: SimUser) -> dict[str, Any]:
    """GET /users/@me for a bot: the user object plus the private fields."""
    data = user_payload(user)
    data.update(
        {
            "bot": True,
            "system": False,
            "mfa_enabled": False,
            "locale": "en-US",
            "verified": True,
            "email": None,
            "premium_type": 0,
        }
    )
    return data


def role_payload(role: SimRole) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": 0,
    }
    if role.tags is not None:
        data["tags"] = role.tags
    return data


def member_payload(member: SimMember, *, with_user: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in member.roles],
        "joined_at": member.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user_payload(member.user)
    return data


def channel_payload(channel: SimChannel, *, bot_id: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(channel.id), "type": channel.type, "flags": 0}
    if channel.type == CH_DM:
        data.update(
            {
                "last_message_id": _opt_str(channel.last_message_id),
                "recipients": [user_payload(u) for u in channel.recipients],
            }
        )
        return data
    data.update(
        {
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "parent_id": _opt_str(channel.parent_id),
            "rate_limit_per_user": channel.rate_limit_per_user,
        }
    )
    if channel.is_thread:
        data.update(
            {
                "owner_id": _opt_str(channel.owner_id),
                "last_message_id": _opt_str(channel.last_message_id),
                "message_count": channel.message_count,
                "member_count": min(len(channel.members), 50),
                "total_message_sent": channel.total_message_sent,
                "thread_metadata": {
                    "archived": channel.archived,
                    "auto_archive_duration": channel.auto_archive_duration,
                    "archive_timestamp": channel.created_at,
                    "locked": channel.locked,
                    "create_timestamp": channel.created_at,
                    **(
                        {"invitable": channel.invitable}
                        if channel.type == CH_PRIVATE_THREAD
                        else {}
                    ),
                },
            }
        )
        if bot_id is not None and bot_id in channel.members:
            data["member"] = {
                "id": str(channel.id),
                "user_id": str(bot_id),
                "join_timestamp": channel.created_at,
                "flags": 0,
            }
        return data
    data.update(
        {
            "position": channel.position,
            "permission_overwrites": [],
            "nsfw": channel.nsfw,
        }
    )
    if channel.type != CH_GUILD_CATEGORY:
        data["topic"] = channel.topic
        data["last_message_id"] = _opt_str(channel.last_message_id)
        data["default_auto_archive_duration"] = 1440
    return data


def thread_member_payload(thread_id: int, user_id: int, joined: str) -> dict[str, Any]:
    return {"id": str(thread_id), "user_id": str(user_id), "join_timestamp": joined, "flags": 0}


def message_payload(
    *,
    id: int,
    channel_id: int,
    author: SimUser,
    content: str = "",
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    flags: int = 0,
    type: int = 0,
    tts: bool = False,
    webhook_id: int | None = None,
    application_id: int | None = None,
    interaction_metadata: dict[str, Any] | None = None,
    message_reference: dict[str, Any] | None = None,
    mentions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(id),
        "channel_id": str(channel_id),
        "author": user_payload(author),
        "content": content,
        "timestamp": snowflake_iso(id),
        "edited_timestamp": None,
        "tts": tts,
        "mention_everyone": False,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": embeds or [],
        "pinned": False,
        "type": type,
        "flags": flags,
        "components": components or [],
    }
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
    if application_id is not None:
        data["application_id"] = str(application_id)
    if interaction_metadata is not None:
        data["interaction_metadata"] = interaction_metadata
    if message_reference is not None:
        data["message_reference"] = message_reference
    return data


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- permissions


def base_permissions(guild: SimGuild, member: SimMember) -> int:
    """Guild-level permissions of a member (channel overwrites are not modelled)."""
    if member.permissions is not None:
        return member.permissions
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    perms = guild.everyone_role.permissions
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & P_ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


# --------------------------------------------------------------------------- application commands

# Discord's locales (https://discord.com/developers/docs/reference#locales, the specification's
# AvailableLocalesEnum): the only keys a localization dictionary may have.
DISCORD_LOCALES = frozenset(
    "ar bg cs da de el en-GB en-US es-419 es-ES fi fr he hi hr hu id it ja ko lt nl no pl pt-BR ro ru"
    " sv-SE th tr uk vi zh-CN zh-TW".split()
)


def valid_command_name(name: Any) -> bool:
    """Discord's documented rule for chat-input command, option and localized names:
    `^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$` (Python's `re` has no \\p, so by
    character category and script), and lowercase where a letter has a lowercase form."""
    if not isinstance(name, str) or not 1 <= len(name) <= 32 or name != name.lower():
        return False
    return all(
        ch in "-_'"
        or unicodedata.category(ch)[0] in "LN"
        or unicodedata.name(ch, "").startswith(("DEVANAGARI", "THAI"))
        for ch in name
    )


def _localization_errors(
    value: Any, *, name: bool, longest: int = 100
) -> dict[str, Any] | None:
    """Errors for one localization dictionary (None or absent is fine): keys must be Discord's
    locales, values valid names (`name`) or texts of 1-`longest` characters. The error code for
    an unknown locale is not documented; BASE_TYPE_CHOICES is what Discord answers for a value
    outside a fixed set."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return {"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used."}]}
    errors: dict[str, Any] = {}
    for locale, text in value.items():
        if locale not in DISCORD_LOCALES:
            errors[str(locale)] = {
                "_errors": [
                    {"code": "BASE_TYPE_CHOICES", "message": f"Value must be one of {sorted(DISCORD_LOCALES)}."}
                ]
            }
        elif name and not valid_command_name(text):
            errors[locale] = {
                "_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Command name is invalid"}]
            }
        elif not name and (not isinstance(text, str) or not 1 <= len(text) <= longest):
            errors[locale] = {
                "_errors": [
                    {"code": "BASE_TYPE_BAD_LENGTH", "message": f"Must be between 1 and {longest} in length."}
                ]
            }
    return errors or None


def validate_command(cmd: Any) -> dict[str, Any]:
    """Return Discord-style ``errors`` for an application command payload ({} when valid)."""
    errors: dict[str, Any] = {}
    if not isinstance(cmd, dict):
        return {
            "_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used."}]
        }
    ctype = cmd.get("type", 1)
    name = cmd.get("name")
    # CHAT_INPUT names are lowercase words; USER/MESSAGE menu names are free text of 1-32.
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= 32
        or (ctype == 1 and not valid_command_name(name))
    ):
        errors["name"] = {
            "_errors": [
                {"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Command name is invalid"}
            ]
        }
    if ctype == 1:
        desc = cmd.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            errors["description"] = {
                "_errors": [
                    {
                        "code": "BASE_TYPE_BAD_LENGTH",
                        "message": "Must be between 1 and 100 in length.",
                    }
                ]
            }
    for key, is_name in (("name_localizations", True), ("description_localizations", False)):
        found = _localization_errors(cmd.get(key), name=is_name and ctype == 1)
        if found:
            errors[key] = found
    options = cmd.get("options") or []
    if len(options) > 25:
        errors["options"] = {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}
            ]
        }
    seen_optional = False
    names: set[str] = set()
    for i, opt in enumerate(options):
        opt_errors = validate_command({**opt, "type": 1}) if isinstance(opt, dict) else {}
        if isinstance(opt, dict):
            if opt.get("name") in names:
                opt_errors.setdefault("name", {"_errors": []})["_errors"].append(
                    {
                        "code": "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                        "message": "Duplicate option name",
                    }
                )
            names.add(opt.get("name"))
            if opt.get("type") not in (OPT_SUB_COMMAND, OPT_SUB_COMMAND_GROUP):
                if opt.get("required"):
                    if seen_optional:
                        opt_errors["required"] = {
                            "_errors": [
                                {
                                    "code": "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                    "message": "Required options must be placed before non-required options",
                                }
                            ]
                        }
                else:
                    seen_optional = True
            for c, choice in enumerate(opt.get("choices") or []):
                found = _localization_errors(
                    choice.get("name_localizations") if isinstance(choice, dict) else None, name=False
                )
                if found:
                    opt_errors.setdefault("choices", {}).setdefault(str(c), {})["name_localizations"] = found
            if len(opt.get("choices") or []) > 25:
                opt_errors["choices"] = {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 25 or fewer in length.",
                        }
                    ]
                }
        opt_errors.pop("type", None)
        if opt_errors:
            errors.setdefault("options", {})[str(i)] = opt_errors
    return errors


def command_payload(
    cmd: dict[str, Any], *, id: int, application_id: int, guild_id: int | None, version: int
) -> dict[str, Any]:
    data = dict(cmd)
    data.setdefault("type", 1)
    data.setdefault("description", "")
    data.setdefault("options", [])
    data.setdefault("default_member_permissions", None)
    data.setdefault("nsfw", False)
    data.setdefault("name_localizations", None)
    data.setdefault("description_localizations", None)
    data.setdefault("integration_types", [0])
    data.setdefault("contexts", None)
    data["id"] = str(id)
    data["application_id"] = str(application_id)
    data["version"] = str(version)
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        data.pop("dm_permission", None)
    else:
        data.setdefault("dm_permission", True)
    return data
