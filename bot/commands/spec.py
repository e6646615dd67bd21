"""Commands as data: every command is declared once, and every adapter surfaces these specs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property


class Who(StrEnum):
    ANYONE = "anyone"
    FACILITATOR = "facilitator"
    # Parties to the thing the command acts on (an agreement, a pair); checked by the feature,
    # because only it knows who the parties are.
    PARTIES = "parties"


class Where(StrEnum):
    ANYWHERE = "anywhere"
    CHANNEL = "channel"  # needs a community channel (acts on or posts to it)
    PRIVATE = "private"  # about one member; answers always go privately


class ArgType(StrEnum):
    WORD = "word"  # one word
    TEXT = "text"  # the rest of the line
    INT = "int"
    MEMBER = "member"  # a mention of a member
    CHOICE = "choice"  # one of `choices`
    RECURRENCE = "recurrence"  # the rest of the line: a recurrence and an optional timezone
    TIMEZONE = "timezone"


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    required: bool = True
    min: int | None = None  # INT: smallest value; WORD/TEXT: shortest length
    max: int | None = None  # INT: largest value; WORD/TEXT: longest length
    choices: tuple[str, ...] = ()
    # Words (in English) a WORD/TEXT argument may be as a whole, or (`leading`) start with: each
    # locale's own word for them is read as the English one before the feature sees it
    # (`space-agreement propose proposito …` is `… purpose …`), see bot/commands/words.py.
    words: tuple[str, ...] = ()
    leading: tuple[str, ...] = ()

    def usage(self) -> str:
        if self.type is ArgType.RECURRENCE:
            return f"<{self.name}> [timezone]"
        label = self.name if not self.choices or len(self.choices) > 5 else "|".join(self.choices)
        return f"<{label}>" if self.required else f"[{label}]"

    @property
    def consumes_rest(self) -> bool:
        return self.type in (ArgType.TEXT, ArgType.RECURRENCE)


@dataclass(frozen=True)
class CommandSpec:
    name: str  # words separated by spaces: "questions schedule"
    summary_key: str  # message key of the one-line description
    args: tuple[Arg, ...] = ()
    who: Who = Who.ANYONE
    where: Where = Where.ANYWHERE
    # Answers to the person who ran it are private unless the command is about the channel.
    private_answer: bool = True
    autocomplete: tuple[str, ...] = ()  # arg names a platform may offer suggestions for
    # The message for words beyond the last argument, when a kinder one than "I wasn't
    # expecting ..." says what would work (e.g. an agreement naming too many people).
    too_many_key: str | None = None

    def __post_init__(self) -> None:
        seen_optional = False
        for index, arg in enumerate(self.args):
            if arg.consumes_rest and index != len(self.args) - 1:
                raise ValueError(f"{self.name}: {arg.name} takes the rest of the line, so comes last")
            if arg.required and seen_optional:
                raise ValueError(f"{self.name}: required {arg.name} after an optional argument")
            seen_optional = seen_optional or not arg.required

    @cached_property  # the parser compares every spec's path on every command
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def group(self) -> str:
        return self.path[0]

    @property
    def key(self) -> str:
        """A stable identifier, e.g. for message keys: "questions_schedule"."""
        return "_".join(self.path).replace("-", "_")

    def usage(self, prefix: str = "/") -> str:
        return " ".join([prefix + self.name, *(arg.usage() for arg in self.args)])
