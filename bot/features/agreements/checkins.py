"""The agreement check-in: "how is our agreement working for you now?", offered through the
`checkin` command (this part is the check-in provider named "agreements")."""

from __future__ import annotations

from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements.pair_agreements import (
    REVISIT_BUTTON,
    SHARE_WORD,
    PairPart,
    _bad_characters,
)
from bot.features.agreements.repo import AgreementRow
from bot.features.agreements.state import Status
from bot.features.checkin_port import OpenCheckin
from bot.replies import (
    ActionButtons,
    Answer,
    Intent,
    PrivateMessage,
)
from bot.storage.db import Tx
from bot.texts.quote import quote
from bot.traits import traits_of


class Checkins(PairPart):
    """The check-in provider: offers and answers 'how is our agreement working for you now?'."""

    def _revisit_button(self, locale: str, short_id: str) -> tuple[tuple[str, str], ...]:
        """The button that starts revisiting (Discord); text platforms show the command, which the
        message beside it names."""
        return ((REVISIT_BUTTON.format(id=short_id), self.deps.services.catalog.text(locale, "agreement.button_revisit")),)

    async def open_checkin(self, ctx: Ctx, *, asked_only: bool = False) -> OpenCheckin | None:
        pending = await self.repo.pending_checkin(self.deps.services.db, ctx.member.id)
        opened_at = ""
        if pending is not None:
            checkin_id, agreement_id, opened_at = pending
        elif asked_only:
            # Nothing was asked: a plain line in private is not an answer to a question never sent.
            return None
        else:
            # On request: any agreed agreement of theirs can be checked in on.
            # An answered check-in is done: one the member has answered on this version is not
            # offered again (`agreement revisit` is there whenever they want more).
            agreed = [
                a
                for a in await self.repo.for_member(self.deps.services.db, ctx.member.id)
                if a.status is Status.AGREED
                and not await self.repo.checked_in_since(self.deps.services.db, a.id, ctx.member.id, a.in_force_version)
            ]
            if not agreed:
                return None
            agreement_id, checkin_id = agreed[0].id, -agreed[0].id
        row = await self.repo.get(self.deps.services.db, agreement_id)
        if row is None or row.community_id != ctx.community.id:
            return None
        labels = await self._labels(self.deps.services.db, ctx.locale, row.ordered_ids)
        others = self._names(labels, [m for m in row.ordered_joined if m != ctx.member.id])
        return OpenCheckin(
            self.name, checkin_id, ctx.t("agreement.checkin_question", id=row.short_id, names=others), opened_at
        )

    async def _ask_checkin_question(self, tx: Tx, ctx: Ctx, row: AgreementRow, *, asked: bool) -> str:
        """The question, naming whom a shared answer goes to. Shown, it counts as asked from
        now (`asked` False: it had only been offered), so a `share` that follows is taken."""
        if not asked:
            await self.repo.open_checkin(tx, row.id, ctx.member.id, "asked", ctx.now)
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        others = self._names(labels, [m for m in row.ordered_joined if m != ctx.member.id])
        return ctx.t("agreement.checkin_question", id=row.short_id, names=others)

    async def answer_checkin(self, ctx: Ctx, checkin_id: int, answer: str | None) -> list[Intent]:
        async with self.deps.services.db.transaction() as tx:
            if checkin_id > 0:
                agreement_id = await self.repo.checkin(tx, checkin_id, ctx.member.id)
            else:
                agreement_id = -checkin_id
            row = await self.repo.get(tx, agreement_id) if agreement_id else None
            if (
                row is None
                or row.community_id != ctx.community.id
                or ctx.member.id not in row.joined
                or row.status not in (Status.AGREED, Status.REVISITING)
            ):
                raise Refusal("agreement.checkin_none")
            if answer is None:
                return [Answer(await self._ask_checkin_question(tx, ctx, row, asked=checkin_id > 0))]
            if checkin_id > 0:
                await self.repo.answer_checkin(tx, checkin_id, ctx.now)
            # An open question: the answer is its author's. Nothing of it is kept; only that they
            # checked in. With `share` in front, it goes to the others in the agreement, privately.
            text = answer.strip()
            share = text.lower() == SHARE_WORD or text.lower().startswith(SHARE_WORD + " ")
            if share:
                text = text[len(SHARE_WORD) :].strip()
                if not text:
                    raise Refusal("agreement.checkin_share_needs_answer")
                if _bad_characters(text):
                    raise Refusal("agreement.bad_characters")
                limit = self.deps.settings.max_section_length
                if len(text) > limit:
                    raise Refusal("agreement.too_long", max=limit, given_length=len(text))
                if checkin_id < 0:
                    # Nothing was asked (a pair's check-in may just have closed): sharing now
                    # would send the text to people the member was never shown. The question
                    # first, with whom it goes to.
                    question = await self._ask_checkin_question(tx, ctx, row, asked=False)
                    return [Answer(ctx.t("agreement.checkin_share_unasked", question=question))]
            labels = await self._labels(tx, ctx.locale, row.ordered_ids)
            others = [m for m in row.ordered_joined if m != ctx.member.id]
            await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "checked_in", row.in_force_version)
            if share:
                await self._notify(
                    tx,
                    ctx.community.id,
                    others,
                    lambda member: PrivateMessage(
                        member.platform_user_id,
                        ctx.to(member).t("agreement.checkin_shared_notice", name=ctx.member.label, id=row.short_id, answer=quote(text)),
                    ),
                )
            key = "agreement.checkin_thanks_shared" if share else "agreement.checkin_thanks"
            if row.status is Status.REVISITING:
                key += "_revisiting"
            reply = ctx.t(key, id=row.short_id, names=self._names(labels, others))
            if row.status is Status.REVISITING or not traits_of(ctx.invocation.community.platform).has_forms:
                return [Answer(reply)]  # text platforms: the reply names the command
            return [ActionButtons(ctx.invocation.actor.user_id, reply, self._revisit_button(ctx.locale, row.short_id))]
