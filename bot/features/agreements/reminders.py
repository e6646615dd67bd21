"""Review dates and deletion: the Timeline job that reminds parties of a review date and
purges a withdrawn agreement's words when their time is up."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.context import Ctx
from bot.features.agreements.pair_agreements import (
    JOB_KEY,
    REVIEW_HOUR,
    PairDeps,
    PairPart,
    prefix_for,
)
from bot.features.agreements.state import Status
from bot.languages import member_locale
from bot.replies import (
    ActionButtons,
)
from bot.scheduling.timeline import Job
from bot.storage.db import Tx

log = logging.getLogger(__name__)


class Reminders(PairPart):
    """The Timeline job "agreements:pair" and the cache of when it is next due."""

    def __init__(self, deps: PairDeps) -> None:
        super().__init__(deps)
        # next_fire answers synchronously from this cache: "review:<id>" / "purge:<id>" -> instant.
        self._due: dict[str, datetime] = {}

    async def start(self) -> None:
        await self._reload()
        self._put_job()
        # Claimed like any run: another process sharing the store may be running it now.
        await self.deps.services.timeline.run_key(JOB_KEY, self.deps.services.clock.now())

    async def _reload(self) -> None:
        """Every review and purge date read again from storage."""
        self._due.clear()
        for agreement_id in await self.repo.with_dates(self.deps.services.db):
            await self._schedule(agreement_id, put=False)

    async def resync(self) -> None:
        """Take in dates set through another process sharing the store."""
        before = dict(self._due)
        await self._reload()
        if self._due != before:
            self._put_job()

    def _put_job(self) -> None:
        self.deps.services.timeline.put(
            Job(key=JOB_KEY, next_fire=self._next_fire, run=self.run_due, refresh=self._reload)
        )

    def _next_fire(self, after: datetime) -> datetime | None:
        upcoming = [at for at in self._due.values() if at > after]
        return min(upcoming) if upcoming else None

    def _forget_due(self, agreement_id: int) -> None:
        for kind in ("review", "purge"):
            self._due.pop(f"{kind}:{agreement_id}", None)

    def _due_purge(self, agreement_id: int, at: datetime) -> None:
        """Cache when a withdrawn agreement's words are purged (the job re-reads storage first)."""
        self._due[f"purge:{agreement_id}"] = at
        self._put_job()

    def _due_review(self, agreement_id: int, review: str | None, timezone: str) -> None:
        """Cache the reminder for a review date. Set from inside a transaction: if that rolls
        back the job finds nothing to do, because it re-reads storage before acting."""
        self._due.pop(f"review:{agreement_id}", None)
        if review:
            at = datetime.combine(date.fromisoformat(review), REVIEW_HOUR, ZoneInfo(timezone))
            try:
                self._due[f"review:{agreement_id}"] = at.astimezone(UTC)
            except OverflowError:  # a far date stored before dates were bounded: never due
                pass
        self._put_job()

    async def _schedule(self, agreement_id: int, *, put: bool = True) -> None:
        """Refresh the job's cache for one agreement from storage (after a change commits)."""
        self._forget_due(agreement_id)
        row = await self.repo.dates(self.deps.services.db, agreement_id)
        if row is not None:
            status, review, purge_after, timezone = row
            if status in ("agreed", "revisiting") and review:
                if not await self.repo.reminded(self.deps.services.db, f"review:{agreement_id}:{review}"):
                    at = datetime.combine(date.fromisoformat(review), REVIEW_HOUR, ZoneInfo(timezone))
                    self._due[f"review:{agreement_id}"] = at.astimezone(UTC)
            if status == "withdrawn" and purge_after:
                self._due[f"purge:{agreement_id}"] = datetime.fromisoformat(purge_after)
        if put:
            self._put_job()

    async def run_due(self, instant: datetime) -> None:
        now = max(instant, self.deps.services.clock.now())
        for key, at in sorted(self._due.items(), key=lambda item: item[1]):
            if at > now:
                continue
            kind, _, ident = key.partition(":")
            try:
                if kind == "review":
                    await self._remind(int(ident), now)
                else:
                    await self._purge_due(int(ident), now)
            except Exception:
                log.exception("agreement job %s failed", kind)
            self._due.pop(key, None)
        self._put_job()

    async def _remind(self, agreement_id: int, now: datetime) -> None:
        async with self.deps.services.db.transaction() as tx:
            row = await self.repo.get(tx, agreement_id)
            if row is None or row.status not in (Status.AGREED, Status.REVISITING) or not row.review_date:
                return
            if not await self.deps.services.owns_community(tx, row.community_id):
                return  # the process serving that community reminds its parties (nothing claimed)
            if not await self.repo.claim_reminder(tx, f"review:{agreement_id}:{row.review_date}", agreement_id, now):
                return
            community = await self.deps.services.communities.get(tx, row.community_id)
            assert community is not None
            prefix = prefix_for(community.platform)
            await self.repo.event(tx, row.id, now, None, "review_reminder", row.in_force_version)
            for member_id in row.ordered_joined:
                await self.repo.open_checkin(tx, row.id, member_id, "review", now)
                member = await self.deps.services.members.get(tx, member_id)
                if member is None:
                    continue
                locale = member_locale(self.deps.services.catalog, community, member)  # theirs alone
                labels = await self._labels(tx, locale, row.ordered_ids)
                others = self._names(labels, [m for m in row.ordered_joined if m != member_id])
                text = self.deps.services.catalog.text(
                    locale, "agreement.review_reminder", prefix=prefix, id=row.short_id, names=others
                )
                button = self._revisit_button(locale, row.short_id)
                await self.deps.services.outbox.add(tx, community.id, ActionButtons(member.platform_user_id, text, button))

    async def _purge_due(self, agreement_id: int, now: datetime) -> None:
        async with self.deps.services.db.transaction() as tx:
            row = await self.repo.get(tx, agreement_id)
            if row is None or row.status is not Status.WITHDRAWN or (row.purge_after or "") > now.isoformat():
                return
            await self.repo.purge(tx, agreement_id)

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        """For `mydata forget`: every agreement the member is in is withdrawn (the others get the
        usual neutral notice) and deleted at once; invitations to them are declined."""
        for row in await self.repo.for_member(tx, ctx.member.id, joined_only=False, include_withdrawn=True):
            if ctx.member.id in row.invited:
                if row.status is not Status.WITHDRAWN:
                    await self._decline(tx, ctx, row)
                continue
            if row.status is not Status.WITHDRAWN:
                await self._withdraw(tx, ctx, row, erase_now=True)
            await self.repo.purge(tx, row.id)
            self._forget_due(row.id)
