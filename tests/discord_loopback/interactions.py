"""INTERACTION_CREATE payloads and the handle tests use to observe the bot's answer."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import payloads as P

if TYPE_CHECKING:
    from .server import LoopbackDiscord, Recorded

IT_PING = 1
IT_APPLICATION_COMMAND = 2
IT_MESSAGE_COMPONENT = 3
IT_AUTOCOMPLETE = 4
IT_MODAL_SUBMIT = 5

CB_PONG = 1
CB_CHANNEL_MESSAGE = 4
CB_DEFERRED_CHANNEL_MESSAGE = 5
CB_DEFERRED_UPDATE_MESSAGE = 6
CB_UPDATE_MESSAGE = 7
CB_AUTOCOMPLETE_RESULT = 8
CB_MODAL = 9

# Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS: dict[int, tuple[int, ...]] = {
    IT_APPLICATION_COMMAND: (CB_CHANNEL_MESSAGE, CB_DEFERRED_CHANNEL_MESSAGE, CB_MODAL),
    IT_MESSAGE_COMPONENT: (
        CB_CHANNEL_MESSAGE,
        CB_DEFERRED_CHANNEL_MESSAGE,
        CB_DEFERRED_UPDATE_MESSAGE,
        CB_UPDATE_MESSAGE,
        CB_MODAL,
    ),
    IT_AUTOCOMPLETE: (CB_AUTOCOMPLETE_RESULT,),
    IT_MODAL_SUBMIT: (
        CB_CHANNEL_MESSAGE,
        CB_DEFERRED_CHANNEL_MESSAGE,
        CB_DEFERRED_UPDATE_MESSAGE,
        CB_UPDATE_MESSAGE,
    ),
}


@dataclass
class InteractionHandle:
    """What a test holds after dispatching an interaction to the bot."""

    server: LoopbackDiscord
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    guild_id: int | None
    channel_id: int
    user_id: int
    created: float = field(default_factory=time.monotonic)
    callback: Recorded | None = None
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    deferred_thinking: bool = False
    deferred_ephemeral: bool = False
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    source_message_id: int | None = None
    callback_attempts: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._answered = asyncio.Event()

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def ephemeral(self) -> bool:
        """Whether the initial response (message or deferral) was ephemeral."""
        data = self.callback_data or {}
        return bool((data.get("flags") or 0) & P.FLAG_EPHEMERAL)

    async def response(self, timeout: float = 5.0) -> Recorded:
        """Wait for the bot's ``POST /interactions/{id}/{token}/callback`` and return it.

        That is the accepted callback, or the first rejected attempt (check ``.status``:
        e.g. 404/10062 when the bot answered after ``interaction_deadline``)."""
        await asyncio.wait_for(self._answered.wait(), timeout)
        return self.callback or self.callback_attempts[0]

    def _webhook_path(self) -> str:
        return f"/webhooks/{self.server.application_id}/{self.token}"

    def followups(self) -> list[Recorded]:
        """Successful follow-up POSTs (``/webhooks/{app}/{token}``) in order."""
        path = self._webhook_path()
        return [r for r in self.server.requests if r.method == "POST" and r.path == path and r.ok]

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[Recorded]:
        path = self._webhook_path()
        await self.server.wait_for_request(
            lambda r: (
                r.method == "POST" and r.path == path and r.ok and len(self.followups()) >= count
            ),
            timeout=timeout,
        )
        return self.followups()

    def edits(self) -> list[Recorded]:
        """Successful PATCHes of the original response or of follow-ups."""
        prefix = self._webhook_path() + "/messages/"
        return [
            r
            for r in self.server.requests
            if r.method == "PATCH" and r.path.startswith(prefix) and r.ok
        ]

    @property
    def original_message(self) -> dict[str, Any] | None:
        if self.original_message_id is None:
            return None
        return self.server.messages.get(self.original_message_id)

    def _on_callback(self, recorded: Recorded) -> None:
        self.callback_attempts.append(recorded)
        if recorded.ok and self.callback is None:
            self.callback = recorded
        self._answered.set()


# --------------------------------------------------------------------------- builders


def new_token() -> str:
    return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)


def base_payload(
    server: LoopbackDiscord,
    *,
    itype: int,
    guild_id: int | None,
    channel_id: int | None,
    user_id: int,
    data: dict[str, Any] | None,
    locale: str,
    message: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], int, int, str]:
    """Build the envelope shared by every interaction type.

    Returns (payload, interaction_id, channel_id, token).
    """
    user = server.users[user_id]
    if guild_id is None:
        channel = (
            server._dm_channel_for(user_id) if channel_id is None else server.channels[channel_id]
        )
    else:
        if channel_id is None:
            raise ValueError("guild interactions need a channel_id")
        channel = server.channels[channel_id]
    iid = server.snowflake()
    token = new_token()
    payload: dict[str, Any] = {
        "id": str(iid),
        "application_id": str(server.application_id),
        "type": itype,
        "token": token,
        "version": 1,
        "locale": locale,
        "entitlements": [],
        "attachment_size_limit": P.ATTACHMENT_SIZE_LIMIT,
        "channel_id": str(channel.id),
    }
    if data is not None:
        payload["data"] = data
    if guild_id is not None:
        guild = server.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        perms = P.base_permissions(guild, member)
        bot_perms = P.base_permissions(guild, guild.members[server.bot_user.id])
        payload.update(
            {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": guild.preferred_locale, "features": []},
                "guild_locale": guild.preferred_locale,
                "member": {**P.member_payload(member), "permissions": str(perms)},
                "app_permissions": str(bot_perms),
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": 0,
                "channel": {**P.channel_payload(channel), "permissions": str(perms)},
            }
        )
    else:
        payload.update(
            {
                "user": P.user_payload(user),
                "app_permissions": str(P.DM_APP_PERMISSIONS),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
                "channel": P.channel_payload(channel),
            }
        )
    if message is not None:
        payload["message"] = message
    return payload, iid, channel.id, token


def _as_id(value: Any) -> int:
    if isinstance(value, Mapping):
        return int(value["id"])
    if hasattr(value, "id"):
        return int(value.id)
    return int(value)


def _resolve(
    server: LoopbackDiscord,
    guild_id: int | None,
    otype: int,
    value: Any,
    resolved: dict[str, dict[str, Any]],
    invoker_perms: int,
) -> Any:
    """Convert a test-supplied value to the wire value and fill ``resolved``."""
    if otype == P.OPT_STRING:
        return str(value)
    if otype == P.OPT_INTEGER:
        return int(value)
    if otype == P.OPT_NUMBER:
        return value if isinstance(value, int | float) else float(value)
    if otype == P.OPT_BOOLEAN:
        return bool(value)
    if otype == P.OPT_ATTACHMENT:
        att = dict(value) if isinstance(value, Mapping) else {"filename": str(value)}
        att_id = int(att.get("id") or server.snowflake())
        filename = att.get("filename", "file.bin")
        resolved.setdefault("attachments", {})[str(att_id)] = {
            "id": str(att_id),
            "filename": filename,
            "size": int(att.get("size", 0)),
            "url": f"{server.http_base}/attachments/{att_id}/{filename}",
            "proxy_url": f"{server.http_base}/attachments/{att_id}/{filename}",
            "content_type": att.get("content_type", "application/octet-stream"),
        }
        return str(att_id)
    ident = _as_id(value)
    guild = server.guilds.get(guild_id) if guild_id is not None else None
    if otype in (P.OPT_USER, P.OPT_MENTIONABLE) and ident in server.users:
        resolved.setdefault("users", {})[str(ident)] = P.user_payload(server.users[ident])
        if guild is not None and ident in guild.members:
            member = guild.members[ident]
            resolved.setdefault("members", {})[str(ident)] = {
                **P.member_payload(member, with_user=False),
                "permissions": str(P.base_permissions(guild, member)),
            }
        return str(ident)
    if otype in (P.OPT_ROLE, P.OPT_MENTIONABLE) and guild is not None and ident in guild.roles:
        resolved.setdefault("roles", {})[str(ident)] = P.role_payload(guild.roles[ident])
        return str(ident)
    if otype == P.OPT_CHANNEL and ident in server.channels:
        ch = server.channels[ident]
        entry: dict[str, Any] = {
            "id": str(ch.id),
            "name": ch.name,
            "type": ch.type,
            "permissions": str(invoker_perms),
        }
        if ch.parent_id is not None:
            entry["parent_id"] = str(ch.parent_id)
        if ch.is_thread:
            entry["thread_metadata"] = P.channel_payload(ch)["thread_metadata"]
        resolved.setdefault("channels", {})[str(ident)] = entry
        return str(ident)
    raise ValueError(f"cannot resolve option value {value!r} for option type {otype}")


def _check_value(command: str, spec: Mapping[str, Any], value: Any) -> None:
    """Refuse values Discord's client would not let a user send."""
    label = f"option {spec.get('name')!r} of {command!r}"
    choices = spec.get("choices")
    if choices and value not in [c.get("value") for c in choices]:
        raise ValueError(f"{label}: {value!r} is not one of its choices")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.get("min_value") is not None and value < spec["min_value"]:
            raise ValueError(f"{label}: {value!r} is below min_value {spec['min_value']}")
        if spec.get("max_value") is not None and value > spec["max_value"]:
            raise ValueError(f"{label}: {value!r} is above max_value {spec['max_value']}")
    if isinstance(value, str) and spec.get("type") == P.OPT_STRING:
        if spec.get("min_length") is not None and len(value) < spec["min_length"]:
            raise ValueError(f"{label}: shorter than min_length {spec['min_length']}")
        if spec.get("max_length") is not None and len(value) > spec["max_length"]:
            raise ValueError(f"{label}: longer than max_length {spec['max_length']}")


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return P.OPT_BOOLEAN
    if isinstance(value, int):
        return P.OPT_INTEGER
    if isinstance(value, float):
        return P.OPT_NUMBER
    return P.OPT_STRING


