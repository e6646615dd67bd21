"""Placing someone who comes in while a round runs: part of `Rounds` (rounds.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from bot.features.pairing.circles import MAX_SIZE
from bot.features.pairing.preferences import shared_language
from bot.features.pairing.repo import Pair, Round
from bot.features.pairing.rounds_base import LATE_PLACEMENT_MIN, MemberInfo
from bot.replies import PairSpaceClose
from bot.storage.communities import Community
from bot.storage.db import Tx


class LatePlacement:
    """Late placement; mixed into `Rounds`, whose attributes it uses."""

    # -- people who come in during a running round -----------------------------------------------

    async def place_late(
        self, tx: Tx, community: Community, prefix: str, member_id: int, now: datetime
    ) -> Round | None:
        """Place someone who joined, resumed or came back from a pause while a round runs: with
        someone else waiting in this round, or into a group that can grow (see _grow_kind), by
        the usual rules (never with anyone on either not-with list, nobody they met this round,
        someone not met before first, a language the group shares). The round it placed them in,
        or None."""
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
        allowed = await self._late_rules(tx, community, member_id, [m for m in participants if m in info], info, now)
        last_met = {frozenset((a, b)): n for a, b, n in await self.repo.history(tx, community.id)}
        # As in matching: nobody in two triads in a row when that can be avoided (placing still
        # comes first, and a repeat weighs more than a second triad).
        last_triad = set(await self.repo.last_triad(tx, community.id, round_.number))

        circles = community.pair_size > 2

        def score(others: tuple[int, ...], kind: int) -> tuple[bool, int, int, int, bytes]:
            met = max((last_met.get(frozenset((member_id, o)), 0) for o in others), default=0)
            tie = hashlib.sha256(f"{self.services.seed}:{round_.id}:{member_id}:{others}".encode()).digest()
            if circles:  # no triad rotation in circles: the kind of place, then the smaller
                return met > 0, kind, met, len(others), tie
            again = sum(1 for m in (member_id, *others) if m in last_triad) if kind else 0
            return met > 0, again, met, kind, tie

        options: list[tuple[tuple[bool, int, int, int, bytes], tuple[int, ...], Pair | None]] = []
        for other, p in sorted(participants.items()):
            if other == member_id or other in in_round or other not in info:
                continue
            if self.free_for(p, version, now) and allowed((other,)):
                # In circles, a pair with someone waiting comes after a circle with room.
                options.append((score((other,), 1 if circles else 0), (other,), None))
        for pair in pairs:
            kind = self._grow_kind(community, pair)
            if (
                kind is not None
                and pair.state == "active"
                and all(m in info for m in pair.member_ids)
                and allowed(pair.member_ids)
            ):
                options.append((score(pair.member_ids, kind), pair.member_ids, pair))
        if not options:
            return None
        _, others, grown = min(options, key=lambda option: option[0])
        await self._seat_late(tx, community, prefix, round_, member_id, others, grown, len(pairs) + 1, info, now)
        return round_

    @staticmethod
    def _grow_kind(community: Community, pair: Pair) -> int | None:
        """How well a group suits growing by one late member (lower first), None when it cannot:
        in pairs, a pair of two becomes three (1); in circles, a circle below the chosen size
        takes them first (0, a carried-on pair among them), one at the size only after someone
        waiting (2), and never past MAX_SIZE."""
        size = len(pair.member_ids)
        if community.pair_size <= 2:
            return 1 if size == 2 else None
        if size < community.pair_size:
            return 0
        return 2 if size < min(MAX_SIZE, community.pair_size + 1) else None

    async def _late_rules(
        self, tx: Tx, community: Community, member_id: int, members: list[int], info: dict[int, MemberInfo], now: datetime
    ) -> Callable[[tuple[int, ...]], bool]:
        """Whether the late member may join a group of `others`: the hard constraints of any
        grouping, not-with and a language the whole group shares."""
        apart = await self._kept_apart(tx, community, members, info, now)
        prefs, _ = await self.repo.grouping_preferences(tx, community.id, members, now)

        def allowed(others: tuple[int, ...]) -> bool:
            return all(frozenset((member_id, o)) not in apart for o in others) and shared_language(
                prefs[m] for m in (member_id, *others)
            )

        return allowed

    async def _kept_apart(
        self, tx: Tx, community: Community, members: list[int], info: dict[int, MemberInfo], now: datetime
    ) -> set[frozenset[int]]:
        """The pairs of these members that a not-with entry (matched by its keyed hash) keeps apart."""
        blind = await self.repo.blinder(tx, now)
        by_hash = {blind(community.id, info[m].user_id): m for m in members}
        return {
            frozenset((owner, by_hash[other]))
            for owner, other in await self.repo.all_not_with(tx, community.id, now)
            if other in by_hash
        }

    async def _seat_late(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        round_: Round,
        member_id: int,
        others: tuple[int, ...],
        grown: Pair | None,
        n: int,
        info: dict[int, MemberInfo],
        now: datetime,
    ) -> None:
        """Open the late member's space with `others`; when that grows a pair into a triad (or a
        circle by one), the group's own space closes first and its members hear why."""
        group = tuple(sorted((member_id, *others)))
        if grown is not None:
            await self._close_grown(tx, community, prefix, round_, grown, info, now)
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

    async def _close_grown(
        self, tx: Tx, community: Community, prefix: str, round_: Round, grown: Pair, info: dict[int, MemberInfo], now: datetime
    ) -> None:
        """A group grown by a late member: its own space closes, and its members hear why."""
        circle = community.pair_size > 2
        # The pair's space closes and the three carry on in a fresh one, as when a triad
        # becomes a pair: a platform space cannot always take in someone new.
        await self.repo.set_pair_state(tx, grown.id, "closed", now)
        await self.services.outbox.add(
            tx,
            community.id,
            PairSpaceClose(
                grown.space_key,
                self.t(
                    community,
                    prefix,
                    "pairing.space_grown_circle" if circle else "pairing.space_grown",
                    lang=self.lang(community, *(info.get(m) for m in grown.member_ids)),
                ),
            ),
        )
        for m in grown.member_ids:
            await self._tell(
                tx,
                community,
                info[m].user_id,
                self.t(
                    community,
                    prefix,
                    "pairing.circle_joined" if circle else "pairing.triad_joined",
                    lang=self.lang(community, info[m]),
                    number=round_.number,
                ),
            )
