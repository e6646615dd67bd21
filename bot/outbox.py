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
        # Committed deliveries are also queued in memory, so the usual flush needs no read back.
        # The table stays the source of truth: at start, and after a failed delivery, flush
        # reads pending rows from it instead.
        self._queue: list[Delivery] = []
        self._scan_needed = True
        self._last_delivered = 0
        self._refs: dict[int, tuple[str, str]] = {}

    async def add(self, tx: Tx, community_id: int, intent: Intent) -> int:
        # Payloads may carry agreement text, so they are encrypted like any sensitive field.
        payload = self._cipher.encrypt(intent_to_json(intent), _PURPOSE)
        outbox_id = await tx.execute(
            "INSERT INTO outbox (community_id, payload, created_at) VALUES (?, ?, ?)",
            (community_id, payload, self._clock.now().isoformat()),
        )
        ref = self._refs.get(community_id)
        if ref is None:
            row = await tx.fetchone("SELECT platform, external_id FROM communities WHERE id = ?", (community_id,))
            ref = self._refs[community_id] = (row[0], row[1])
        delivery = Delivery(outbox_id, ref[0], ref[1], intent)
        tx.after_commit(lambda: self._queue.append(delivery))
        return outbox_id

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

        Each delivery's receipt is written as soon as it is delivered, so a crash can offer at
        most the one message in flight again (which the Matrix adapter makes harmless with the
        outbox id as its transaction id)."""
        delivered = 0
        async with self._flush_lock:
            while True:
                if self._scan_needed:
                    batch = await self.pending(batch_size)
                    if len(batch) < batch_size:
                        self._scan_needed = False
                else:
                    batch, self._queue = self._queue[:batch_size], self._queue[batch_size:]
                batch = [d for d in batch if d.outbox_id > self._last_delivered]
                if not batch:
                    if self._scan_needed or self._queue:
                        continue
                    return delivered
                try:
                    for delivery in batch:
                        try:
                            await sink.deliver(delivery)
                        except TransientDeliveryError as error:
                            log.warning(
                                "delivery %s postponed: %s", delivery.outbox_id, type(error).__name__
                            )
                            self._scan_needed = True
                            return delivered
                        self._last_delivered = delivery.outbox_id
                        await self.mark_sent([delivery.outbox_id])
                        delivered += 1
                except BaseException:
                    self._scan_needed = True  # what this batch did not deliver is still in the table
                    raise

    async def purge_sent(self, before_iso: str) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (before_iso,)
            )