def build_command_data(
    server: LoopbackDiscord,
    *,
    name: str,
    guild_id: int | None,
    options: Mapping[str, Any] | Sequence[dict[str, Any]] | None,
    subcommand: str | Sequence[str] | None,
    user_id: int,
    focused: str | None = None,
    command_type: int = 1,
    locale: str | None = None,
) -> dict[str, Any]:
    """``data`` of an APPLICATION_COMMAND / AUTOCOMPLETE interaction.

    Option types come from the commands the bot registered (``PUT .../commands``);
    without a registration they are inferred from the Python values.

    With a client ``locale`` (a member whose Discord speaks Spanish), the command, subcommand,
    option and choice names may be given as that client shows them (their
    ``name_localizations``); as on Discord, the payload carries the default names and the
    choice's value, never the localized words.
    """
    parts = name.split()
    name, path = parts[0], parts[1:]
    if isinstance(subcommand, str):
        path += subcommand.split()
    elif subcommand:
        path += list(subcommand)

    def shown(node: Mapping[str, Any], word: str) -> bool:
        localized = node.get("name_localizations") or {}
        return node.get("name") == word or (locale is not None and localized.get(locale) == word)

    if locale is not None:
        name = server.default_command_name(name, guild_id, locale, command_type)
    cmd, cmd_guild = server.find_command(name, guild_id, command_type)
    if cmd is None and server.has_registered_commands():
        raise LookupError(
            f"the bot registered no command {name!r} (type {command_type}) visible in guild {guild_id}"
        )
    schema: list[dict[str, Any]] | None = cmd.get("options", []) if cmd else None
    path_types: list[int] = []
    for depth, part in enumerate(path):
        if schema is None:
            path_types.append(
                P.OPT_SUB_COMMAND_GROUP if depth == 0 and len(path) == 2 else P.OPT_SUB_COMMAND
            )
            continue
        sub = next(
            (o for o in schema if shown(o, part) and o.get("type") in (1, 2)),
            None,
        )
        if sub is None:
            raise LookupError(f"command {name!r} has no subcommand/group {part!r}")
        path[depth] = sub["name"]
        path_types.append(sub["type"])
        schema = sub.get("options", [])
    if schema is not None and any(o.get("type") in (1, 2) for o in schema):
        raise LookupError(f"command {name!r} {' '.join(path)} needs a subcommand")

    resolved: dict[str, dict[str, Any]] = {}
    invoker_perms = P.DM_APP_PERMISSIONS
    if guild_id is not None and user_id in server.guilds[guild_id].members:
        guild = server.guilds[guild_id]
        invoker_perms = P.base_permissions(guild, guild.members[user_id])
    leaf: list[dict[str, Any]]
    if options is None:
        leaf = []
    elif isinstance(options, Mapping):
        leaf = []
        for opt_name, value in options.items():
            spec = None
            if schema is not None:
                spec = next((o for o in schema if shown(o, opt_name)), None)
                if spec is None:
                    raise LookupError(f"command {name!r} has no option {opt_name!r}")
                if opt_name == focused:
                    focused = spec["name"]
                opt_name = spec["name"]
                # a choice picked as the client shows it sends the choice's value
                picked = next(
                    (c for c in spec.get("choices") or [] if (c.get("name_localizations") or {}).get(locale) == value),
                    None,
                )
                if picked is not None:
                    value = picked["value"]
            otype = spec["type"] if spec else _infer_type(value)
            if opt_name == focused:
                leaf.append({"type": otype, "name": opt_name, "value": str(value), "focused": True})
            else:
                wire = _resolve(server, guild_id, otype, value, resolved, invoker_perms)
                if spec is not None:
                    _check_value(name, spec, wire)
                leaf.append({"type": otype, "name": opt_name, "value": wire})
        if schema is not None:
            given = {o["name"] for o in leaf}
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in given]
            if missing and focused is None:
                raise ValueError(f"missing required option(s) {missing} for {name!r}")
    else:
        leaf = [dict(o) for o in options]  # raw, passed through untouched

    opts: list[dict[str, Any]] = leaf
    for part, ptype in zip(reversed(path), reversed(path_types), strict=True):
        opts = [{"type": ptype, "name": part, "options": opts}]

    data: dict[str, Any] = {
        "id": str(cmd["id"]) if cmd else str(server.snowflake()),
        "name": name,
        "type": command_type,
    }
    if opts:
        data["options"] = opts
    if resolved:
        data["resolved"] = resolved
    if cmd_guild is not None:
        data["guild_id"] = str(cmd_guild)
    return data


