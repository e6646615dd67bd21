"""The registry: all command specs, with the handler each feature binds to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.commands.spec import CommandSpec

if TYPE_CHECKING:
    from bot.context import Ctx
    from bot.replies import Intent

Handler = Callable[["Ctx", dict[str, Any]], Awaitable[list["Intent"]]]


class Registry:
    def __init__(self, specs: Iterable[CommandSpec]) -> None:
        self._specs: dict[str, CommandSpec] = {}
        self._handlers: dict[str, Handler] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"command {spec.name} declared twice")
            self._specs[spec.name] = spec

    def specs(self) -> tuple[CommandSpec, ...]:
        return tuple(self._specs.values())

    def get(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    def groups(self) -> dict[str, list[CommandSpec]]:
        grouped: dict[str, list[CommandSpec]] = {}
        for spec in self._specs.values():
            grouped.setdefault(spec.group, []).append(spec)
        return grouped

    def bind(self, name: str, handler: Handler) -> None:
        if name not in self._specs:
            raise KeyError(f"no command {name} to bind")
        self._handlers[name] = handler

    def handler(self, name: str) -> Handler:
        return self._handlers[name]

    def unbound(self) -> list[str]:
        return [name for name in self._specs if name not in self._handlers]
