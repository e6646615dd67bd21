"""What a feature is to the app: the commands it owns, their handlers, and what it rebuilds when
the bot starts. `App` holds one list of features and builds the registry from their commands."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from bot.commands.registry import Registry
from bot.commands.spec import CommandSpec


class Feature(ABC):
    # The commands this feature declares, in the order help and the platforms show them. A class
    # attribute, so tools without an App (the Discord tree, the fuzzers) can read it too.
    commands: ClassVar[tuple[CommandSpec, ...]] = ()

    @abstractmethod
    def bind(self, registry: Registry) -> None:
        """Give each of this feature's commands its handler."""

    async def start(self) -> None:  # noqa: B027 - most features have nothing to rebuild
        """Rebuild scheduled jobs from storage and catch up on what fell due while down."""

    async def resync(self) -> None:  # noqa: B027 - most features have no jobs
        """Take in schedule changes another process sharing the store made since `start` (its
        jobs' timing is read again from storage; bot/scheduling/claims.py)."""
