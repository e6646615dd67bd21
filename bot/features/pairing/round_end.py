"""Cancelling, the midpoint, and the end of rounds, pairs and pauses: part of `Rounds` (rounds.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.features.pairing.checkins import checkin_opening
from bot.features.pairing.repo import Pair, Round
from bot.features.pairing.rounds_base import MemberInfo
from bot.replies import ChannelPost, PairSpaceClose, PairSpaceOpen, PrivateMessage
from bot.storage.communities import Community
from bot.storage.db import Tx


class RoundEnding:
    """A round's middle and end; mixed into `Rounds`, whose attributes it uses."""

    async def cancel(
        self, tx: Tx, community: Community, prefix: str, now: datetime
    ) -> tuple[str, Round] | None:
        """`pair cancel`: end the running round now (its spaces close with a neutral word and no
        end-of-round check-in), or else skip the next announced one. What was cancelled, or None."""
        running = await self.repo.active_round(tx, community.id)
        if running is not None:
            info = await self.members_info(tx, community.id)
            for pair in await self.repo.pairs_of_round(tx, running.id, "active"):
                lang = self.lang(community, *(info.get(m) for m in pair.member_ids))
                text = self.t(community, prefix, "pairing.space_cancelled", lang=lang, number=running.number)
                await self.services.outbox.add(tx, community.id, PairSpaceClose(pair.space_key, text))
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
            await self.services.outbox.add(tx, community.id, ChannelPost(channel=channel, text=text))
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
        await self.services.outbox.add(tx, community.id, PrivateMessage(user_id, text))

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
                lang = self.lang(community, info[member_id])
                text = checkin_opening(
                    self.services.catalog,
                    lang,
                    self.texts_for(community, prefix, lang),
                    kind,
                    number=round_.number,
                    names=self.names(community, prefix, others, lang),
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
        info = await self.members_info(tx, community.id)
        for pair in active:
            lang = self.lang(community, *(info.get(m) for m in pair.member_ids))
            text = self.t(community, prefix, "pairing.space_close", lang=lang, number=round_.number)
            await self.services.outbox.add(tx, community.id, PairSpaceClose(pair.space_key, text))
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
                text = self.t(community, prefix, "pairing.silent_ask", lang=self.lang(community, info[member_id]), rounds=silent)
                await self._tell(tx, community, info[member_id].user_id, text)
            await self.repo.set_silence(tx, p.id, silent, asked)

    async def end_pairs_of(
        self, tx: Tx, community: Community, prefix: str, pair: Pair, leaver: int, now: datetime
    ) -> None:
        """`pair end` (or leaving): the pair ends for everyone in it, with a neutral notice. When
        someone steps out of a triad or a circle, the rest carry on together in a fresh space of
        their own (a circle down to two as a pair), for the rest of the round. The space is
        fresh rather than the old one less a member: not every platform space can drop someone."""
        info = await self.members_info(tx, community.id)
        circle = community.pair_size > 2 and len(pair.member_ids) > 2
        await self.repo.set_pair_state(tx, pair.id, "ended", now)
        lang = self.lang(community, *(info.get(m) for m in pair.member_ids))
        await self.services.outbox.add(
            tx,
            community.id,
            PairSpaceClose(
                pair.space_key,
                self.t(community, prefix, "pairing.space_ended_circle" if circle else "pairing.space_ended", lang=lang),
            ),
        )
        others = [m for m in pair.member_ids if m != leaver and m in info]
        if len(others) >= 2:
            await self._carry_on(tx, community, prefix, pair, tuple(others), info, circle, now)
            return
        key = "pairing.ended_notice_circle" if community.pair_size > 2 else "pairing.ended_notice"
        for m in others:
            await self._tell(tx, community, info[m].user_id, self.t(community, prefix, key, lang=self.lang(community, info[m])))

    async def _carry_on(
        self,
        tx: Tx,
        community: Community,
        prefix: str,
        pair: Pair,
        others: tuple[int, ...],
        info: dict[int, MemberInfo],
        circle: bool,
        now: datetime,
    ) -> None:
        """The rest of a group someone stepped out of, in a fresh space for the rest of the round."""
        round_ = await self.repo.round_of(tx, pair.round_id)
        assert round_ is not None
        space_key = f"{pair.space_key}b"
        await self.repo.create_pair(tx, community.id, pair.round_id, space_key, others, "", now, pair.id)
        lang = self.lang(community, *(info[m] for m in others))
        names = self.names(community, prefix, [info[m].label for m in others], lang)
        text = self.t(
            community,
            prefix,
            "pairing.space_continue_circle" if circle and len(others) > 2 else "pairing.space_continue",
            lang=lang,
            names=names,
            number=round_.number,
            until=self.when(community, round_.ends_at, lang or None),
        )
        await self.services.outbox.add(
            tx,
            community.id,
            PairSpaceOpen(
                space_key=space_key,
                member_ids=tuple(info[m].user_id for m in others),
                title=self.t(community, prefix, "pairing.space_title", lang=lang, number=round_.number, names=names),
                text=text,
            ),
        )
        notice = "pairing.triad_notice"
        if circle:
            notice = "pairing.circle_notice" if len(others) > 2 else "pairing.circle_notice_pair"
        for m in others:
            await self._tell(tx, community, info[m].user_id, self.t(community, prefix, notice, lang=self.lang(community, info[m])))

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
                lang = self.lang(community, member)
                text = self.t(
                    community,
                    prefix,
                    "pairing.pause_ended",
                    lang=lang,
                    next=self.next_round_text(community, prefix, now, lang)
                    if placed is None
                    else self.t(community, prefix, "pairing.placed_late", lang=lang, number=placed.number),
                )
                await self._tell(tx, community, member.user_id, text)

    def next_round_text(self, community: Community, prefix: str, now: datetime, lang: str = "") -> str:
        slot = self.next_slot(community.id, now)
        if slot is None:
            return self.t(community, prefix, "pairing.next_round_none", lang=lang)
        return self.t(community, prefix, "pairing.next_round", lang=lang, when=self.when(community, slot, lang or None))
