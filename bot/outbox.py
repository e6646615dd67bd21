"""The durable outbox: messages are written in the same transaction as the change that causes
them, then delivered. A crash between "decided" and "sent" neither loses nor doubles a message
(delivery is retried from the table; adapters use the outbox id to make a retry idempotent where
the platform allows, e.g. Matrix transaction ids).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.clock import Clock
from bot.replies import Delivery, Intent, intent_from_json, intent_to_json
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx

log = logging.getLogger(__name__)

_PURPOSE = "outbox.payload"


class Sink(Protocol):
    """Where an adapter receives deliveries. Raise only for transient failures (retried later);
    permanent ones (a member who closed their DMs) are the adapter's to handle and log."""

    async def deliver(self, delivery: Delivery) -> None: ...


class TransientDeliveryError(Exception):
    pass


class Outbox:
    def __init__(self, db: Database, cipher: FieldCipher, clock: Clock) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._flush_lock = asyncio.Lock()

    async def add(self, tx: Tx, community_id: int, intent: Intent) -> int:
        # Payloads may carry agreement text, so they are encrypted like any sensitive field.
        payload = self._cipher.encrypt(intent_to_json(intent), _PURPOSE)
        return await tx.execute(
            "INSERT INTO outbox (community_id, payload, created_at) VALUES (?, ?, ?)",
            (community_id, payload, self._clock.now().isoformat()),
        )

    async def pending(self, limit: int = 500) -> list[Delivery]:
        rows = await self._db.fetchall(
            "SELECT o.id, c.platform, c.external_id, o.payload FROM outbox o"
            " JOIN communities c ON c.id = o.community_id"
            " WHERE o.sent_at IS NULL ORDER BY o.id LIMIT ?",
            (limit,),
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

    async def mark_sent(self, outbox_ids: list[int]) -> None:
        if not outbox_ids:
            return
        marks = ",".join("?" * len(outbox_ids))
        # Keep each row as a receipt but drop the content as soon as it is delivered.
        await self._db.execute(
            f"UPDATE outbox SET sent_at = ?, payload = X'' WHERE id IN ({marks})",
            (self._clock.now().isoformat(), *outbox_ids),
        )

    async def flush(self, sink: Sink, batch_size: int = 200) -> int:
        """Deliver everything pending, in order. Stops at the first transient failure.

        Receipts are written per batch: a crash mid-batch re-delivers that batch's tail, which
        adapters make harmless where the platform allows (Matrix transaction ids)."""
        delivered = 0
        async with self._flush_lock:
            while True:
                batch = await self.pending(batch_size)
                done: list[int] = []
                try:
                    for delivery in batch:
                        try:
                            await sink.deliver(delivery)
                        except TransientDeliveryError as error:
                            log.warning(
                                "delivery %s postponed: %s", delivery.outbox_id, type(error).__name__
                            )
                            return delivered
                        done.append(delivery.outbox_id)
                        delivered += 1
                finally:
                    await self.mark_sent(done)
                if len(batch) < batch_size:
                    return delivered

    async def purge_sent(self, before_iso: str) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (before_iso,)
            )
