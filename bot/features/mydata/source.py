"""How features take part in `mydata export`, `mydata forget` and the retention purge.

Each feature that stores anything about members registers a source. Export gathers what is the
member's own (decrypted); forget erases it inside one transaction; purge drops what is older than
the retention settings. Nothing of another member's is ever exported."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.context import Ctx
from bot.storage.db import Tx


class PersonalDataSource(Protocol):
    name: str  # the section of the export document, e.g. "pairing"

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        """Everything this feature stores about `ctx.member` that is theirs to see."""
        ...

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        """Erase what this feature stores about `ctx.member` (notices to others go via the outbox).
        The member row itself is deleted afterwards by the mydata feature."""
        ...

    async def purge(self, tx: Tx, now: datetime) -> int:
        """Delete what is past its retention period; returns how many rows went."""
        ...
