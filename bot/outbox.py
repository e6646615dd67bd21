"""The durable outbox: messages are written in the same transaction as the change that causes
them, then delivered. A crash between "decided" and "sent" neither loses nor doubles a message
(delivery is retried from the table; adapters use the outbox id to make a retry idempotent where
the platform allows, e.g. Matrix transaction ids).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.outbox_repo import OutboxRepo
from bot.ownership import Owns, owns_everything
from bot.replies import Delivery, Intent
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where an adapter receives deliveries. Raise only for transient failures (retried later);
    permanent ones (a member who closed their DMs) are the adapter's to handle and log.

    A sink may set `parallel_destinations = True` to be given several destinations at once
    (each still in order): one slow room then does not hold up the others within a flush."""

    async def deliver(self, delivery: Delivery) -> None: ...


class TransientDeliveryError(Exception):
    pass


class Outbox:
    """Several processes may share the store (docs/architecture.md, "Several processes"): each
    delivers only what `owns` says it serves (the destination's platform connection: Discord
    shards, a Matrix account), claims each row just before delivering it (`instance` and a lease
    in wall time), and scans the table every `scan_every` for rows another process wrote or left
    behind (killed mid-delivery: its rows are taken over once their lease has run out)."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        clock: Clock,
        *,
        instance: str = "main",
        lease: timedelta = timedelta(minutes=2),
        scan_every: timedelta = timedelta(seconds=10),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._repo = OutboxRepo(cipher)
        self._clock = clock
        self.instance = instance
        self.owns: Owns = owns_everything
        self._lease_ms = int(lease.total_seconds() * 1000)
        self._scan_every = scan_every.total_seconds()
        self._wall = wall
        self._last_scan = time.monotonic()
        self._flush_lock = asyncio.Lock()
        # Committed deliveries are also queued in memory, so the usual flush needs no read back.
        # The table stays the source of truth: at start, and after a failed delivery, flush
        # reads pending rows from it instead.
        self._queue: list[Delivery] = []
        self._scan_needed = True
        self._refs: dict[int, tuple[str, str]] = {}

    async def add(self, tx: Tx, community_id: int, intent: Intent) -> int:
        outbox_id = await self._repo.add(tx, community_id, intent, self._clock.now())
        ref = self._refs.get(community_id)
        if ref is None:
            ref = await self._repo.community_ref(tx, community_id)
            # Cached once committed: a rolled-back community's id may be given to another.
            tx.after_commit(lambda: self._refs.__setitem__(community_id, ref))
        delivery = Delivery(outbox_id, ref[0], ref[1], intent)
        tx.after_commit(lambda: self._queue.append(delivery))
        return outbox_id

    def rescan(self) -> None:
        """Read the table at the next flush (rows other processes wrote or left behind)."""
        self._scan_needed = True

    async def pending(self, limit: int = 500, after: int = 0) -> list[Delivery]:
        """Undelivered rows in order, from the one after outbox id `after`."""
        return await self._repo.pending(self._db, limit, after)

    async def mark_sent(self, outbox_ids: list[int]) -> None:
        if not outbox_ids:
            return
        await self._repo.mark_sent(self._db, outbox_ids, self._clock.now())

    async def flush(self, sink: Sink, batch_size: int = 200) -> int:
        """Deliver everything pending, in order within each destination (`Delivery.destination`:
        a room or channel, a pair's space, a member's private space).

        A transient failure holds up only its destination: its later messages wait in the table
        for the next flush (which starts from the one that failed), the others go on. Each
        delivery's receipt is written as soon as it is delivered, so a crash can offer at most
        the message in flight again per destination (which the Matrix adapter makes harmless
        with the outbox id as its transaction id)."""
        delivered = 0
        parallel = bool(getattr(sink, "parallel_destinations", False))
        async with self._flush_lock:
            if time.monotonic() - self._last_scan >= self._scan_every:
                # Rows other processes sharing the store wrote for what this one serves, or left
                # unsent when they were killed, are only in the table.
                self._scan_needed = True
            held: set[str] = set()  # destinations that failed in this flush
            done: set[int] = set()  # delivered in this flush (a scan may meet what is queued)
            after = -1  # where the table scan in progress has got to (-1: none in progress)
            try:
                while True:
                    if self._scan_needed:
                        if after < 0:
                            # Everything queued has committed, so the scan finds it in the table.
                            after, self._queue = 0, []
                            self._last_scan = time.monotonic()
                        batch = await self.pending(batch_size, after)
                        if batch:
                            after = batch[-1].outbox_id
                        if len(batch) < batch_size:
                            self._scan_needed, after = False, -1
                    else:
                        batch, self._queue = self._queue[:batch_size], self._queue[batch_size:]
                    batch = [
                        d for d in batch if d.outbox_id not in done and self.owns(d.platform, d.community_external_id)
                    ]
                    if not batch:
                        if self._scan_needed or self._queue:
                            continue
                        return delivered
                    if parallel:
                        lanes: dict[str, list[Delivery]] = {}
                        for delivery in batch:
                            lanes.setdefault(delivery.destination, []).append(delivery)
                        counts = await asyncio.gather(
                            *(self._lane(sink, lane, held, done) for lane in lanes.values()),
                            return_exceptions=True,
                        )
                        for count in counts:
                            if isinstance(count, BaseException):
                                raise count
                            delivered += count
                    else:
                        delivered += await self._lane(sink, batch, held, done)
            except BaseException:
                self._scan_needed = True  # what this flush did not deliver is still in the table
                raise
            finally:
                if held:
                    self._scan_needed = True

    async def _lane(self, sink: Sink, deliveries: list[Delivery], held: set[str], done: set[int]) -> int:
        """Deliver in order, skipping destinations that failed in this flush."""
        delivered = 0
        for delivery in deliveries:
            destination = delivery.destination
            if destination in held:
                continue
            now_ms = int(self._wall() * 1000)
            if not await self._repo.claim(
                self._db, delivery.outbox_id, self.instance, now_ms + self._lease_ms, now_ms
            ):
                # Sent meanwhile, or another process is delivering it: the destination's later
                # messages wait for the next flush, so they never overtake it.
                held.add(destination)
                continue
            try:
                await sink.deliver(delivery)
            except TransientDeliveryError as error:
                log.warning("delivery %s postponed: %s", delivery.outbox_id, type(error).__name__)
                await self._repo.release(self._db, delivery.outbox_id, self.instance)
                held.add(destination)
                continue
            done.add(delivery.outbox_id)
            await self.mark_sent([delivery.outbox_id])
            delivered += 1
        return delivered

    async def purge_sent(self, before_iso: str) -> int:
        async with self._db.transaction() as tx:
            return await self._repo.purge_sent(tx, before_iso)

    async def purge_receipts(self, tx: Tx, before: datetime) -> int:
        """Drop the receipts of messages delivered before `before` (retention)."""
        return await self._repo.purge_sent(tx, before.isoformat())

    async def drop_unsent_to(self, tx: Tx, community_id: int, user_id: str) -> None:
        """Drop the community's undelivered messages addressed to this member (mydata forget).
        Payloads are encrypted, so each pending one is opened to see who it is for."""
        for outbox_id, intent in await self._repo.unsent(tx, community_id):
            if getattr(intent, "user_id", None) == user_id:
                await self._repo.drop(tx, outbox_id)