def modal_submit_components(
    modal: dict[str, Any] | None, values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Mirror the structure of the modal the bot opened, filled with ``values``."""
    counter = iter(range(1, 1000))

    def leaf(comp: dict[str, Any]) -> dict[str, Any] | None:
        cid = comp.get("custom_id")
        ctype = comp.get("type")
        out: dict[str, Any] = {"type": ctype, "id": comp.get("id") or next(counter)}
        if cid is None:
            return None
        out["custom_id"] = cid
        value = values.get(cid, comp.get("value", ""))
        if ctype == 4:  # text input
            out["value"] = "" if value is None else str(value)
        elif ctype in (3, 5, 6, 7, 8):  # selects
            out["values"] = [
                str(v) for v in (value if isinstance(value, list | tuple) else [value])
            ]
        else:
            out["value"] = value
        return out

    if modal is None:
        return [
            {
                "type": 1,
                "id": next(counter),
                "components": [{"type": 4, "id": next(counter), "custom_id": k, "value": str(v)}],
            }
            for k, v in values.items()
        ]
    result: list[dict[str, Any]] = []
    for top in modal.get("components", []):
        if top.get("type") == 1:  # action row
            inner = [c for c in (leaf(x) for x in top.get("components", [])) if c is not None]
            result.append({"type": 1, "id": top.get("id") or next(counter), "components": inner})
        elif top.get("type") == 18:  # label
            inner_leaf = leaf(top.get("component", {}))
            if inner_leaf is not None:
                result.append(
                    {"type": 18, "id": top.get("id") or next(counter), "component": inner_leaf}
                )
        elif top.get("type") == 10:  # text display: submitted back with its id only
            result.append({"type": 10, "id": top.get("id") or next(counter)})
    unknown = set(values) - {
        c.get("custom_id")
        for top in result
        for c in (top.get("components") or [top.get("component") or {}])
    }
    if unknown:
        raise LookupError(f"modal {modal.get('custom_id')!r} has no inputs {sorted(unknown)}")
    return result
