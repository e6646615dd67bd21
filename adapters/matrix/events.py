"""Is a Matrix message a command addressed to the bot, and what does it say? (No I/O here.)

The bot reads commands, not conversations: in a community room only a message that starts with
the prefix *and* names one of the bot's command groups is a command (so another bot's `!ban`
is left alone); anything else is ignored on the spot and never stored. In a member's private
room with the bot no prefix is needed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

# A user id as people type it: @localpart:server (server may carry a port).
MXID = re.compile(r"^@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
_PILL = re.compile(
    r"<a\s[^>]*href=[\"']https://matrix\.to/#/(?P<id>(?:@|%40)[^\"'?/]+)[^\"']*[\"'][^>]*>(?P<text>.*?)</a>",
    re.IGNORECASE | re.DOTALL,
)
_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</p>|</li>|</div>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def is_room_state(event: Any) -> bool:
    """Whether an event is genuine room state: it has a `state_key` and came from the homeserver
    as it is, not out of a decrypted event. Anyone in a room can send a message event of any
    type, and can encrypt any payload (a `state_key` too); the homeserver applies the room's
    auth rules to real state events only, so nothing else may change who holds power, who made
    the room, which space it is in or whether it is encrypted."""
    source = getattr(event, "source", None)
    return (
        isinstance(source, dict)
        and isinstance(source.get("state_key"), str)
        and isinstance(source.get("type"), str)
        and source.get("type") != "m.room.encrypted"
        and not getattr(event, "decrypted", False)
    )


def relates_to(content: Mapping[str, Any]) -> Mapping[str, Any]:
    relation = content.get("m.relates_to")
    return relation if isinstance(relation, Mapping) else {}


def thread_root(content: Mapping[str, Any]) -> str | None:
    """The thread a message was sent in, if any."""
    relation = relates_to(content)
    if relation.get("rel_type") == "m.thread" and isinstance(relation.get("event_id"), str):
        return relation["event_id"]
    return None


def replied_to(content: Mapping[str, Any]) -> str | None:
    reply = relates_to(content).get("m.in_reply_to")
    if isinstance(reply, Mapping) and isinstance(reply.get("event_id"), str):
        return reply["event_id"]
    return None


def is_edit(content: Mapping[str, Any]) -> bool:
    return relates_to(content).get("rel_type") == "m.replace" or "m.new_content" in content


def _strip_reply_fallback(body: str) -> str:
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:]) if index else body


def command_source(content: Mapping[str, Any]) -> str:
    """The text to read a command from.

    Clients show a mention as a "pill": the plain body then holds only a display name, while the
    HTML links to the user id. When there are pills the HTML is read instead, with each pill
    turned back into the id it links to, so `agreement start <pill>` names the right person.
    A quoted reply (the fallback of a reply) is left out either way.
    """
    body = content.get("body")
    text = body if isinstance(body, str) else ""
    formatted = content.get("formatted_body")
    if (
        content.get("format") == "org.matrix.custom.html"
        and isinstance(formatted, str)
        and "matrix.to/#/" in formatted
    ):
        source = _REPLY.sub("", formatted)
        source = _PILL.sub(lambda m: unquote(m.group("id")), source)
        source = _BREAK.sub("\n", source)
        return html.unescape(_TAG.sub("", source)).strip()
    if replied_to(content):
        text = _strip_reply_fallback(text)
    return text.strip()


def command_text(
    text: str, prefix: str, *, private: bool, groups: Iterable[str]
) -> str | None:
    """The command line without its prefix, or None when the message is not a command for us.

    `groups` are the first words of the bot's commands ("help", "questions", "pair", ...)."""
    stripped = text.strip()
    if stripped.startswith(prefix):
        rest = stripped[len(prefix) :].lstrip()
        if not rest:
            return None
        if private:
            return rest
        first = rest.split(None, 1)[0].lower()
        return rest if first in set(groups) else None
    if private and stripped:
        return stripped
    return None


def first_word(text: str) -> str:
    words = text.strip().split(None, 1)
    return words[0].lower() if words else ""


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def make_resolver(
    members: Callable[[], Iterable[tuple[str, str | None]]],
) -> Callable[[str], str | None]:
    """Turns a mention as typed into the id of a member of the community's rooms: a full id
    (`@sam:example.org`), or `@sam` / `sam` when exactly one member has that localpart or display
    name. Anyone else is no one: the core takes a resolved mention as a member of the community
    (an agreement invitation goes to them), so a stranger's id must not resolve. `members()`
    gives (user id, display name) pairs of the joined members, read only when needed."""

    def resolve(token: str) -> str | None:
        token = token.strip()
        if MXID.match(token):
            return token if any(uid == token for uid, _ in members()) else None
        name = token.removeprefix("@").strip().lower()
        if not name:
            return None
        by_local = {uid for uid, _ in members() if localpart(uid).lower() == name}
        if len(by_local) == 1:
            return by_local.pop()
        if by_local:
            return None  # ambiguous: ask for the full id rather than guess
        by_name = {uid for uid, shown in members() if (shown or "").strip().lower() == name}
        if len(by_name) == 1:
            return by_name.pop()
        return None

    return resolve
