"""A pair agreement's life: propose, accept (a version), revisit and withdraw."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements import state
from bot.features.agreements.content import (
    diff,
    empty_content,
    is_empty,
)
from bot.features.agreements.pair_agreements import (
    _VERSION,
    PairPart,
)
from bot.features.agreements.repo import AgreementRow, normalise_short_id
from bot.features.agreements.state import Status
from bot.replies import (
    Answer,
    Intent,
    PrivateMessage,
)
from bot.storage.db import Tx


class Lifecycle(PairPart):
    """`agreement propose`, `accept`, `revisit` and `withdraw` (and its confirmation)."""

    async def _on_withdraw_confirmed(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        row = await self.repo.get(tx, int(payload.get("agreement", 0)))
        if (
            row is None
            or row.community_id != ctx.community.id
            or ctx.member.id not in row.joined
            or row.status is Status.WITHDRAWN
        ):
            # Answered, so the question is used up either way; nothing else happens.
            return [Answer(ctx.t("agreement.no_such"))]
        if not yes:
            return [Answer(ctx.t("agreement.withdraw_kept", id=row.short_id))]
        return await self._withdraw(tx, ctx, row)

    async def propose(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement propose")
            labels = await self._labels(tx, ctx.locale, row.ordered_ids)
            digest = row.draft_hash()
            new = self._transition(state.propose, row, ctx.member.id, digest, is_empty(row.draft), labels=labels)
            versions = await self.repo.versions(tx, row.id)
            previous = versions[-1].content if versions else empty_content()
            number = await self.repo.add_version(tx, row.id, row.draft, digest, ctx.member.id, ctx.now)
            await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "proposed", number, diff(previous, row.draft))
            await self.repo.update(
                tx,
                row.id,
                ctx.now,
                status=new.status,
                proposal_version=number,
                proposal_hash=digest,
                proposed_by=ctx.member.id,
            )
            await self.repo.accept(tx, row.id, ctx.member.id, number, digest, ctx.now)
            await self._send_version(tx, ctx, row, number, row.draft, digest, labels, "agreement.proposed_notice")
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        return [Answer(ctx.t("agreement.proposed", id=row.short_id, version=number, names=self._names(labels, others)))]

    def _split_version(self, args: dict[str, Any]) -> tuple[str | None, str | None]:
        """(agreement id, version word). `agreement accept v2` arrives as id="v2": a version is
        never an agreement id (ids are five characters; an all-digit one stays an id), so the words
        are put where they belong, in either order."""
        ident, version = args.get("id"), args.get("version")
        moved = ident is not None and _VERSION.match(ident) and normalise_short_id(ident) is None
        if moved and (version is None or normalise_short_id(version)):
            ident, version = version, ident
        return ident, version

    async def accept(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        ident, version = self._split_version(args)
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, ident, "agreement accept")
            labels = await self._labels(tx, ctx.locale, row.ordered_ids)
            # Whatever the version says, a step the state refuses (nothing proposed, withdrawn,
            # already accepted) gets that answer first. Only a check: nothing is stored here.
            self._transition(state.accept, row, ctx.member.id, None, labels=labels)
            assert row.proposal_version is not None and row.proposal_hash is not None
            match = _VERSION.match(version) if version is not None else None
            if version is not None and match is None:
                raise Refusal(
                    "agreement.bad_version",
                    given=version[:24],
                    id=row.short_id,
                    version=row.proposal_version,
                )
            seen = int(match.group(1)) if match is not None else None
            if seen != row.proposal_version:
                # Not the version out for acceptance (or none named): accept nothing, and show
                # that version with the command that accepts it.
                proposal = await self.repo.version(tx, row.id, row.proposal_version)
                assert proposal is not None
                changed = seen is not None and 0 < seen < row.proposal_version
                raise Refusal(
                    "agreement.accept_changed" if changed else "agreement.accept_which",
                    id=row.short_id,
                    version=row.proposal_version,
                    seen=seen or "",
                    name=labels.get(row.proposed_by or 0, "?"),
                    content=self.render_content(ctx, proposal.content, row.ordered_joined, labels, row.short_id),
                )
            return await self._accept(tx, ctx, row, seen=row.proposal_hash)

    async def _accept(self, tx: Tx, ctx: Ctx, row: AgreementRow, seen: str | None = None) -> list[Intent]:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        new = self._transition(state.accept, row, ctx.member.id, seen, labels=labels)
        number, digest = row.proposal_version, row.proposal_hash
        assert number is not None and digest is not None
        await self.repo.accept(tx, row.id, ctx.member.id, number, digest, ctx.now)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "accepted", number)
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        if new.status is Status.AGREED:
            version = await self.repo.version(tx, row.id, number)
            review = version.content.get("review_date") if version else None
            await self.repo.update(
                tx,
                row.id,
                ctx.now,
                status=Status.AGREED,
                in_force_version=number,
                in_force_hash=digest,
                review_date=review,
                proposal_version=None,
                proposal_hash=None,
                proposed_by=None,
            )
            await self.repo.event(tx, row.id, ctx.now, None, "agreed", number)
            await self._notify(
                tx,
                ctx.community.id,
                others,
                lambda member: PrivateMessage(
                    member.platform_user_id,
                    ctx.to(member).t("agreement.agreed_notice", name=ctx.member.label, id=row.short_id, version=number),
                ),
            )
            self._due_review(row.id, review, ctx.community.timezone)
            return [Answer(ctx.t("agreement.agreed", id=row.short_id, version=number))]
        waiting = [m for m in row.ordered_joined if m not in new.accepted]
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id,
                ctx.to(member).t("agreement.accepted_notice", name=ctx.member.label, id=row.short_id, version=number),
            ),
        )
        return [
            Answer(
                ctx.t("agreement.accepted", id=row.short_id, version=number, waiting=self._names(labels, waiting))
            )
        ]

    async def revisit(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement revisit")
            intents = await self._revisit(tx, ctx, row)
        return intents

    async def _revisit(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> list[Intent]:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        new = self._transition(state.revisit, row, ctx.member.id, labels=labels)
        await self.repo.update(tx, row.id, ctx.now, status=new.status)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "revisit", row.in_force_version)
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id,
                ctx.to(member).t("agreement.revisit_notice", name=ctx.member.label, id=row.short_id, version=row.in_force_version),
            ),
        )
        return [Answer(ctx.t("agreement.revisiting", id=row.short_id, version=row.in_force_version))]

    async def withdraw(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement withdraw")
            return await self._withdraw(tx, ctx, row)

    async def _withdraw(self, tx: Tx, ctx: Ctx, row: AgreementRow, *, erase_now: bool = False) -> list[Intent]:
        self._transition(state.withdraw, row, ctx.member.id)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "withdrawn")
        await self._close(tx, ctx.now, row)
        # `mydata forget` deletes the agreement at once, so the notice must not promise 30 days.
        days = 0 if erase_now else self.deps.settings.retention_days
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id,
                ctx.to(member).t(
                    "agreement.withdrawn_notice" if days else "agreement.withdrawn_notice_now",
                    name=ctx.member.label,
                    id=row.short_id,
                    days=days,
                ),
            ),
        )
        return [Answer(ctx.t("agreement.withdrawn" if days else "agreement.withdrawn_now", id=row.short_id, days=days))]
