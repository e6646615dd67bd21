"""From the core's intents to Discord messages, without touching Discord: pure functions.

A `Piece` is one message to send (text within Discord's 2000 characters, optional buttons, an
optional file). Custom ids: the core's ids go out unchanged in a server; in a direct message,
which has no server, they carry it as `@<guild id>/<id>` so a press after a restart still
knows its community (the core then re-checks everything, so a forged server changes nothing).
The adapter's own ids start with `~`: `~yes:<id>`, `~no:<id>`, `~form:<token>`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from adapters.discord.payload_limits import (
    MAX_BUTTONS_PER_ROW,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_ROWS,
)
from bot.replies import (
    ActionButtons,
    Answer,
    ConfirmPrompt,
    FormRequest,
    Intent,
    PrivateFile,
    PrivateMessage,
)

log = logging.getLogger(__name__)

YES_PREFIX = "~yes:"
NO_PREFIX = "~no:"
FORM_PREFIX = "~form:"
COMMAND_FORM_PREFIX = "~cmd:"  # a modal finishing a slash command: ~cmd:space-agreement.object?id=3
_WRAPPED = re.compile(r"^@(\d{1,25})/(.+)$", re.DOTALL)


@dataclass(frozen=True)
class Button:
    custom_id: str
    label: str
    primary: bool = False


@dataclass(frozen=True)
class Piece:
    text: str
    ephemeral: bool = True
    buttons: tuple[Button, ...] = ()
    file: tuple[str, bytes] | None = None


@dataclass
class ReplyPlan:
    """What answering one interaction takes: pieces for the invoker, maybe a form to open,
    and intents for other people or places (delivered like outbox messages)."""

    pieces: list[Piece] = field(default_factory=list)
    form: FormRequest | None = None
    others: list[Intent] = field(default_factory=list)


def fits(custom_id: str) -> bool:
    """Whether Discord takes this custom id (1-100 characters)."""
    return 1 <= len(custom_id) <= MAX_CUSTOM_ID


def wrap(guild_id: int | str, custom_id: str) -> str:
    wrapped = f"@{guild_id}/{custom_id}"
    if len(wrapped) > MAX_CUSTOM_ID:
        raise ValueError(f"custom id too long to carry its server ({len(wrapped)} characters)")
    return wrapped


def unwrap(custom_id: str, guild_id: int | None) -> tuple[int | None, str]:
    """(the server a custom id belongs to, the id itself). An id that names a server wins over
    where it was pressed; the caller checks the presser belongs to that server."""
    match = _WRAPPED.match(custom_id)
    if match:
        return int(match.group(1)), match.group(2)
    return guild_id, custom_id


def command_form_id(command: str, options: dict[str, Any]) -> str | None:
    """The custom id of a modal that finishes `command` with `options` (None if too long)."""
    query = urlencode({k: str(v) for k, v in options.items() if v is not None})
    custom_id = f"{COMMAND_FORM_PREFIX}{command.replace(' ', '.')}" + (f"?{query}" if query else "")
    return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None


def parse_command_form_id(custom_id: str) -> tuple[str, dict[str, str]]:
    """(command name, options given with it). Only a request: the core validates all of it."""
    body = custom_id.removeprefix(COMMAND_FORM_PREFIX)
    name, _, query = body.partition("?")
    return name.replace(".", " "), dict(parse_qsl(query, keep_blank_values=True))


def split_text(text: str, limit: int = MAX_CONTENT) -> list[str]:
    """Split at line breaks (then spaces, then anywhere) into chunks of at most `limit`."""
    text = text.strip("\n") or " "
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return [chunk if chunk.strip() else "\u200b" for chunk in chunks]


def pieces_for_text(
    text: str, *, ephemeral: bool = True, buttons: tuple[Button, ...] = (), file: tuple[str, bytes] | None = None
) -> list[Piece]:
    """One text as pieces; buttons and file ride on the last one."""
    chunks = split_text(text)
    out = [Piece(chunk, ephemeral) for chunk in chunks[:-1]]
    out.append(Piece(chunks[-1], ephemeral, buttons, file))
    return out


def button_rows(buttons: Iterable[Button]) -> list[list[Button]]:
    buttons = list(buttons)[: MAX_BUTTONS_PER_ROW * MAX_ROWS]
    return [buttons[i : i + MAX_BUTTONS_PER_ROW] for i in range(0, len(buttons), MAX_BUTTONS_PER_ROW)]


def personal_pieces(
    intent: Intent, *, yes: str, no: str, guild_id: int | str | None = None, ephemeral: bool = True
) -> list[Piece] | None:
    """Pieces for an intent addressed to one member (None if it is not that kind of intent).
    With `guild_id`, every custom id carries the server (for direct messages)."""

    def cid(value: str) -> str:
        return wrap(guild_id, value) if guild_id is not None else value

    def usable(*pairs: tuple[str, str, bool]) -> tuple[Button, ...]:
        # Discord refuses a whole message for one custom id over 100 characters, in a server as
        # in a direct message (where the id also carries its server): that button is left out,
        # and the message, which says how to answer in words too, still goes.
        out = []
        for custom_id, label, primary in pairs:
            try:
                full = cid(custom_id)
            except ValueError:
                full = ""
            if fits(full):
                out.append(Button(full, label, primary))
            else:
                log.warning("a button's custom id is %d characters, over Discord's 100; left out", len(full) or len(custom_id))
        return tuple(out)

    match intent:
        case Answer():
            return pieces_for_text(intent.text, ephemeral=ephemeral if intent.private else False)
        case PrivateMessage():
            return pieces_for_text(intent.text, ephemeral=ephemeral)
        case ConfirmPrompt():
            buttons = usable(
                (f"{YES_PREFIX}{intent.confirmation_id}", intent.yes_label or yes, True),
                (f"{NO_PREFIX}{intent.confirmation_id}", intent.no_label or no, False),
            )
            return pieces_for_text(intent.text, ephemeral=ephemeral, buttons=buttons)
        case ActionButtons():
            buttons = usable(*((custom_id, label, index == 0) for index, (custom_id, label) in enumerate(intent.buttons)))
            return pieces_for_text(intent.text, ephemeral=ephemeral, buttons=buttons)
        case PrivateFile():
            return pieces_for_text(
                intent.text, ephemeral=ephemeral, file=(intent.filename, intent.content.encode("utf-8"))
            )
    return None


def recipient(intent: Intent) -> str | None:
    """The member an intent is addressed to, if it is addressed to one member."""
    if isinstance(intent, PrivateMessage | ConfirmPrompt | FormRequest | ActionButtons | PrivateFile):
        return intent.user_id
    return None


def plan_reply(
    intents: Iterable[Intent], invoker: str, *, yes: str, no: str, guild_id: int | str | None = None
) -> ReplyPlan:
    """Sort intents into the reply; `guild_id` when the reply lands outside its server (a DM)."""
    plan = ReplyPlan()
    for intent in intents:
        target = recipient(intent)
        if isinstance(intent, FormRequest) and target == invoker and plan.form is None:
            plan.form = intent
            continue
        if isinstance(intent, Answer) or (target == invoker and not isinstance(intent, FormRequest)):
            found = personal_pieces(intent, yes=yes, no=no, guild_id=guild_id)
            if found:
                plan.pieces.extend(found)
                continue
        plan.others.append(intent)
    plan.pieces = merge(plan.pieces)
    return plan


def merge(pieces: list[Piece]) -> list[Piece]:
    """Join neighbouring plain texts of the same visibility into as few messages as fit."""
    out: list[Piece] = []
    for piece in pieces:
        last = out[-1] if out else None
        if (
            last is not None
            and not last.buttons
            and last.file is None
            and last.ephemeral == piece.ephemeral
            and len(last.text) + 2 + len(piece.text) <= MAX_CONTENT
        ):
            out[-1] = Piece(f"{last.text}\n\n{piece.text}", piece.ephemeral, piece.buttons, piece.file)
        else:
            out.append(piece)
    return out
