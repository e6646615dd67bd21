"""A text from the core as a Matrix message: a plain `body` and an HTML `formatted_body`.

The texts are already written (prompts/); this only chooses the form. Paragraphs become `<p>`,
line breaks `<br>`, command names `<code>`, and a room id the core mentions ("#!abc:server")
is shown by the room's name where the bot knows it. Every message carries an empty
`m.mentions` and no working `@room`: the texts may quote members, and no bot message pings
anyone. (No I/O here.)
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

NOTICE = "m.notice"  # the bot's own answers: other bots leave notices alone
TEXT = "m.text"  # conversation starters: posted questions, pair room texts
HTML_FORMAT = "org.matrix.custom.html"

# Room ids: "!opaque:server", or from room version 12 on just "!" and a hash.
_ROOM_ID = re.compile(
    r"#?(![\w~=\-]+(?:\.[\w~=\-]+)*(?::[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d{1,5})?)?)"
)
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
# "@room" notifies everyone in a room on clients and servers that still apply the body-based
# (legacy) mention rules; the bot's posts carry member text, so it is shown with a fullwidth
# at sign (U+FF20), which looks the same and matches no rule.
_ROOM_PING = re.compile(r"@(?=room\b)", re.IGNORECASE)
ROOM_PING_SHOWN = "\uff20"
# Intentional mentions (Matrix 1.7): present and empty, so nobody is notified by a bot
# message, whatever names or ids the text holds. The bot never means to ping anyone: its
# invitations to private and pair rooms notify the people invited.
NO_MENTIONS: dict[str, Any] = {}


def without_pings(text: str) -> str:
    """The text with every `@room` made inert."""
    return _ROOM_PING.sub(ROOM_PING_SHOWN, text) if "@" in text else text


def humanise_rooms(text: str, names: Mapping[str, str]) -> str:
    """Replace room ids the bot knows by `#name`."""
    if "!" not in text or not names:
        return text

    def name_for(match: re.Match[str]) -> str:
        name = names.get(match.group(1))
        return f"#{name.lstrip('#')}" if name else match.group(0)

    return _ROOM_ID.sub(name_for, text)


class Renderer:
    def __init__(self, prefix: str, command_names: Iterable[str]) -> None:
        self.prefix = prefix
        names = sorted({n for n in command_names if n}, key=len, reverse=True)
        self._commands = (
            re.compile(
                r"(?<![\w!?/])"
                + re.escape(html.escape(prefix))
                + r"(?:"
                + "|".join(re.escape(n) for n in names)
                + r")(?![\w-])"
            )
            if names
            else None
        )

    def html(self, text: str) -> str:
        paragraphs = []
        for paragraph in _PARAGRAPHS.split(text.strip("\n")):
            lines = [self._inline(line) for line in paragraph.split("\n")]
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
        return "".join(paragraphs)

    def _inline(self, line: str) -> str:
        stripped = line.lstrip(" ")
        indent = "&nbsp;" * (len(line) - len(stripped))
        escaped = html.escape(stripped, quote=False)
        if self._commands is not None:
            escaped = self._commands.sub(lambda m: f"<code>{m.group(0)}</code>", escaped)
        return indent + escaped

    def content(
        self,
        text: str,
        *,
        msgtype: str = NOTICE,
        rooms: Mapping[str, str] | None = None,
        thread_root: str | None = None,
    ) -> dict[str, Any]:
        text = without_pings(humanise_rooms(text, rooms or {}))
        content: dict[str, Any] = {
            "msgtype": msgtype,
            "body": text,
            "format": HTML_FORMAT,
            "formatted_body": self.html(text),
            "m.mentions": dict(NO_MENTIONS),
        }
        if thread_root:
            content["m.relates_to"] = thread_relation(thread_root)
        return content


def thread_relation(root: str) -> dict[str, Any]:
    """`m.thread`, with the reply fallback for clients that do not show threads."""
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
