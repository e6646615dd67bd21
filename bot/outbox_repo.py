"""Storage for the outbox: every statement on the outbox table lives here.

Payloads may carry agreement text, so they are encrypted like any sensitive field; this module
takes and returns intents in the clear and does the encryption itself."""

from __future__ import annotations

from datetime import datetime

from bot.replies import Delivery, Intent, intent_from_json, intent_to_json
from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx

_PURPOSE = "outbox.payload"


class OutboxRepo:
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    async def add(self, tx: Tx, community_id: int, intent: Intent, now: datetime) -> int:
        """Queue one intent for the community; its outbox id."""
        return await tx.execute(
            "INSERT INTO outbox (community_id, payload, created_at) VALUES (?, ?, ?)",
            (community_id, self._cipher.encrypt(intent_to_json(intent), _PURPOSE), now.isoformat()),
        )

    async def community_ref(self, db: Reader, community_id: int) -> tuple[str, str]:
        """(platform, external id) of the community: where its deliveries go."""
        row = await db.fetchone("SELECT platform, external_id FROM communities WHERE id = ?", (community_id,))
        return (row[0], row[1])

    async def pending(self, db: Reader, limit: int, after: int) -> list[Delivery]:
        """Undelivered rows in order, from the one after outbox id `after`."""
        rows = await db.fetchall(
            "SELECT o.id, c.platform, c.external_id, o.payload FROM outbox o"
            " JOIN communities c ON c.id = o.community_id"
            " WHERE o.sent_at IS NULL AND o.id > ? ORDER BY o.id LIMIT ?",
            (after, limit),
        )
        return [
            Delivery(
                outbox_id=row[0],
                platform=row[1],
                community_external_id=row[2],
                intent=intent_from_json(self._cipher.decrypt(row[3], _PURPOSE)),
            )
            for row in rows
        ]

    async def mark_sent(self, db: Database, outbox_ids: list[int], now: datetime) -> None:
        marks = ",".join("?" * len(outbox_ids))
        # Keep each row as a receipt but drop the content as soon as it is delivered.
        await db.execute(
            f"UPDATE outbox SET sent_at = ?, payload = ? WHERE id IN ({marks})",
            (now.isoformat(), b"", *outbox_ids),
        )

    async def release(self, db: Database, outbox_id: int, owner: str) -> None:
        """Give back a claimed row this process has stopped trying for now (postponed), so
        another process, or this one restarted, may deliver it without waiting for the lease."""
        await db.execute(
            "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ? AND claimed_by = ? AND sent_at IS NULL",
            (outbox_id, owner),
        )

    async def claim(self, db: Database, outbox_id: int, owner: str, lease_until_ms: int, now_ms: int) -> bool:
        """Take an unsent row for delivery by `owner` until `lease_until_ms`: False if it was sent
        meanwhile or another process holds it on a lease that has not run out. One conditional
        UPDATE, so two processes never both get it (PostgreSQL re-checks the condition once the
        other's update commits; SQLite has one writer)."""
        changed = await db.execute(
            "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE id = ? AND sent_at IS NULL"
            " AND (claimed_by IS NULL OR claimed_by = ? OR lease_until < ?)",
            (owner, lease_until_ms, outbox_id, owner, now_ms),
        )
        return changed == 1

    async def purge_sent(self, tx: Tx, before_iso: str) -> int:
        return await tx.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (before_iso,))

    async def unsent(self, db: Reader, community_id: int) -> list[tuple[int, Intent]]:
        """(id, intent) of the community's messages not yet delivered."""
        rows = await db.fetchall(
            "SELECT id, payload FROM outbox WHERE community_id = ? AND sent_at IS NULL", (community_id,)
        )
        return [(row[0], intent_from_json(self._cipher.decrypt(row[1], _PURPOSE))) for row in rows]

    async def drop(self, tx: Tx, outbox_id: int) -> None:
        await tx.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))
