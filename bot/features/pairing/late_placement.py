"""Placing someone who comes in while a round runs: part of `Rounds` (rounds.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.features.pairing.circles import MAX_SIZE
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
        someone else waiting in this round, or into a pair of two as a group of three, by the
        usual rules (never with anyone on either not-with list, nobody they met this round, and
        someone not met before over someone met before). In a space that meets in circles: into
        a circle with room (below the chosen size), else with someone waiting, else into a circle
        one over the chosen size. The round it placed them in, or None."""
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
        apart = await self._kept_apart(tx, community, [m for m in participants if m in info], info, now)
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
            if community.pair_size > 2:  # circles: no triad rotation, just the kind of place
                return met > 0, kind, met, len(others), hashlib.sha256(
                    f"{self.services.seed}:{round_.id}:{member_id}:{others}".encode()
                ).digest()
            again = sum(1 for m in (member_id, *others) if m in last_triad) if kind else 0
            tie = hashlib.sha256(f"{self.services.seed}:{round_.id}:{member_id}:{others}".encode()).digest()
            return met > 0, again, met, kind, tie

        circles = community.pair_size > 2
        options: list[tuple[tuple[bool, int, int, int, bytes], tuple[int, ...], Pair | None]] = []
        for other, p in sorted(participants.items()):
            if other == member_id or other in in_round or other not in info:
                continue
            if self.free_for(p, version, now) and allowed((other,)):
                # In circles, a pair with someone waiting comes after a circle with room.
                options.append((score((other,), 1 if circles else 0), (other,), None))
        for pair in pairs:
            if (
                pair.state != "active"
                or not all(m in info for m in pair.member_ids)
                or not allowed(pair.member_ids)
            ):
                continue
            if not circles and len(pair.member_ids) == 2:
                options.append((score(pair.member_ids, 1), pair.member_ids, pair))
            elif circles and len(pair.member_ids) < community.pair_size:
                # A circle with room first (a carried-on pair among them), fewest met first.
                options.append((score(pair.member_ids, 0), pair.member_ids, pair))
            elif circles and len(pair.member_ids) < min(MAX_SIZE, community.pair_size + 1):
                options.append((score(pair.member_ids, 2), pair.member_ids, pair))
        if not options:
            return None
        _, others, grown = min(options, key=lambda option: option[0])
        await self._seat_late(tx, community, prefix, round_, member_id, others, grown, len(pairs) + 1, info, now)
        return round_

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
        circle = community.pair_size > 2
        group = tuple(sorted((member_id, *others)))
        if grown is not None:
            # The pair's space closes and the three carry on in a fresh one, as when a triad
            # becomes a pair: a platform space cannot always take in someone new.
            await self.repo.set_pair_state(tx, grown.id, "closed", now)
            await self.services.outbox.add(
                tx,
                community.id,
                PairSpaceClose(
                    grown.space_key,
                    self.t(community, prefix, "pairing.space_grown_circle" if circle else "pairing.space_grown"),
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
                        number=round_.number,
                    ),
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
