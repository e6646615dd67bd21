"""Starting a pair agreement and its invitations: who may be invited, asking them one at a
time, joining, declining and closing an agreement nobody joined."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements import state
from bot.features.agreements.pair_agreements import (
    INVITE_ACTION,
    Labels,
    PairPart,
)
from bot.features.agreements.repo import AgreementRow
from bot.features.agreements.state import Status
from bot.replies import (
    Answer,
    ConfirmPrompt,
    Intent,
    PrivateMessage,
)
from bot.storage.communities import Member
from bot.storage.db import Tx
from bot.traits import traits_of


class Invitations(PairPart):
    """`agreement start`, `agreement invitations` and the yes/no to an invitation."""

    async def _invitations_text(self, db: Any, ctx: Ctx) -> str:
        """Invitations waiting for the member, newest first, each with how to answer it: the one
        they were asked about by its confirmation id, the others as queued behind it."""
        rows = [
            row
            for row in await self.repo.for_member(db, ctx.member.id, joined_only=False)
            if ctx.member.id in row.invited and row.status is not Status.WITHDRAWN
        ]
        if not rows:
            return ""
        live = await self.deps.services.confirmations.open_id(db, ctx.member.id, INVITE_ACTION, ctx.now)
        lines = []
        for row in sorted(rows, key=lambda r: r.id, reverse=True):
            labels = await self._labels(db, ctx.locale, row.ordered_ids)
            starter = labels.get(row.started_by or row.ordered_ids[0], "?")
            prompted = any(p.member_id == ctx.member.id and p.prompted for p in row.parties)
            if prompted and live is not None:
                lines.append(ctx.t("agreement.waiting_invite", id=row.short_id, name=starter, confirmation=live))
            else:
                lines.append(ctx.t("agreement.waiting_invite_queued", id=row.short_id, name=starter))
        return "\n".join(lines)

    async def _live_invite(self, tx: Tx, member_id: int) -> bool:
        return await self.deps.services.confirmations.open_id(tx, member_id, INVITE_ACTION, self.deps.services.clock.now()) is not None

    async def _invite_prompt(self, tx: Tx, ctx: Ctx, row_id: int, invitee: Member) -> ConfirmPrompt:
        row = await self.repo.get(tx, row_id)
        assert row is not None
        # The invitation is for the invitee: in their language (the starter may read another).
        if invitee.id != ctx.member.id:
            ctx = ctx.to(invitee)
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        starter = row.started_by if row.started_by is not None else row.ordered_ids[0]
        others = [m for m in row.ordered_ids if m not in (starter, invitee.id)]
        if others:
            text = ctx.t("agreement.invite_group", starter=labels[starter], other=self._names(labels, others))
        else:
            text = ctx.t("agreement.invite_pair", starter=labels[starter])
        await self.repo.set_prompted(tx, row_id, invitee.id, True)
        return await self.deps.services.confirmations.request(
            tx,
            ctx.community.id,
            invitee.id,
            invitee.platform_user_id,
            INVITE_ACTION,
            {"agreement": row_id},
            text,
            ctx.t("agreement.invite_yes"),
            ctx.t("agreement.invite_no"),
        )

    async def _ask(self, tx: Tx, ctx: Ctx, row_id: int, invitee: Member) -> None:
        """Ask now, or queue the invitation behind one the member has not answered yet."""
        if await self._live_invite(tx, invitee.id):
            await self.repo.set_prompted(tx, row_id, invitee.id, False)
            return
        await self.deps.services.outbox.add(tx, ctx.community.id, await self._invite_prompt(tx, ctx, row_id, invitee))

    async def start_cmd(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        wanted: list[str] = []
        for user_id in (args["member"], args.get("member2"), args.get("member3")):
            # Naming yourself among the parties is simply ignored.
            if user_id and user_id not in wanted and user_id != ctx.member.platform_user_id:
                wanted.append(user_id)
        if not wanted:
            raise Refusal("agreement.start_self")
        if len(wanted) > 2:
            raise Refusal("agreement.start_too_many")
        async with self.deps.services.db.transaction() as tx:
            invitees: list[Member] = []
            for user_id in wanted:
                member = await self.deps.services.members.find(tx, ctx.community.id, user_id)
                if member is None and traits_of(ctx.community.platform).mentions_are_members:
                    member = await self.deps.services.members.ensure(tx, ctx.community.id, user_id, "", ctx.now)
                if member is None:
                    raise Refusal("agreement.start_not_member", name=user_id)
                invitees.append(member)
            people = {ctx.member.id, *(m.id for m in invitees)}
            for existing in await self.repo.for_member(tx, ctx.member.id, joined_only=False):
                if set(existing.ordered_ids) != people:
                    continue
                if ctx.member.id not in existing.joined:
                    labels = await self._labels(tx, ctx.locale, existing.ordered_ids)
                    starter = existing.started_by or existing.ordered_ids[0]
                    raise Refusal("agreement.start_already_invited", name=labels[starter])
                lapsed = [
                    p.member_id
                    for p in existing.parties
                    if not p.joined and p.prompted and not await self._live_invite(tx, p.member_id)
                ]
                if not lapsed:
                    raise Refusal("agreement.start_exists", id=existing.short_id)
                labels = await self._labels(tx, ctx.locale, lapsed)
                for member_id in lapsed:
                    member = await self.deps.services.members.get(tx, member_id)
                    assert member is not None
                    await self._check_invitable(tx, ctx, member)
                    await self._ask(tx, ctx, existing.id, member)
                return [Answer(ctx.t("agreement.asked_again", id=existing.short_id, names=self._names(labels, lapsed)))]
            state.start(ctx.member.id, frozenset(people - {ctx.member.id}))
            for invitee in invitees:
                await self._check_invitable(tx, ctx, invitee)
            row_id = await self.repo.create(tx, ctx.community.id, ctx.member.id, [m.id for m in invitees], ctx.now)
            await self.repo.event(tx, row_id, ctx.now, ctx.member.id, "started")
            for invitee in invitees:
                await self._ask(tx, ctx, row_id, invitee)
            row = await self.repo.get(tx, row_id)
            assert row is not None
        labels = Labels(ctx.locale)
        labels.update({m.id: m.label for m in invitees})
        names = self._names(labels, [m.id for m in invitees])
        return [Answer(ctx.t("agreement.started", id=row.short_id, names=names))]

    async def _check_invitable(self, tx: Tx, ctx: Ctx, invitee: Member) -> None:
        """Refuse to invite someone who turned invitations off, or who declined an invitation from
        this member within `reinvite_after_days`. Both get the same answer, which says no more
        than "not now; they can start one with you": the starter cannot tell a recent decline
        (which they were told of anyway) from invitations being off, nor for how long."""
        off = await self.repo.invitations_off_since(tx, invitee.id) is not None
        wait = self.reinvite_wait
        declined = bool(wait) and await self.repo.declined_since(tx, ctx.member.id, invitee.id, ctx.now - wait)
        if off or declined:
            raise Refusal("agreement.start_not_now", name=invitee.label)

    async def invitations(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        """`agreement invitations [on|off]`: the member's own choice, shown when none is given."""
        setting = args.get("setting")
        async with self.deps.services.db.transaction() as tx:
            off = await self.repo.invitations_off_since(tx, ctx.member.id) is not None
            if setting is None:
                return [Answer(ctx.t("agreement.invitations_are_off" if off else "agreement.invitations_are_on"))]
            if (setting == "off") == off:
                key = "agreement.invitations_already_off" if off else "agreement.invitations_already_on"
                return [Answer(ctx.t(key))]
            await self.repo.set_invitations(tx, ctx.member.id, setting == "off", ctx.now)
        return [Answer(ctx.t("agreement.invitations_turned_off" if setting == "off" else "agreement.invitations_turned_on"))]

    async def _on_invite(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        row = await self.repo.get(tx, int(payload.get("agreement", 0)))
        intents: list[Intent] = []
        if (
            row is None
            or row.community_id != ctx.community.id
            or ctx.member.id not in row.invited
            or row.status is Status.WITHDRAWN
        ):
            intents.append(Answer(ctx.t("agreement.invite_gone")))
        elif yes:
            intents.extend(await self._join(tx, ctx, row))
        else:
            intents.extend(await self._decline(tx, ctx, row))
            if row.started_by is not None and row.started_by != ctx.member.id:
                # Holds off the next invitation from the same person (`reinvite_after_days`).
                await self.repo.record_decline(tx, row.started_by, ctx.member.id, ctx.now)
        for queued in await self.repo.queued_invitations(tx, ctx.member.id):
            intents.append(await self._invite_prompt(tx, ctx, queued, ctx.member))
            break
        return intents

    async def _join(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> list[Intent]:
        new = self._transition(state.join, row, ctx.member.id)
        await self.repo.join(tx, row.id, ctx.member.id, ctx.now)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "joined")
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        ready = not new.invited
        key = "agreement.joined_notice_ready" if ready else "agreement.joined_notice"
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id, ctx.to(member).t(key, name=ctx.member.label, id=row.short_id)
            ),
        )
        return [
            Answer(
                ctx.t(
                    "agreement.joined",
                    id=row.short_id,
                    names=self._names(labels, [m for m in row.ordered_ids if m != ctx.member.id]),
                )
            )
        ]

    async def _decline(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> list[Intent]:
        new = self._transition(state.decline, row, ctx.member.id)
        await self.repo.remove_party(tx, row.id, ctx.member.id)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "declined")
        closed = new.status is Status.WITHDRAWN
        if closed:
            await self._close(tx, ctx.now, row)
        key = "agreement.declined_notice_closed" if closed else "agreement.declined_notice"
        await self._notify(
            tx,
            ctx.community.id,
            row.ordered_joined,
            lambda member: PrivateMessage(member.platform_user_id, ctx.to(member).t(key, name=ctx.member.label, id=row.short_id)),
        )
        return [Answer(ctx.t("agreement.declined"))]

    async def _close(self, tx: Tx, now: datetime, row: AgreementRow) -> None:
        """Mark withdrawn and set the day its text is deleted (at once with no retention)."""
        purge_at = now + timedelta(days=self.deps.settings.retention_days)
        await self.repo.update(
            tx,
            row.id,
            now,
            status=Status.WITHDRAWN,
            withdrawn_at=now.isoformat(),
            purge_after=purge_at.isoformat(),
            proposal_version=None,
            proposal_hash=None,
            proposed_by=None,
        )
        await self.deps.dialogs.close_for(tx, "agreement", str(row.id))
        self._forget_due(row.id)
        if self.deps.settings.retention_days == 0:
            await self.repo.purge(tx, row.id)
        else:
            self._due_purge(row.id, purge_at)
