"""Is a Matrix message a command addressed to the bot, and what does it say? (No I/O here.)

The bot reads commands, not conversations: in a community room only a message that starts with
the prefix *and* names one of the bot's command groups is a command (so another bot's `!ban`
is left alone); anything else is ignored on the spot and never stored. In a member's private
room with the bot no prefix is needed. Every message in every room comes through here, so the
decision is cheap (`read_command`) and nothing run on member text can be made slow by crafting it.
Which events are room state at all is decided here too (`is_room_state`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from bot.app import MAX_LINE, fold_word

# A user id as people type it: @localpart:server (server may carry a port).
MXID = re.compile(r"^@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")
# Every pattern run on member text is linear: no nested or overlapping quantifiers, and a
# failed match can restart only past what it read. (The HTML is read token by token; see
# `_html_text`.) A message is also read at all only when it is short enough to be a command.
_TOKEN = re.compile(r"<[^<>]*>|[^<]+|<")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
_PILL_HREF = re.compile(r"""href\s*=\s*["']https://matrix\.to/#/((?:@|%40)[^"'?/<>]+)""", re.IGNORECASE)
_BREAKS = frozenset({"br", "p", "li", "div"})  # <br>, and the end of a paragraph, item or block

# The core reads at most MAX_LINE characters of a command; a message's body or HTML longer
# than this (room for markup and a quoted reply) is never a command the bot reads.
MAX_SOURCE = 4 * MAX_LINE


def is_room_state(event: Any) -> bool:
    """Whether an event is genuine room state: it has a `state_key` and came from the homeserver
    as it is, not out of a decrypted event. Anyone in a room can send a message event of any
    type, and can encrypt any payload (a `state_key` too); only real state events are the room's
    state as the homeserver checked it against the room's rules, so nothing else may change who
    holds power, who made the room, who is in it, which space it is in or whether it is
    encrypted."""
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


def _html_text(formatted: str) -> str:
    """The text of a message's HTML: a quoted reply (`<mx-reply>`) left out, each pill (a link
    to `https://matrix.to/#/@user`) turned into the user id it links to, line and paragraph
    breaks as new lines, every other tag dropped. One pass over the tokens, so linear; a pill
    or reply that is never closed is read as plain text, as a browser would show it."""
    lowered = formatted.lower()
    last_reply_end = lowered.rfind("</mx-reply>")
    last_link_end = lowered.rfind("</a>")
    out: list[str] = []
    skip_until: str | None = None  # inside a reply or a pill: the closing tag that ends it
    for match in _TOKEN.finditer(formatted):
        token = match.group()
        if not token.startswith("<") or token == "<":
            if skip_until is None:
                out.append(token)
            continue
        name_match = _TAG_NAME.match(token)
        name = name_match.group(1).lower() if name_match else ""
        closing = token[1:].lstrip().startswith("/")
        if skip_until is not None:
            if closing and name == skip_until:
                skip_until = None
            continue
        if closing:
            if name in _BREAKS and name != "br":
                out.append("\n")
            continue
        if name == "mx-reply" and match.start() < last_reply_end:
            skip_until = "mx-reply"
        elif name == "a" and match.start() < last_link_end:
            pill = _PILL_HREF.search(token)
            if pill is not None:
                out.append(unquote(pill.group(1)))
                skip_until = "a"
        elif name == "br":
            out.append("\n")
    return html.unescape("".join(out)).strip()


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
        return _html_text(formatted)
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
        # without case or accents (`!Atrás` is `!atras`): `groups` holds every locale's words
        first = fold_word(rest.split(None, 1)[0])
        return rest if first in set(groups) else None
    if private and stripped:
        return stripped
    return None


@dataclass(frozen=True)
class Read:
    """A message the bot reads as a command."""

    text: str  # what the command was read from (a private room's plain answers use it)
    command: str  # the command line, without the prefix
    too_long: bool = False  # longer than any command: the core answers that it is too long


def read_command(
    content: Mapping[str, Any], prefix: str, *, private: bool, groups: Iterable[str]
) -> Read | None:
    """Whether a message is a command for the bot, decided cheaply before anything else reads
    it: every message in every room the bot is in comes through here.

    In a community room only a body that starts with the prefix and one of the bot's command
    groups can be a command; anything longer than a command can be is ignored there. In a
    member's private room everything is for the bot: a message too long to be a command is
    still answered (kindly, by the core, from its first characters), never read whole."""
    body = content.get("body")
    body = body if isinstance(body, str) else ""
    formatted = content.get("formatted_body")
    size = max(len(body), len(formatted) if isinstance(formatted, str) else 0)
    if not private:
        if size > MAX_SOURCE:
            return None
        head = (_strip_reply_fallback(body) if replied_to(content) else body).lstrip()
        if command_text(head[: len(prefix) + 200], prefix, private=False, groups=groups) is None:
            # (The group is the first word after the prefix: 200 characters hold it.)
            return None
    elif size > MAX_SOURCE:
        # Its first characters, made longer than the core reads, so the core's own answer (this
        # message is longer than I can read) goes back the usual way.
        line = body.strip()[: MAX_LINE + 1]
        line += "." * (MAX_LINE + 1 - len(line))
        return Read(line, line, too_long=True)
    text = command_source(content)
    command = command_text(text, prefix, private=private, groups=groups)
    return None if command is None else Read(text, command)


def first_word(text: str) -> str:
    """The first word without case or accents, as the core's command words are compared."""
    words = text.strip().split(None, 1)
    return fold_word(words[0]) if words else ""


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
