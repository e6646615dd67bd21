"""A journey's world: the people of one space, what they type, and what each of them sees.

A journey is written once against :class:`World` and played on every platform that has a world:
the console (a whole month, deterministic from the seed) and Matrix on the test Synapse (the first
week, see ``tests/journeys/matrix_world.py``). Lines are written without a prefix and with plain
``@name`` mentions; each world adds its prefix and turns names into its own mentions.

What a person sees is kept per person, in the order it reached them: answers to their own
commands, private messages, posts in the space's rooms, and their pair space's posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol


class WeekOver(Exception):
    """Raised by :meth:`World.clock` when the world plays only the first part of a journey."""


@dataclass(frozen=True)
class Seen:
    where: str  # "room" (a channel of the space), "private", or "pair"
    text: str


@dataclass
class Inbox:
    """Everything one person has seen, with a reading mark for :meth:`World.news`."""

    items: list[Seen] = field(default_factory=list)
    read: int = 0

    def since(self, mark: int) -> list[Seen]:
        return self.items[mark:]


def joined(items: list[Seen]) -> str:
    return "\n".join(item.text for item in items)


class World(Protocol):
    prefix: str  # what starts a command where the space talks ("/" or "!")
    facilitator: str  # the person who set the space up

    async def type(self, who: str, line: str, *, private: bool = False) -> str:
        """`who` types `line` in the space's room (or their private conversation with the bot);
        returns everything that reached `who` because of it, joined."""
        ...

    async def answer(self, who: str, text: str) -> str:
        """`who` types plain `text` (no command) in their private conversation with the bot: an
        answer to a check-in or a step-by-step question; returns what reached `who`."""
        ...

    async def clock(self, delta: timedelta) -> None:
        """Time passes; scheduled posts and reminders go out. Raises :class:`WeekOver` once the
        world's horizon is passed (after delivering what fell due)."""
        ...

    def inbox(self, who: str) -> Inbox: ...

    def news(self, who: str) -> str:
        """Everything that reached `who` since the last `news(who)`, joined."""
        ...

    def command(self, line: str) -> str:
        """How a command is written in the space's room on this platform: ``/pair join``."""
        ...
