"""Pairing's facilitator commands (schedule, now, cancel, stats): part of `PairingFeature`
(service.py), mixed in to keep each file readable; they share its dependencies."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands import parser
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.counts import FEWER_THAN, hidden, shown_count
from bot.features.pairing.grouping import (
    grouping_text,
    read_size,
    read_together,
    settle,
    split_grouping,
)
from bot.features.pairing.preferences import WAKING_HOURS, WAKING_START, shared_language
from bot.features.pairing.repo import Round
from bot.features.schedules import read_schedule, say_schedule
from bot.replies import Answer, Intent
from bot.scheduling.recurrence import split_trailing_timezone
from bot.storage.db import Tx

_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_FROM_WORDS = ("from", "starting")


# Any two 14-hour waking days overlap by at least 4 hours somewhere, so "overlapping" would say
# little: a group counts when everyone shares at least half of it.
SHARED_WAKING_MINUTES = WAKING_HOURS * 60 // 2


def common_waking_minutes(offsets: list[int]) -> int:
    """Minutes of the day (in 15-minute steps) in which everyone is between 08:00 and 22:00
    local time, for members `offsets` minutes east of UTC."""
    start, end = WAKING_START * 60, (WAKING_START + WAKING_HOURS) * 60
    return 15 * sum(
        1 for utc in range(0, 24 * 60, 15) if all(start <= (utc + offset) % (24 * 60) < end for offset in offsets)
    )


class FacilitatorCommands:
    """`pair schedule|now|cancel|stats`; mixed into `PairingFeature`, whose attributes it uses."""

    # -- facilitators --------------------------------------------------------------------------

    def _parse_schedule(self, ctx: Ctx, text: str) -> tuple[list[str], str | None, date | None]:
        words = text.split()
        start: date | None = None
        kept: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            if word.lower() in _FROM_WORDS and index + 1 < len(words):
                word = words[index + 1]
                if not _DATE.match(word):
                    raise Refusal("pairing.bad_date", given=word[:40])
                index += 1
            if _DATE.match(word):
                try:
                    start = date.fromisoformat("-".join(part.zfill(2) for part in word.split("-")))
                except ValueError:
                    raise Refusal("pairing.bad_date", given=word[:40]) from None
            else:
                kept.append(word)
            index += 1
        kept, timezone = split_trailing_timezone(kept)
        return kept, timezone, start

    def _channel(self, ctx: Ctx) -> str:
        if ctx.community.pairing_channel:
            return ctx.community.pairing_channel
        if ctx.invocation.channel and not ctx.invocation.private:
            return ctx.invocation.channel
        if ctx.community.question_channel:
            return ctx.community.question_channel
        raise Refusal("pairing.no_channel")

    async def schedule(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        given: str = args["recurrence"]
        # `size N` and `together N` may stand anywhere; read (and refuse) them before anything
        # is written, so a bad value changes nothing.
        # Any locale's schedule words (`semanal lun 10:00 tamano 4`) are read as English first.
        rest, size_given, together_given = split_grouping(ctx.catalog.schedule_words.english(given).split())
        size, together = settle(
            read_size(size_given) if size_given is not None else ctx.community.pair_size,
            read_together(together_given) if together_given is not None else ctx.community.pair_together,
            together_given=together_given is not None,
        )
        words, timezone, start = self._parse_schedule(ctx, " ".join(rest))
        timezone = timezone or ctx.community.timezone
        tz = ZoneInfo(timezone)
        today = ctx.now.astimezone(tz).date()
        self._check_start(start, today)
        # Names the part that failed, and refuses rounds closer together than the space allows.
        recurrence = read_schedule(
            ctx,
            " ".join(words),
            timezone,
            start or today,
            minimum=timedelta(days=self.services.settings.scheduling.min_round_days),
            what="rounds",
        )
        not_before = (
            ctx.now if start is None else max(ctx.now, datetime.combine(start, time(0), tz))
        )
        channel = self._channel(ctx)
        async with self.services.db.transaction() as tx:
            running, first = await self._replace_schedule(
                tx, ctx, channel, recurrence.text, timezone, (start or today).isoformat(), not_before
            )
            if (size, together) != (ctx.community.pair_size, ctx.community.pair_together):
                await self.services.communities.update(
                    tx, ctx.community.id, pair_size=size, pair_together=together
                )
        await self._settle(ctx.community.id)
        text = ctx.t(
            "pairing.schedule_set",
            recurrence=say_schedule(ctx, recurrence),
            timezone=timezone,
            first=self.rounds.when(ctx.community, first, ctx.locale),
            channel=ctx.community.pairing_channel or channel,
            hours=self.services.settings.pairing.heads_up_hours,
        )
        text = f"{text} {grouping_text(ctx.t, size, together)}"
        if running is not None:
            lead = ctx.t(
                "pairing.schedule_after_running",
                number=running.number,
                until=self.rounds.when(ctx.community, running.ends_at, ctx.locale),
            )
            text = f"{lead} {text}"
        return [Answer(text)]

    @staticmethod
    def _check_start(start: date | None, today: date) -> None:
        if start is not None and start < today:
            raise Refusal("pairing.schedule_in_past", date=start.isoformat())
        if start is not None and start > parser.latest_schedule_start(today):
            raise Refusal(
                "pairing.schedule_too_far",
                date=start.isoformat(),
                latest=parser.latest_schedule_start(today).isoformat(),
            )

    async def _replace_schedule(
        self,
        tx: Tx,
        ctx: Ctx,
        channel: str,
        recurrence: str,
        timezone: str,
        anchor: str,
        not_before: datetime,
    ) -> tuple[Round | None, datetime]:
        """Store the new schedule in place of the old; (the running round, the first start)."""
        heads_up = timedelta(hours=self.services.settings.pairing.heads_up_hours)
        await self._begin(tx, ctx)
        running = await self.repo.active_round(tx, ctx.community.id)
        if running is not None:
            # A running round keeps its length: the new schedule starts once it has ended.
            not_before = max(not_before, running.ends_at)
        await self.repo.set_schedule(
            tx,
            ctx.community.id,
            channel=channel,
            recurrence=recurrence,
            timezone=timezone,
            anchor=anchor,
            not_before=not_before,
            now=ctx.now,
        )
        # Announced starts of the old schedule never run: they give back their numbers and
        # slots, so the new schedule can announce the same start again.
        for announced in await self.repo.announced_rounds(tx, ctx.community.id):
            await self.repo.cancel_round(tx, announced, ctx.now, ran=False, free_slot=True)
        await self.rounds.refresh(tx, ctx.community.id)
        first = self.rounds.next_slot(ctx.community.id, ctx.now)
        assert first is not None
        if first - heads_up <= ctx.now:
            row = await self.repo.schedule(tx, ctx.community.id)
            await self.rounds.heads_up(tx, ctx.community, ctx.prefix, row, first, ctx.now)
        return running, first

    async def now(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            await self._begin(tx, ctx)
            running = await self.repo.active_round(tx, ctx.community.id)
            if running is not None:
                raise Refusal(
                    "pairing.now_running", until=self.rounds.when(ctx.community, running.ends_at, ctx.locale)
                )
            version = self.rounds.consent_version(ctx.community)
            participants = await self.repo.participants(tx, ctx.community.id)
            free = sum(1 for p in participants if self.rounds.free_for(p, version, ctx.now))
            if free == 0:
                raise Refusal("pairing.now_nobody")
            if free < 2:
                # Saying "fewer than two" tells no more than the refusal itself does.
                raise Refusal("pairing.now_too_few")
            key, ends_at = await self._manual_slot(tx, ctx)
            round_ = await self.rounds.start_round(
                tx, ctx.community, ctx.prefix, key, ctx.now, ends_at, ctx.now
            )
            if round_ is None:  # not expected after the count above; refusing changes nothing
                raise Refusal("pairing.now_too_few")
        await self._settle(ctx.community.id)
        return [
            Answer(
                ctx.t(
                    "pairing.now_started",
                    number=round_.number,
                    until=self.rounds.when(ctx.community, round_.ends_at, ctx.locale),
                )
            )
        ]

    async def cancel(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            await self._begin(tx, ctx)
            cancelled = await self.rounds.cancel(tx, ctx.community, ctx.prefix, ctx.now)
            if cancelled is None:
                raise Refusal("pairing.cancel_nothing")
        await self._settle(ctx.community.id)
        kind, round_ = cancelled
        if kind == "running":
            text = ctx.t("pairing.cancelled_running", number=round_.number, next=self._next(ctx))
        else:
            text = ctx.t(
                "pairing.cancelled_announced",
                when=self.rounds.when(ctx.community, round_.starts_at, ctx.locale),
                next=self._next(ctx),
            )
        return [Answer(text)]

    async def _manual_slot(self, tx: Tx, ctx: Ctx) -> tuple[str, datetime]:
        """Where a round started by hand fits. Without a schedule it lasts the default length.
        With one, rounds never overlap and keep the schedule's rhythm: a round started close to
        the next scheduled start (less than half a round before it, or after its heads-up) takes
        that start's place and runs to the one after; otherwise it runs until the next start."""
        slot = self.rounds.next_slot(ctx.community.id, ctx.now)
        if slot is None:
            number = await self.repo.next_number(tx, ctx.community.id)
            ends_at = ctx.now + timedelta(days=self.services.settings.pairing.default_round_days)
            return f"r:{ctx.community.id}:manual:{number}", ends_at
        key = self.rounds.slot_key(ctx.community.id, slot)
        length = self.rounds.round_length(ctx.community.id, slot)
        announced = await self.repo.round_by_slot(tx, key)
        if announced is not None or slot - ctx.now < length / 2:
            return key, slot + length
        number = await self.repo.next_number(tx, ctx.community.id)
        return f"r:{ctx.community.id}:manual:{number}", slot

    async def stats(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        figures = await self.repo.stats(self.services.db, ctx.community.id)

        def count(value: int, drawn_from: int) -> str:
            return shown_count(ctx.t, value, drawn_from)

        if figures["checkins"] == 0:
            checkins = ctx.t("pairing.none_yet")
        elif hidden(figures["checkin_members"]):
            checkins = ctx.t("counts.fewer_than_five")
        else:
            percent = round(100 * figures["checkins_answered"] / figures["checkins"])
            checkins = ctx.t("pairing.share_of", percent=percent, total=figures["checkins"])
        text = ctx.t(
            "pairing.stats",
            members=count(figures["members"], figures["members"]),
            paused=count(figures["paused"], figures["paused"]),
            rounds=figures["rounds"],
            pairs=count(figures["pairs"], figures["members_matched"]),
            checkins=checkins,
            days=self.services.settings.pairing.retention_days,
            groups="".join("\n" + line for line in await self._preference_stats(ctx)),
        )
        return [Answer(text)]

    async def _preference_stats(self, ctx: Ctx) -> list[str]:
        """Issue 17's lines: the last round's groups by size, how many set preferences, and the
        share of the last round's groups with a language in common and with at least half the
        waking day in common. Counts only, each under the k >= 5 rule; shares only over five groups or more."""
        db = self.services.db
        lines = [ctx.t("pairing.stats_prefs", count=shown_count(ctx.t, await self.repo.preference_count(db, ctx.community.id)))]
        last = await self.repo.last_round_groups(db, ctx.community.id)
        if last is None:
            return lines
        starts_at, found = last
        by_size = Counter(size for size, _ in found)
        sizes = ", ".join(
            ctx.t("pairing.stats_group_size", count=shown_count(ctx.t, by_size[size], by_size[size] * size), size=size)
            for size in sorted(by_size)
        )
        lines.insert(0, ctx.t("pairing.stats_groups", sizes=sizes))
        if len(found) < FEWER_THAN:
            share_language = share_hours = ctx.t("pairing.stats_few_groups")
        else:
            known = [
                [prefs.at(starts_at) for prefs in members if prefs is not None]
                for size, members in found
                if len(members) == size and all(prefs is not None for prefs in members)
            ]
            language = sum(1 for group in known if all(p.languages for p in group) and shared_language(group))
            hours = sum(
                1
                for group in known
                if all(p.utc_offset_minutes is not None for p in group)
                and common_waking_minutes([p.utc_offset_minutes for p in group]) >= SHARED_WAKING_MINUTES  # type: ignore[misc]
            )
            share_language = f"{round(100 * language / len(found))}%"
            share_hours = f"{round(100 * hours / len(found))}%"
        lines += [
            ctx.t("pairing.stats_shared_language", share=share_language),
            ctx.t("pairing.stats_shared_hours", share=share_hours),
        ]
        return lines
