"""When a community's pairing job fires next and what it runs then: part of `Rounds` (rounds.py).

The next fire is computed synchronously from a small cache (`_Timing`), refreshed whenever
something that moves it changes, because the timeline asks from its own loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.features.pairing.repo import Round, ScheduleRow
from bot.scheduling.recurrence import Recurrence, parse_recurrence
from bot.scheduling.timeline import Job
from bot.storage.communities import Community, Reader
from bot.storage.db import Tx

# The name the rounds have always logged under, so log filters keep working after the split.
log = logging.getLogger("bot.features.pairing.rounds")

_EPSILON = timedelta(microseconds=1)


@dataclass
class _Timing:
    recurrence: Recurrence | None = None
    not_before: datetime | None = None
    active: Round | None = None
    next_pause_end: datetime | None = None
    skipped: frozenset[str] = frozenset()  # scheduled starts a facilitator cancelled


class RoundTiming:
    """The schedule cache and the job; mixed into `Rounds`, whose attributes it uses."""

    # -- timing ----------------------------------------------------------------------------------

    def _recurrence(self, row: ScheduleRow | None) -> Recurrence | None:
        if row is None or row.recurrence is None or row.timezone is None or row.anchor is None:
            return None
        return parse_recurrence(row.recurrence, row.timezone, date.fromisoformat(row.anchor))

    async def refresh(self, db: Reader, community_id: int) -> _Timing:
        row = await self.repo.schedule(db, community_id)
        timing = _Timing(
            recurrence=self._recurrence(row),
            not_before=row.not_before if row is not None else None,
            active=await self.repo.active_round(db, community_id),
            next_pause_end=await self.repo.next_pause_end(db, community_id),
            skipped=await self.repo.skipped_slots(db, community_id, self.services.clock.now()),
        )
        self._timing[community_id] = timing
        return timing

    def put_job(self, community_id: int) -> None:
        async def refresh(cid: int = community_id) -> None:
            await self.refresh(self.services.db, cid)

        self.services.timeline.put(
            Job(
                key=f"pairing:{community_id}",
                next_fire=lambda after, cid=community_id: self.next_fire(cid, after),
                run=lambda instant, cid=community_id: self.run_due(cid, instant),
                refresh=refresh,
            )
        )

    def _slot_after(self, timing: _Timing, after: datetime) -> datetime | None:
        if timing.recurrence is None:
            return None
        if timing.not_before is not None and after < timing.not_before:
            after = timing.not_before - _EPSILON
        return timing.recurrence.next_after(after)

    def next_slot(self, community_id: int, after: datetime) -> datetime | None:
        """When the next round begins: the first scheduled start after `after` that is not taken
        by the running round (a round started by hand may have taken a start's place)."""
        timing = self._timing.get(community_id)
        if timing is None:
            return None
        slot = self._slot_after(timing, after)
        active = timing.active
        for _ in range(100):  # a start taken by the running round or cancelled is passed over
            if slot is None:
                break
            key = self.slot_key(community_id, slot)
            if not ((active is not None and active.slot_key == key) or key in timing.skipped):
                break
            slot = self._slot_after(timing, slot)
        return slot

    def next_fire(self, community_id: int, after: datetime) -> datetime | None:
        timing = self._timing.get(community_id)
        if timing is None:
            return None
        candidates: list[datetime] = []
        slot = self._slot_after(timing, after)
        if slot is not None:
            candidates.append(slot)
            heads_up = timedelta(hours=self._pairing.heads_up_hours)
            warned = self._slot_after(timing, after + heads_up)
            if warned is not None and warned - heads_up > after:
                candidates.append(warned - heads_up)
        active = timing.active
        if active is not None:
            if not active.mid_sent and active.midpoint_at > after:
                candidates.append(active.midpoint_at)
            if active.ends_at > after:
                candidates.append(active.ends_at)
        if timing.next_pause_end is not None and timing.next_pause_end > after:
            candidates.append(timing.next_pause_end)
        return min(candidates) if candidates else None

    def round_length(self, community_id: int, starts_at: datetime) -> timedelta:
        """A scheduled round lasts until the next slot; otherwise the configured default."""
        timing = self._timing.get(community_id)
        if timing is not None and timing.recurrence is not None:
            return timing.recurrence.next_after(starts_at) - starts_at
        return timedelta(days=self._pairing.default_round_days)

    # -- the job ---------------------------------------------------------------------------------

    async def run_due(self, community_id: int, now: datetime) -> None:
        """Everything due up to `now`, in time order: pause ends, the end of the running round,
        heads-ups and round starts from the schedule, then the running round's midpoint."""
        if not await self.services.owns_community(self.services.db, community_id):
            return
        async with self.services.db.transaction() as tx:
            community = await self.services.communities.get(tx, community_id)
            if community is None:
                return
            row = await self.repo.schedule(tx, community_id)
            prefix = row.prefix if row is not None else self.default_prefix(community)
            await self.end_pauses(tx, community, prefix, now)
            active = await self.repo.active_round(tx, community_id)
            if active is not None and active.ends_at <= now:
                await self.close_round(tx, community, prefix, active, now)
            recurrence = self._recurrence(row)
            if row is not None and recurrence is not None:
                await self._scheduled(tx, community, prefix, row, recurrence, now)
            active = await self.repo.active_round(tx, community_id)
            if active is not None and not active.mid_sent and active.midpoint_at <= now:
                await self.send_mid(tx, community, prefix, active, now)
            await self.refresh(tx, community_id)

    async def _scheduled(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        row: ScheduleRow,
        recurrence: Recurrence,
        now: datetime,
    ) -> None:
        checked = row.checked_until or now
        if now <= checked:
            return
        heads_up = timedelta(hours=self._pairing.heads_up_hours)
        floor = row.not_before or checked
        events: list[tuple[datetime, int, datetime]] = []
        for slot in recurrence.fires_between(checked + heads_up, now + heads_up, limit=100):
            if slot >= floor and slot >= now:
                events.append((slot - heads_up, 0, slot))
        for slot in recurrence.fires_between(checked, now, limit=100):
            if slot >= floor:
                events.append((slot, 1, slot))
        skipped: list[datetime] = []
        for _, kind, slot in sorted(events):
            if kind == 0:
                await self.heads_up(tx, community, prefix, row, slot, now)
                continue
            length = recurrence.next_after(slot) - slot
            late = now - slot
            grace = timedelta(minutes=self.services.settings.scheduling.grace_minutes)
            if late > max(grace, length / 2):
                skipped.append(slot)
                continue
            await self.start_round(
                tx, community, prefix, self.slot_key(community.id, slot), slot, slot + length, now
            )
        if skipped:
            # One line however long the bot was away (an old database started today).
            log.warning(
                "skipped %d pairing round%s for community %s (%s to %s): missed by too long",
                len(skipped),
                "" if len(skipped) == 1 else "s",
                community.id,
                skipped[0].isoformat(),
                skipped[-1].isoformat(),
            )
        await self.repo.set_checked(tx, community.id, now)

    @staticmethod
    def slot_key(community_id: int, slot: datetime) -> str:
        return f"r:{community_id}:{slot.isoformat()}"

    def channel_of(self, community: Community, row: ScheduleRow | None) -> str:
        return community.pairing_channel or (row.channel if row is not None else "")
