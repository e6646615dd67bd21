"""Replies as intents: what the bot wants to happen, which each adapter renders its own way.

Texts are already rendered from prompts (in the community's locale); adapters only choose the
platform form: a Discord ephemeral reply or modal, a Matrix private room, a console line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class Answer:
    """An answer to the person who ran the command (private unless `private` is False)."""

    text: str
    private: bool = True


@dataclass(frozen=True)
class Reply:
    """An `Answer` addressed for the durable outbox: the answer to `user_id`'s command, kept with
    the command's effects so it is delivered even after a crash (see `App.handle_text(once=...)`).

    Rendered exactly as the answer it stands for: in `user_id`'s private space unless `private`
    is False, then where the command was typed (`channel`, in `thread` if it was typed in one);
    `here` means the command was typed in the member's own private space, so a private answer
    goes back to that very room."""

    user_id: str
    text: str
    private: bool = True
    channel: str = ""
    thread: str = ""
    here: bool = False


@dataclass(frozen=True)
class ChannelPost:
    """A post in a community channel; `thread_title` asks the platform to open a thread on it."""

    channel: str
    text: str
    thread_title: str | None = None
    thread_key: str | None = None  # our name for that thread (e.g. the question posting)
    pin: bool = False


@dataclass(frozen=True)
class PrivateMessage:
    """A message only `user_id` sees (Discord DM/ephemeral, Matrix private room, console)."""

    user_id: str
    text: str


@dataclass(frozen=True)
class ConfirmPrompt:
    """Ask `user_id` to answer yes or no; the answer reaches the core's confirmation step."""

    user_id: str
    text: str
    confirmation_id: int
    yes_label: str
    no_label: str


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    max_length: int
    required: bool = False
    value: str = ""
    multiline: bool = True


@dataclass(frozen=True)
class FormRequest:
    """A multi-field form (Discord modal). Text adapters walk the fields one by one instead."""

    user_id: str
    form_id: str
    title: str
    fields: tuple[FormField, ...] = ()
    text: str = ""  # how to answer in text, for adapters without forms


@dataclass(frozen=True)
class ActionButtons:
    """Buttons under a private message (Discord); text adapters show the commands instead."""

    user_id: str
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (custom id, label)


@dataclass(frozen=True)
class PairSpaceOpen:
    space_key: str
    member_ids: tuple[str, ...]
    title: str
    text: str


@dataclass(frozen=True)
class PairSpacePost:
    space_key: str
    text: str


@dataclass(frozen=True)
class PairSpaceClose:
    space_key: str
    text: str


@dataclass(frozen=True)
class RemoveMessage:
    """Take down the line `user_id` typed in `channel` (`message_ref`, the platform's reference
    the adapter gave with the command), on their own yes. Adapters that never report a removable
    line (see `Invocation.removable`) never get one."""

    user_id: str
    channel: str
    message_ref: str


@dataclass(frozen=True)
class PrivateFile:
    user_id: str
    filename: str
    content: str
    text: str


Intent = (
    Answer
    | Reply
    | ChannelPost
    | PrivateMessage
    | ConfirmPrompt
    | FormRequest
    | ActionButtons
    | PairSpaceOpen
    | PairSpacePost
    | PairSpaceClose
    | PrivateFile
    | RemoveMessage
)

_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Answer,
        Reply,
        ChannelPost,
        PrivateMessage,
        ConfirmPrompt,
        FormRequest,
        ActionButtons,
        PairSpaceOpen,
        PairSpacePost,
        PairSpaceClose,
        PrivateFile,
        RemoveMessage,
    )
}


def intent_to_json(intent: Intent) -> str:
    return json.dumps({"type": type(intent).__name__, "fields": asdict(intent)}, sort_keys=True)


def intent_from_json(text: str) -> Intent:
    data = json.loads(text)
    cls = _TYPES[data["type"]]
    values = dict(data["fields"])
    for item in fields(cls):
        value = values.get(item.name)
        if item.name == "fields" and isinstance(value, list):
            values[item.name] = tuple(FormField(**entry) for entry in value)
        elif isinstance(value, list):
            values[item.name] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return cls(**values)


@dataclass(frozen=True)
class Delivery:
    """An intent taken from the durable outbox, addressed to one community on one platform."""

    outbox_id: int
    platform: str
    community_external_id: str
    intent: Intent
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def destination(self) -> str:
        """Where it goes, as far as ordering is concerned: deliveries to one destination keep
        their order, and one that cannot be reached holds up only its own."""
        return destination_of(self.community_external_id, self.intent)


def destination_of(community: str, intent: Intent) -> str:
    """A key naming one room, channel, thread or member's private space in one community."""
    match intent:
        case ChannelPost():
            return f"{community}|channel|{intent.channel}"
        case Reply(private=False) if intent.channel:
            return f"{community}|channel|{intent.channel}"
        case RemoveMessage():
            return f"{community}|channel|{intent.channel}"
        case PairSpaceOpen() | PairSpacePost() | PairSpaceClose():
            return f"{community}|pair|{intent.space_key}"
        case Answer():
            return f"{community}|answer"
    # Everything else is for one member, in their private space with the bot.
    return f"{community}|member|{getattr(intent, 'user_id', '')}"
