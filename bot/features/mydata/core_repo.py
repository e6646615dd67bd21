"""Storage for the core's own part in export, forget and retention (core.py): pending
confirmations, messages waiting in the outbox, seen events and the adapters' private channels.
Question suggestions are the questions feature's, in `questions/personal_data.py`."""

from __future__ import annotations

from datetime import datetime

from bot.storage.communities import Reader
from bot.storage.db import Tx


class CoreDataRepo:
    async def confirmations_of(self, db: Reader, member_id: int) -> list[tuple[str, str]]:
        """(action, created_at) of each confirmation waiting for the member, oldest first."""
        rows = await db.fetchall(
            "SELECT action, created_at FROM confirmations WHERE member_id = ? ORDER BY id", (member_id,)
        )
        return [(row[0], row[1]) for row in rows]

    async def forget_confirmations(self, tx: Tx, member_id: int) -> None:
        await tx.execute("DELETE FROM confirmations WHERE member_id = ?", (member_id,))

    async def unsent(self, db: Reader, community_id: int) -> list[tuple[int, bytes]]:
        """(id, encrypted payload) of the community's messages not yet delivered."""
        rows = await db.fetchall(
            "SELECT id, payload FROM outbox WHERE community_id = ? AND sent_at IS NULL", (community_id,)
        )
        return [(row[0], row[1]) for row in rows]

    async def drop_unsent(self, tx: Tx, outbox_id: int) -> None:
        await tx.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))

    async def forget_private_channel(self, tx: Tx, platform: str, user_id: str) -> None:
        await tx.execute("DELETE FROM private_channels WHERE platform = ? AND user_id = ?", (platform, user_id))

    async def purge_receipts(self, tx: Tx, before: datetime) -> int:
        return await tx.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (before.isoformat(),)
        )

    async def purge_seen_events(self, tx: Tx, before: datetime) -> int:
        return await tx.execute("DELETE FROM seen_events WHERE seen_at < ?", (before.isoformat(),))

    async def purge_expired_confirmations(self, tx: Tx, now: datetime) -> int:
        return await tx.execute("DELETE FROM confirmations WHERE expires_at < ?", (now.isoformat(),))
