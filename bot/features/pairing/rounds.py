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
from datetime import datetime, timedelta
from typing import Any

from bot.features.counts import hidden
from bot.features.pairing.circles import MIN_SIZE, group_circles
from bot.features.pairing.late_placement import LatePlacement
from bot.features.pairing.matching import match_community
from bot.features.pairing.preferences import Community as Grouping
from bot.features.pairing.regroup import place_newcomers
from bot.features.pairing.repo import PairingRepo, Participant, Round, ScheduleRow
from bot.features.pairing.round_end import RoundEnding
from bot.features.pairing.round_timing import RoundTiming, _Timing
from bot.features.pairing.rounds_base import (
    ANSWER_WINDOW,
    JOIN_ACTION,
    MemberInfo,
    format_when,
)
from bot.features.questions.depth import at_depths, opener_depths, pick
from bot.features.resources import duty_of_care_text
from bot.languages import member_locale, shared_locale
from bot.replies import ChannelPost, PairSpaceOpen
from bot.services import Services
from bot.storage.communities import Community, Member, Reader
from bot.storage.db import Tx
from bot.texts.catalog import Question
from bot.traits import traits_of

log = logging.getLogger(__name__)


class Rounds(RoundTiming, LatePlacement, RoundEnding):
    """A community's rounds over time. The timing and job (round_timing.py), late placement
    (late_placement.py) and a round's middle and end (round_end.py) are mixed in from their
    own modules to keep each readable; they share this object's dependencies."""

    def __init__(self, services: Services, repo: PairingRepo) -> None:
        self.services = services
        self.repo = repo
        self._pairing = services.settings.pairing
        self._timing: dict[int, _Timing] = {}

    # -- words -----------------------------------------------------------------------------------

    @staticmethod
    def default_prefix(community: Community) -> str:
        return traits_of(community.platform).prefix

    def t(self, community: Community, prefix: str, key: str, /, *, lang: str = "", **params: Any) -> str:
        """A text in `lang`, or (by default) the community's language: posts in its channels.
        Words for one member pass `lang=self.lang(community, member)`; a shared space's pass
        `self.lang(community, *its_members)`."""
        return self.services.catalog.text(lang or community.locale, key, prefix=prefix, **params)

    def lang(self, community: Community, *members: MemberInfo | Member | None) -> str:
        """The language for words to these members: one member's own (chosen, else client's,
        else the community's); for several sharing a space, theirs if they all resolve to the
        same one, else the community's."""
        if len(members) == 1:
            return member_locale(self.services.catalog, community, members[0])
        return shared_locale(self.services.catalog, community, members)

    def texts_for(self, community: Community, prefix: str, lang: str = "") -> Callable[..., str]:
        return lambda key, /, **params: self.t(community, prefix, key, lang=lang, **params)

    def consent_text(self, community: Community, prefix: str, lang: str = "") -> str:
        duty = self.services.settings.duty_of_care
        return self.t(
            community,
            prefix,
            "pairing.consent",
            lang=lang,
            days=self._pairing.retention_days,
            duty=duty_of_care_text(duty, self.services.catalog, lang or community.locale),
            duty_version=duty.version,
        )

    def consent_version(self, community: Community) -> str:
        """A hash of the consent text as shown (with the duty-of-care statement and its version),
        rendered with a fixed prefix so every platform agrees on it. It names the terms, so it
        is taken in the community's language even for a member who reads them in their own: a
        member choosing another language is not asked to consent again to the same terms."""
        text = self.consent_text(community, "/")
        return hashlib.sha256(f"{community.locale}\n{text}".encode()).hexdigest()[:16]

    def names(self, community: Community, prefix: str, labels: list[str], lang: str = "") -> str:
        """"sam, jo and rin" as CLDR joins a list in the language the text is in (`lang`, else the
        community's)."""
        return self.services.catalog.formats(lang or community.locale).and_list(labels)

    @staticmethod
    def mention(community: Community, user_id: str) -> str:
        return traits_of(community.platform).mention(user_id)

    def timezone_of(self, community: Community) -> str:
        timing = self._timing.get(community.id)
        if timing is not None and timing.recurrence is not None:
            return timing.recurrence.timezone
        return community.timezone

    def when(self, community: Community, instant: datetime, locale: str | None = None) -> str:
        """In `locale`, the text's (the community's unless a caller says otherwise)."""
        formats = self.services.catalog.formats(locale or community.locale)
        return format_when(instant, self.timezone_of(community), formats)

    async def members_info(self, db: Reader, community_id: int) -> dict[int, MemberInfo]:
        rows = await self.repo.member_labels(db, community_id)
        return {row[0]: MemberInfo(row[0], row[1], row[2] or row[1], row[3], row[4]) for row in rows}

    async def prefix_for(self, db: Reader, community: Community) -> str:
        row = await self.repo.schedule(db, community.id)
        return row.prefix if row is not None else self.default_prefix(community)

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
            await self.services.outbox.add(tx, community.id, ChannelPost(channel=channel, text=text))
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
        for p in stale:
            member = info.get(p.member_id)
            if member is None:
                continue
            lang = self.lang(community, member)
            text = self.t(
                community, prefix, "pairing.reconsent", lang=lang, consent=self.consent_text(community, prefix, lang)
            )
            prompt = await self.services.confirmations.request(
                tx,
                community.id,
                p.member_id,
                member.user_id,
                JOIN_ACTION,
                {"version": version},
                text,
                self.t(community, prefix, "pairing.consent_yes", lang=lang),
                self.t(community, prefix, "pairing.consent_no", lang=lang),
            )
            await self.services.outbox.add(tx, community.id, prompt)

    # -- starting a round ------------------------------------------------------------------------

    async def _opening_question(
        self, tx: Tx, community: Community, round_: Round, space_key: str, group: tuple[int, ...]
    ) -> Question | None:
        """A pair question of any task, as deep as the space's mix, these people's rounds
        together and their chosen style allow (light when they meet for the first time), one
        they haven't had first."""
        rounds_together, had = await self.repo.met_before(tx, community.id, group, round_.number)
        bank = [q for q in self.services.catalog.questions(community.locale) if q.audience == "pair"]
        if community.pair_size > 2 and len(group) >= MIN_SIZE:
            # Only the pair questions that read right for three to six (prompts/en/circles.toml).
            listed = set(self.services.catalog.data(community.locale, "circles").get("circle", {}).get("openers", []))
            bank = [q for q in bank if q.id in listed] or bank
        # How the members said they like conversations to go moves the depth (depth.py).
        styles = [(await self.repo.preferences_of(tx, community.id, m)).style for m in group]
        pool = at_depths(bank, opener_depths(community.question_depth, rounds_together, styles))
        return pick(pool, self.services.seed, community.id, round_.number, space_key, avoid=had)

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
            await self.services.outbox.add(tx, community.id, ChannelPost(channel=channel, text=text))
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
                    self.t(community, prefix, "pairing.silent_paused", lang=self.lang(community, member)),
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
            lang = self.lang(community, info[member_id])
            await self._tell(
                tx, community, info[member_id].user_id, self.t(community, prefix, self.not_placed_key(community), lang=lang)
            )
        if channel:
            key = "pairing.round_empty" if not eligible else "pairing.round_too_few"
            await self.services.outbox.add(
                tx, community.id, ChannelPost(channel=channel, text=self.t(community, prefix, key))
            )

    async def _grouping_input(
        self,
        tx: Tx,
        community: Community,
        round_: Round,
        eligible: list[int],
        info: dict[int, MemberInfo],
        now: datetime,
    ) -> Grouping:
        """Everything a grouping of this round needs, read from storage in one value. The paused
        are already left out of `eligible`. Meet-again wishes come one-sided ones and all: the
        matchers count only mutual ones, so nothing here can tell the two apart."""
        # Not-with entries name people by a keyed hash of who they are in the community, so an
        # entry finds them again after they erase their data and return, and never a stranger.
        eligible_set = set(eligible)
        blind = await self.repo.blinder(tx, now)
        by_hash = {blind(community.id, info[m].user_id): m for m in eligible}
        not_with = tuple(
            (owner, by_hash[other])
            for owner, other in await self.repo.all_not_with(tx, community.id, now)
            if owner in eligible_set and other in by_hash
        )
        preferences, again = await self.repo.grouping_preferences(tx, community.id, eligible, now)
        return Grouping(
            members=tuple(eligible),
            preferences=preferences,
            not_with=not_with,
            history=tuple(await self.repo.history(tx, community.id)),
            again=tuple(again),
            current_round=round_.number,
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
        """Group the eligible (in pairs or circles), open a space per group, tell whoever is
        left out, count."""
        grouping = await self._grouping_input(tx, community, round_, eligible, info, now)
        run_round, groups, unplaced, carried = await self._group(tx, community, round_, grouping)
        for n, group in enumerate(groups, start=1):
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
                again=group in carried,
            )
        # One message for everyone left out, whatever the reason, so a block cannot be told
        # apart from numbers or pauses.
        for member_id in unplaced:
            await self._tell(
                tx,
                community,
                info[member_id].user_id,
                self.t(community, prefix, self.not_placed_key(community), lang=self.lang(community, info[member_id])),
            )
        # Two who asked to meet again and now have: their wishes are spent.
        await self.repo.spend_wishes(tx, community.id, groups, now)
        await self.repo.set_round_counts(tx, round_.id, len(groups), sum(len(g) for g in groups))
        await self.repo.set_run_round(tx, round_.id, run_round)

    async def _group(
        self, tx: Tx, community: Community, round_: Round, grouping: Grouping
    ) -> tuple[int, list[tuple[int, ...]], list[int], frozenset[tuple[int, ...]]]:
        """(the round's run_round, its groups, who is left without one, the circles carried on
        unchanged): pairs by the exact matcher, circles afresh or carried on (`together N`)."""
        seed = f"{self.services.seed}:{community.id}:{round_.number}"
        if community.pair_size == 2 or len(grouping.members) < MIN_SIZE:
            # Pairs; and in a circle space with only two free, a pair rather than nobody.
            groups, unplaced = await self._pairs(tx, community, round_, grouping, seed)
            return 0, groups, unplaced, frozenset()
        kept = await self._circles_carried_on(tx, community, round_, grouping)
        if kept is not None:
            return kept
        circles = group_circles(grouping, community.pair_size, seed=seed)
        groups, unplaced = [tuple(g) for g in circles.groups], list(circles.unplaced)
        if unplaced:
            # Circles within their sizes left someone out (five in circles of three with a
            # not-with between two, say): seat them where there is room, else pairs and at most
            # one triad, whichever leaves fewer out. Nobody is left out while a place exists.
            groups, unplaced = place_newcomers(grouping, groups, unplaced, community.pair_size, seed=seed)
        if unplaced:
            paired, left = await self._pairs(tx, community, round_, grouping, seed)
            if len(left) < len(unplaced):
                groups, unplaced = paired, left
        return 1, groups, unplaced, frozenset()

    async def _pairs(
        self, tx: Tx, community: Community, round_: Round, grouping: Grouping, seed: str
    ) -> tuple[list[tuple[int, ...]], list[int]]:
        result = match_community(
            grouping, last_triad=await self.repo.last_triad(tx, community.id, round_.number), seed=seed
        )
        return [tuple(g) for g in result.groups], list(result.unplaced)

    @staticmethod
    def not_placed_key(community: Community) -> str:
        return "pairing.not_placed_circle" if community.pair_size > 2 else "pairing.not_placed"

    async def _circles_carried_on(
        self, tx: Tx, community: Community, round_: Round, grouping: Grouping
    ) -> tuple[int, list[tuple[int, ...]], list[int], frozenset[tuple[int, ...]]] | None:
        """With `together N`: the previous round's circles, carried on when their run is not yet
        N rounds long; None when this round groups people afresh. Who is no longer free (left,
        paused) is gone from their circle; so is whoever put someone in it on their not-with list
        (they join another circle, as a newcomer does). A circle down to two carries on as a pair;
        one down to one person places them elsewhere. (run_round, groups, who is left without
        one, the circles that are the previous round's with nobody new: they are welcomed back)."""
        if community.pair_together <= 1:
            return None
        previous_run, previous = await self.repo.previous_circles(tx, community.id, round_.number)
        if previous_run < 1 or previous_run >= community.pair_together or not previous:
            return None
        free = set(grouping.members)
        owners = {(a, b) for a, b in grouping.not_with}
        kept: list[tuple[int, ...]] = []
        for circle in previous:
            members = [m for m in circle if m in free]
            blockers = {a for a, b in owners if a in members and b in members}
            members = [m for m in members if m not in blockers]
            if len(members) >= 2:
                kept.append(tuple(members))
        placed = {m for circle in kept for m in circle}
        newcomers = [m for m in grouping.members if m not in placed]
        groups, unplaced = place_newcomers(
            grouping, kept, newcomers, community.pair_size, seed=f"{self.services.seed}:{community.id}:{round_.number}"
        )
        carried = frozenset(
            group
            for group in groups
            if len(group) >= MIN_SIZE and any(set(group) <= set(circle) for circle in previous)
        )
        return previous_run + 1, groups, unplaced, carried

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
        *,
        again: bool = False,
    ) -> None:
        """Record a group and open its space with the round's introduction (a circle's own
        welcome for a circle; `again` when it carries on from the round before)."""
        question = await self._opening_question(tx, community, round_, space_key, group)
        members = [info[m] for m in group]
        await self.repo.create_pair(
            tx, community.id, round_.id, space_key, group, question.id if question else "", now, origin
        )
        # The space is shared: in its members' language if they all have the same, else the
        # community's (nothing about anyone's own choice shows beyond that).
        lang = self.lang(community, *members)
        names = self.names(community, prefix, [m.label for m in members], lang)
        circle = community.pair_size > 2 and len(members) >= MIN_SIZE
        intro = "pairing.space_intro"
        if circle:
            intro = "pairing.space_intro_circle_again" if again else "pairing.space_intro_circle"
        text = self.t(
            community,
            prefix,
            intro,
            lang=lang,
            names=names,
            number=round_.number,
            until=self.when(community, round_.ends_at, lang or None),
            question=self._opener_text(community, prefix, question, lang),
            mentions=" ".join(self.mention(community, m.user_id) for m in members),
            anyone=self.t(
                community, prefix, "pairing.anyone_two" if len(members) == 2 else "pairing.anyone_more", lang=lang
            ),
        )
        await self.services.outbox.add(
            tx,
            community.id,
            PairSpaceOpen(
                space_key=space_key,
                member_ids=tuple(m.user_id for m in members),
                title=self.t(
                    community, prefix, "pairing.space_title", lang=lang, number=round_.number, names=names
                ),
                text=text,
            ),
        )

    def _opener_text(self, community: Community, prefix: str, question: Question | None, lang: str = "") -> str:
        if question is None:
            return ""
        # Chosen from the community's bank; shown in the space's language (same id in every locale).
        question = next((q for q in self.services.catalog.questions(lang or community.locale) if q.id == question.id), question)
        if not question.content_note:
            return question.text
        # The note comes before the question, so both can choose before reading it.
        return self.t(
            community, prefix, "pairing.opener_noted", lang=lang, note=question.content_note, question=question.text
        )

    def free_for(self, p: Participant, version: str, starts_at: datetime) -> bool:
        """Whether a participant can be paired in a round starting then: not paused, agreed to
        the current words, and not about to be paused for not answering the silent-rounds ask."""
        silent = p.asked_at is not None and p.asked_at <= starts_at - ANSWER_WINDOW
        return not p.paused and p.consent_version == version and not silent

