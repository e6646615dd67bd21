"""Pairing rounds over time: heads-ups, matching, pair spaces, mid- and end-of-round check-ins,
pause ends, the silent-rounds question, re-consent and retention.

One Timeline job per community ("pairing:<id>"). Its next fire is computed synchronously from a
small cache (`_Timing`), refreshed whenever something that moves it changes. Every step is
idempotent: a round is claimed under a UNIQUE slot key, check-ins are UNIQUE per pair, member and
kind, pauses end by state, so a second run for the same instant changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.features.confirmations import Confirmations
from bot.features.counts import hidden
from bot.features.pairing.checkins import checkin_opening
from bot.features.pairing.matching import match
from bot.features.pairing.repo import Pair, PairingRepo, Participant, Round, ScheduleRow
from bot.features.questions.depth import at_depths, pair_depths, pick
from bot.features.resources import duty_of_care_text
from bot.outbox import Outbox
from bot.replies import ChannelPost, PairSpaceClose, PairSpaceOpen, PrivateMessage
from bot.scheduling.recurrence import Recurrence, parse_recurrence
from bot.scheduling.timeline import Job, Timeline
from bot.storage.communities import Community, CommunityRepo, Reader
from bot.storage.db import Database, Tx
from bot.texts.catalog import Catalog, Question

log = logging.getLogger(__name__)

JOIN_ACTION = "pair.join"
# A stay-or-pause question asked less than this long before a round is answered by the round
# after it instead: nobody is paused without a real chance to answer.
ANSWER_WINDOW = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)
# Someone who comes in during a running round is placed straight away only when more than this
# much of the round is left; otherwise the next round is hardly further off.
LATE_PLACEMENT_MIN = timedelta(days=1)


def format_when(instant: datetime, timezone: str) -> str:
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a %d %b %Y, %H:%M} ({timezone})"


@dataclass(frozen=True)
class MemberInfo:
    id: int
    user_id: str
    label: str


@dataclass
class _Timing:
    recurrence: Recurrence | None = None
    not_before: datetime | None = None
    active: Round | None = None
    next_pause_end: datetime | None = None
    skipped: frozenset[str] = frozenset()  # scheduled starts a facilitator cancelled


class Rounds:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        outbox: Outbox,
        timeline: Timeline,
        communities: CommunityRepo,
        confirmations: Confirmations,
        repo: PairingRepo,
        settings: Settings,
        seed: int,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._outbox = outbox
        self._timeline = timeline
        self._communities = communities
        self._confirmations = confirmations
        self.repo = repo
        self._settings = settings
        self._pairing = settings.pairing
        self._seed = seed
        self._timing: dict[int, _Timing] = {}

    # -- words -----------------------------------------------------------------------------------

    @staticmethod
    def default_prefix(community: Community) -> str:
        return "!" if community.platform == "matrix" else "/"

    def t(self, community: Community, prefix: str, key: str, /, **params: Any) -> str:
        return self._catalog.text(community.locale, key, prefix=prefix, **params)

    def teller(self, community: Community, prefix: str) -> Callable[..., str]:
        return lambda key, /, **params: self.t(community, prefix, key, **params)

    def consent_text(self, community: Community, prefix: str) -> str:
        duty = self._settings.duty_of_care
        return self.t(
            community,
            prefix,
            "pairing.consent",
            days=self._pairing.retention_days,
            duty=duty_of_care_text(duty, self._catalog, community.locale),
            duty_version=duty.version,
        )

    def consent_version(self, community: Community) -> str:
        """A hash of the consent text as shown (with the duty-of-care statement and its version),
        rendered with a fixed prefix so every platform agrees on it."""
        text = self.consent_text(community, "/")
        return hashlib.sha256(f"{community.locale}\n{text}".encode()).hexdigest()[:16]

    def names(self, community: Community, prefix: str, labels: list[str]) -> str:
        if len(labels) <= 1:
            return "".join(labels)
        return self.t(
            community, prefix, "pairing.and", first=", ".join(labels[:-1]), last=labels[-1]
        )

    @staticmethod
    def mention(community: Community, user_id: str) -> str:
        if community.platform == "discord":
            return f"<@{user_id}>"
        if community.platform == "matrix" or user_id.startswith("@"):
            return user_id
        return f"@{user_id}"

    def timezone_of(self, community: Community) -> str:
        timing = self._timing.get(community.id)
        if timing is not None and timing.recurrence is not None:
            return timing.recurrence.timezone
        return community.timezone

    def when(self, community: Community, instant: datetime) -> str:
        return format_when(instant, self.timezone_of(community))

    async def members_info(self, db: Reader, community_id: int) -> dict[int, MemberInfo]:
        rows = await self.repo.member_labels(db, community_id)
        return {row[0]: MemberInfo(row[0], row[1], row[2] or row[1]) for row in rows}

    async def prefix_for(self, db: Reader, community: Community) -> str:
        row = await self.repo.schedule(db, community.id)
        return row.prefix if row is not None else self.default_prefix(community)

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
            skipped=await self.repo.skipped_slots(db, community_id, self._clock.now()),
        )
        self._timing[community_id] = timing
        return timing

    def put_job(self, community_id: int) -> None:
        self._timeline.put(
            Job(
                key=f"pairing:{community_id}",
                next_fire=lambda after, cid=community_id: self.next_fire(cid, after),
                run=lambda instant, cid=community_id: self.run_due(cid, instant),
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
        async with self._db.transaction() as tx:
            community = await self._communities.get(tx, community_id)
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
            grace = timedelta(minutes=self._settings.scheduling.grace_minutes)
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

    # -- heads-up and re-consent -----------------------------------------------------------------

    async def heads_up(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        row: ScheduleRow | None,
        slot: datetime,
        now: datetime,
    ) -> None:
        key = self.slot_key(community.id, slot)
        if await self.repo.round_by_slot(tx, key) is not None:
            return
        length = self.round_length(community.id, slot)
        await self.repo.create_round(
            tx, community.id, key, "announced", slot, slot + length, now, True
        )
        participants = await self.repo.participants(tx, community.id)
        count = sum(
            1
            for p in participants
            if not p.paused or (p.paused_until is not None and p.paused_until <= slot)
        )
        if count == 0:
            count_text = self.t(community, prefix, "pairing.heads_up_none")
        elif hidden(count):
            count_text = self.t(community, prefix, "pairing.heads_up_few")
        else:
            count_text = self.t(community, prefix, "pairing.heads_up_many", count=count)
        # The example pause is as long as the round: typed any time before the round begins, it
        # ends within the round's last day, so its end does not place them late into the very
        # round they meant to sit out (see place_late), and they are free for the round after.
        days = max(1, length // timedelta(days=1))
        channel = self.channel_of(community, row)
        if channel:
            text = self.t(
                community,
                prefix,
                "pairing.heads_up",
                # No number yet: a round that ends up not running (too few people, a new
                # schedule, a cancel) gives it back, and a number shown must never repeat.
                when=self.when(community, slot),
                count=count_text,
                days=days,
            )
            await self._outbox.add(tx, community.id, ChannelPost(channel=channel, text=text))
        await self.ask_again(tx, community, prefix, participants)

    async def ask_again(
        self, tx: Tx, community: Community, prefix: str, participants: list[Participant]
    ) -> None:
        """Ask members whose agreed consent text is out of date, before their next round."""
        version = self.consent_version(community)
        stale = [p for p in participants if not p.paused and p.consent_version != version]
        if not stale:
            return
        info = await self.members_info(tx, community.id)
        text = self.t(
            community, prefix, "pairing.reconsent", consent=self.consent_text(community, prefix)
        )
        for p in stale:
            member = info.get(p.member_id)
            if member is None:
                continue
            prompt = await self._confirmations.request(
                tx,
                community.id,
                p.member_id,
                member.user_id,
                JOIN_ACTION,
                {"version": version},
                text,
                self.t(community, prefix, "pairing.consent_yes"),
                self.t(community, prefix, "pairing.consent_no"),
            )
            await self._outbox.add(tx, community.id, prompt)

    # -- starting a round ------------------------------------------------------------------------

    async def _opening_question(
        self, tx: Tx, community: Community, round_: Round, space_key: str, group: tuple[int, ...]
    ) -> Question | None:
        """A pair question of any task, as deep as the space's mix and these people's rounds
        together allow (light when they meet for the first time), one they haven't had first."""
        rounds_together, had = await self.repo.met_before(tx, community.id, group, round_.number)
        bank = [q for q in self._catalog.questions(community.locale) if q.audience == "pair"]
        pool = at_depths(bank, pair_depths(community.question_depth, rounds_together))
        return pick(pool, self._seed, community.id, round_.number, space_key, avoid=had)

    async def start_round(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        slot_key: str,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
    ) -> Round | None:
        """Match everyone who is in and open their spaces. None if this slot already ran, or if
        fewer than two people could be paired (then no round runs and none takes a number)."""
        existing = await self.repo.round_by_slot(tx, slot_key)
        if existing is not None and existing.state != "announced":
            return None
        await self._make_way(tx, community, prefix, now)
        participants = await self.repo.participants(tx, community.id)
        info = await self.members_info(tx, community.id)
        skipped = await self._pause_the_silent(tx, community, prefix, participants, info, starts_at)
        version = self.consent_version(community)
        eligible = [
            p.member_id
            for p in participants
            if not p.paused
            and p.id not in skipped
            and p.consent_version == version
            and p.member_id in info
        ]
        round_ = await self._round_for_slot(tx, community, existing, slot_key, starts_at, ends_at, now)
        channel = self.channel_of(community, await self.repo.schedule(tx, community.id))
        if round_.heads_up_at is None:
            await self.ask_again(tx, community, prefix, [p for p in participants if p.id not in skipped])
        if len(eligible) < 2:
            await self._call_off(tx, community, prefix, round_, eligible, info, channel, now)
            return None
        await self._pair_up(tx, community, prefix, round_, eligible, info, now)
        await self.repo.set_round_state(tx, round_.id, "active")
        if channel:
            text = self.t(community, prefix, "pairing.round_started", number=round_.number)
            await self._outbox.add(tx, community.id, ChannelPost(channel=channel, text=text))
        return await self.repo.round_of(tx, round_.id)

    async def _make_way(self, tx: Tx, community: Community, prefix: str, now: datetime) -> None:
        """Close the round still running, and drop pairs older than the retention period."""
        running = await self.repo.active_round(tx, community.id)
        if running is not None:
            await self.close_round(tx, community, prefix, running, now)
        retention = timedelta(days=self._pairing.retention_days)
        await self.repo.purge_before(tx, community.id, now - retention)

    async def _pause_the_silent(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        participants: list[Participant],
        info: dict[int, MemberInfo],
        starts_at: datetime,
    ) -> set[int]:
        """Pause (and tell) whoever left the stay-or-pause question unanswered long enough;
        the ids of the participants paused."""
        silent_paused: list[Participant] = []
        for p in participants:
            if not p.paused and p.asked_at is not None and p.asked_at <= starts_at - ANSWER_WINDOW:
                await self.repo.set_paused(tx, p.id, None)
                silent_paused.append(p)
        for p in silent_paused:
            member = info.get(p.member_id)
            if member is not None:
                await self._tell(
                    tx,
                    community,
                    member.user_id,
                    self.t(community, prefix, "pairing.silent_paused"),
                )
        return {p.id for p in silent_paused}

    async def _round_for_slot(
        self,
        tx: Tx,
        community: Community,
        existing: Round | None,
        slot_key: str,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
    ) -> Round:
        """The slot's announced round with its times brought up to date, or a new one."""
        if existing is not None:
            await self.repo.set_round_times(tx, existing.id, starts_at, ends_at)
            return await self.repo.round_of(tx, existing.id) or existing
        return await self.repo.create_round(
            tx, community.id, slot_key, "announced", starts_at, ends_at, now, False
        )

    async def _call_off(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        round_: Round,
        eligible: list[int],
        info: dict[int, MemberInfo],
        channel: str,
        now: datetime,
    ) -> None:
        """Nobody could be paired: no round runs, and none takes a number. Whoever is in hears
        the one message everyone left out of a round hears."""
        await self.repo.cancel_round(tx, round_, now, ran=False, free_slot=False)
        for member_id in eligible:
            await self._tell(
                tx, community, info[member_id].user_id, self.t(community, prefix, "pairing.not_placed")
            )
        if channel:
            key = "pairing.round_empty" if not eligible else "pairing.round_too_few"
            await self._outbox.add(
                tx, community.id, ChannelPost(channel=channel, text=self.t(community, prefix, key))
            )

    async def _pair_up(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        round_: Round,
        eligible: list[int],
        info: dict[int, MemberInfo],
        now: datetime,
    ) -> None:
        """Match the eligible, open a space per group, tell whoever is left out, count."""
        # Not-with entries name people by a keyed hash of who they are in the community, so an
        # entry finds them again after they erase their data and return, and never a stranger.
        eligible_set = set(eligible)
        blind = await self.repo.blinder(tx, now)
        by_hash = {blind(community.id, info[m].user_id): m for m in eligible}
        not_with = [
            (owner, by_hash[other])
            for owner, other in await self.repo.all_not_with(tx, community.id, now)
            if owner in eligible_set and other in by_hash
        ]
        result = match(
            eligible,
            not_with=not_with,
            history=await self.repo.history(tx, community.id),
            current_round=round_.number,
            last_triad=await self.repo.last_triad(tx, community.id, round_.number),
            seed=f"{self._seed}:{community.id}:{round_.number}",
        )
        for n, group in enumerate(result.groups, start=1):
            await self._open_space(
                tx, community, prefix, round_, f"pair-{round_.id}-{n}", tuple(group), n, info, now
            )
        # One message for everyone left out, whatever the reason, so a block cannot be told
        # apart from numbers or pauses.
        for member_id in result.unplaced:
            await self._tell(
                tx,
                community,
                info[member_id].user_id,
                self.t(community, prefix, "pairing.not_placed"),
            )
        await self.repo.set_round_counts(
            tx, round_.id, len(result.groups), sum(len(group) for group in result.groups)
        )

    async def _open_space(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        round_: Round,
        space_key: str,
        group: tuple[int, ...],
        n: int,
        info: dict[int, MemberInfo],
        now: datetime,
        origin: int | None = None,
    ) -> None:
        """Record a group and open its space with the round's introduction."""
        question = await self._opening_question(tx, community, round_, space_key, group)
        members = [info[m] for m in group]
        await self.repo.create_pair(
            tx, community.id, round_.id, space_key, group, question.id if question else "", now, origin
        )
        names = self.names(community, prefix, [m.label for m in members])
        text = self.t(
            community,
            prefix,
            "pairing.space_intro",
            names=names,
            number=round_.number,
            until=self.when(community, round_.ends_at),
            question=self._opener_text(community, prefix, question),
            mentions=" ".join(self.mention(community, m.user_id) for m in members),
            anyone=self.t(community, prefix, "pairing.anyone_two" if len(members) == 2 else "pairing.anyone_more"),
        )
        await self._outbox.add(
            tx,
            community.id,
            PairSpaceOpen(
                space_key=space_key,
                member_ids=tuple(m.user_id for m in members),
                title=self.t(
                    community, prefix, "pairing.space_title", number=round_.number, names=names
                ),
                text=text,
            ),
        )

    def _opener_text(self, community: Community, prefix: str, question: Question | None) -> str:
        if question is None:
            return ""
        if not question.content_note:
            return question.text
        # The note comes before the question, so both can choose before reading it.
        return self.t(
            community, prefix, "pairing.opener_noted", note=question.content_note, question=question.text
        )

    def free_for(self, p: Participant, version: str, starts_at: datetime) -> bool:
        """Whether a participant can be paired in a round starting then: not paused, agreed to
        the current words, and not about to be paused for not answering the silent-rounds ask."""
        silent = p.asked_at is not None and p.asked_at <= starts_at - ANSWER_WINDOW
        return not p.paused and p.consent_version == version and not silent

    # -- people who come in during a running round -----------------------------------------------

    async def place_late(
        self, tx: Tx, community: Community, prefix: str, member_id: int, now: datetime
    ) -> Round | None:
        """Place someone who joined, resumed or came back from a pause while a round runs: with
        someone else waiting in this round, or into a pair of two as a group of three, by the
        usual rules (never with anyone on either not-with list, nobody they met this round, and
        someone not met before over someone met before). The round it placed them in, or None."""
        round_ = await self.repo.active_round(tx, community.id)
        if round_ is None or round_.ends_at - now <= LATE_PLACEMENT_MIN:
            return None
        version = self.consent_version(community)
        info = await self.members_info(tx, community.id)
        participants = {p.member_id: p for p in await self.repo.participants(tx, community.id)}
        me = participants.get(member_id)
        if me is None or member_id not in info or not self.free_for(me, version, now):
            return None
        pairs = await self.repo.pairs_of_round(tx, round_.id)
        in_round = {m for pair in pairs for m in pair.member_ids}
        if member_id in in_round:
            return None  # already placed, or they ended a pair this round: the next one it is
        blind = await self.repo.blinder(tx, now)
        by_hash = {blind(community.id, info[m].user_id): m for m in participants if m in info}
        apart = {
            frozenset((owner, by_hash[other]))
            for owner, other in await self.repo.all_not_with(tx, community.id, now)
            if other in by_hash
        }
        last_met = {
            frozenset((a, b)): number for a, b, number in await self.repo.history(tx, community.id)
        }
        # As in matching: nobody in two triads in a row when that can be avoided (placing still
        # comes first, and a repeat weighs more than a second triad).
        last_triad = set(await self.repo.last_triad(tx, community.id, round_.number))

        def allowed(others: tuple[int, ...]) -> bool:
            return all(frozenset((member_id, o)) not in apart for o in others)

        def score(others: tuple[int, ...], kind: int) -> tuple[bool, int, int, int, bytes]:
            met = max((last_met.get(frozenset((member_id, o)), 0) for o in others), default=0)
            again = sum(1 for m in (member_id, *others) if m in last_triad) if kind else 0
            tie = hashlib.sha256(f"{self._seed}:{round_.id}:{member_id}:{others}".encode()).digest()
            return met > 0, again, met, kind, tie

        options: list[tuple[tuple[bool, int, int, int, bytes], tuple[int, ...], Pair | None]] = []
        for other, p in sorted(participants.items()):
            if other == member_id or other in in_round or other not in info:
                continue
            if self.free_for(p, version, now) and allowed((other,)):
                options.append((score((other,), 0), (other,), None))
        for pair in pairs:
            if (
                pair.state == "active"
                and len(pair.member_ids) == 2
                and all(m in info for m in pair.member_ids)
                and allowed(pair.member_ids)
            ):
                options.append((score(pair.member_ids, 1), pair.member_ids, pair))
        if not options:
            return None
        _, others, grown = min(options, key=lambda option: option[0])
        group = tuple(sorted((member_id, *others)))
        n = len(pairs) + 1
        if grown is not None:
            # The pair's space closes and the three carry on in a fresh one, as when a triad
            # becomes a pair: a platform space cannot always take in someone new.
            await self.repo.set_pair_state(tx, grown.id, "closed", now)
            await self._outbox.add(
                tx,
                community.id,
                PairSpaceClose(grown.space_key, self.t(community, prefix, "pairing.space_grown")),
            )
            for m in grown.member_ids:
                await self._tell(
                    tx,
                    community,
                    info[m].user_id,
                    self.t(community, prefix, "pairing.triad_joined", number=round_.number),
                )
        await self._open_space(
            tx,
            community,
            prefix,
            round_,
            f"pair-{round_.id}-{n}",
            group,
            n,
            info,
            now,
            grown.id if grown is not None else None,
        )
        if grown is not None:
            await self.repo.add_round_counts(tx, round_.id, 0, 1)
        else:
            await self.repo.add_round_counts(tx, round_.id, 1, 2)
        return round_

    async def cancel(
        self, tx: Tx, community: Community, prefix: str, now: datetime
    ) -> tuple[str, Round] | None:
        """`pair cancel`: end the running round now (its spaces close with a neutral word and no
        end-of-round check-in), or else skip the next announced one. What was cancelled, or None."""
        running = await self.repo.active_round(tx, community.id)
        if running is not None:
            for pair in await self.repo.pairs_of_round(tx, running.id, "active"):
                text = self.t(community, prefix, "pairing.space_cancelled", number=running.number)
                await self._outbox.add(tx, community.id, PairSpaceClose(pair.space_key, text))
                await self.repo.set_pair_state(tx, pair.id, "closed", now)
            # It ran, so it keeps its number; a scheduled start it took the place of can run.
            await self.repo.cancel_round(tx, running, now, ran=True, free_slot=True)
            await self._unwait(tx, community, prefix, running, now)
            return "running", running
        announced = await self.repo.announced_rounds(tx, community.id)
        if not announced:
            return None
        upcoming = announced[0]
        await self.repo.cancel_round(tx, upcoming, now, ran=False, free_slot=False)
        channel = self.channel_of(community, await self.repo.schedule(tx, community.id))
        if channel:
            text = self.t(
                community, prefix, "pairing.round_called_off", when=self.when(community, upcoming.starts_at)
            )
            await self._outbox.add(tx, community.id, ChannelPost(channel=channel, text=text))
        return "announced", upcoming

    async def _unwait(
        self, tx: Tx, community: Community, prefix: str, cancelled: Round, now: datetime
    ) -> None:
        """A schedule set while `cancelled` ran waited for its end; with it gone, the schedule
        starts at its next slot from now (never before its own `from` date), announced as a
        new schedule would be when that slot is near."""
        row = await self.repo.schedule(tx, community.id)
        if row is None or row.not_before is None or row.not_before != cancelled.ends_at:
            return
        floor = now
        if row.anchor and row.timezone:
            tz = ZoneInfo(row.timezone)
            floor = max(now, datetime.combine(date.fromisoformat(row.anchor), datetime.min.time(), tz))
        await self.repo.set_not_before(tx, community.id, floor)
        await self.refresh(tx, community.id)
        first = self.next_slot(community.id, now)
        heads_up = timedelta(hours=self._pairing.heads_up_hours)
        if first is not None and first - heads_up <= now:
            await self.heads_up(tx, community, prefix, await self.repo.schedule(tx, community.id), first, now)

    # -- during and after a round ----------------------------------------------------------------

    async def _tell(self, tx: Tx, community: Community, user_id: str, text: str) -> None:
        await self._outbox.add(tx, community.id, PrivateMessage(user_id, text))

    async def _open_checkins(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        round_: Round,
        pairs: list[Pair],
        kind: str,
        now: datetime,
    ) -> None:
        """Open a `kind` check-in for every member of `pairs` who is still in pairing."""
        if not pairs:
            return
        info = await self.members_info(tx, community.id)
        joined = {p.member_id for p in await self.repo.participants(tx, community.id)}
        for pair in pairs:
            for member_id in pair.member_ids:
                if member_id not in joined or member_id not in info:
                    continue  # they left pairing: nothing more is sent to them
                if (
                    await self.repo.open_checkin(tx, community.id, pair.id, member_id, kind, now)
                    is None
                ):
                    continue
                others = [info[m].label for m in pair.member_ids if m != member_id and m in info]
                text = checkin_opening(
                    self._catalog,
                    community.locale,
                    self.teller(community, prefix),
                    kind,
                    number=round_.number,
                    names=self.names(community, prefix, others),
                )
                await self._tell(tx, community, info[member_id].user_id, text)

    async def send_mid(
        self, tx: Tx, community: Community, prefix: str, round_: Round, now: datetime
    ) -> None:
        pairs = await self.repo.pairs_of_round(tx, round_.id, "active")
        await self._open_checkins(tx, community, prefix, round_, pairs, "mid", now)
        await self.repo.set_mid_sent(tx, round_.id)

    async def close_round(
        self, tx: Tx, community: Community, prefix: str, round_: Round, now: datetime
    ) -> None:
        pairs = await self.repo.pairs_of_round(tx, round_.id)
        active = [pair for pair in pairs if pair.state == "active"]
        await self._open_checkins(tx, community, prefix, round_, active, "end", now)
        for pair in active:
            text = self.t(community, prefix, "pairing.space_close", number=round_.number)
            await self._outbox.add(tx, community.id, PairSpaceClose(pair.space_key, text))
            await self.repo.set_pair_state(tx, pair.id, "closed", now)
        await self.repo.set_round_state(tx, round_.id, "closed", now)
        await self._count_silence(tx, community, prefix, round_, pairs, now)

    async def _count_silence(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        round_: Round,
        pairs: list[Pair],
        now: datetime,
    ) -> None:
        """A member of this round who did nothing at all during it has one more silent round;
        at the configured number they are asked, privately, whether to stay, pause or leave."""
        in_round = {member_id for pair in pairs for member_id in pair.member_ids}
        threshold = self._pairing.silent_rounds_before_asking
        info = await self.members_info(tx, community.id)
        joined = {p.member_id: p for p in await self.repo.participants(tx, community.id)}
        for member_id in sorted(in_round):
            p = joined.get(member_id)
            if p is None or p.last_active_at >= round_.starts_at:
                continue
            silent = p.silent_rounds + 1
            asked = p.asked_at
            if silent >= threshold and asked is None and member_id in info:
                asked = now
                text = self.t(community, prefix, "pairing.silent_ask", rounds=silent)
                await self._tell(tx, community, info[member_id].user_id, text)
            await self.repo.set_silence(tx, p.id, silent, asked)

    async def end_pairs_of(
        self, tx: Tx, community: Community, prefix: str, pair: Pair, leaver: int, now: datetime
    ) -> None:
        """`pair end` (or leaving): the pair ends for everyone in it, with a neutral notice. When
        someone steps out of a triad, the other two carry on in a fresh space of their own."""
        info = await self.members_info(tx, community.id)
        await self.repo.set_pair_state(tx, pair.id, "ended", now)
        await self._outbox.add(
            tx,
            community.id,
            PairSpaceClose(pair.space_key, self.t(community, prefix, "pairing.space_ended")),
        )
        others = [m for m in pair.member_ids if m != leaver and m in info]
        if len(others) >= 2:
            round_ = await self.repo.round_of(tx, pair.round_id)
            assert round_ is not None
            space_key = f"{pair.space_key}b"
            await self.repo.create_pair(
                tx, community.id, pair.round_id, space_key, tuple(others), "", now, pair.id
            )
            names = self.names(community, prefix, [info[m].label for m in others])
            text = self.t(
                community,
                prefix,
                "pairing.space_continue",
                names=names,
                number=round_.number,
                until=self.when(community, round_.ends_at),
            )
            await self._outbox.add(
                tx,
                community.id,
                PairSpaceOpen(
                    space_key=space_key,
                    member_ids=tuple(info[m].user_id for m in others),
                    title=self.t(
                        community, prefix, "pairing.space_title", number=round_.number, names=names
                    ),
                    text=text,
                ),
            )
            for m in others:
                await self._tell(
                    tx,
                    community,
                    info[m].user_id,
                    self.t(community, prefix, "pairing.triad_notice"),
                )
        else:
            for m in others:
                await self._tell(
                    tx,
                    community,
                    info[m].user_id,
                    self.t(community, prefix, "pairing.ended_notice"),
                )

    async def end_pauses(self, tx: Tx, community: Community, prefix: str, now: datetime) -> None:
        ending = await self.repo.pauses_ending(tx, community.id, now)
        if not ending:
            return
        info = await self.members_info(tx, community.id)
        for p in ending:
            await self.repo.set_active(tx, p.id)
            member = info.get(p.member_id)
            if member is not None:
                placed = await self.place_late(tx, community, prefix, p.member_id, now)
                text = self.t(
                    community,
                    prefix,
                    "pairing.pause_ended",
                    next=self.next_round_text(community, prefix, now)
                    if placed is None
                    else self.t(community, prefix, "pairing.placed_late", number=placed.number),
                )
                await self._tell(tx, community, member.user_id, text)

    def next_round_text(self, community: Community, prefix: str, now: datetime) -> str:
        slot = self.next_slot(community.id, now)
        if slot is None:
            return self.t(community, prefix, "pairing.next_round_none")
        return self.t(community, prefix, "pairing.next_round", when=self.when(community, slot))
