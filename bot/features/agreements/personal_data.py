"""The agreements' part in `mydata export`, `mydata forget` and the retention purge (registered
with the mydata feature as the "agreements" section): pair agreements, agreement invitations and
the member's part in space-agreement changes. Its SQL lives in `repo.py` and `space_repo.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import Ctx
from bot.features.agreements import AgreementsFeature
from bot.features.agreements.commands import SECTIONS
from bot.features.agreements.content import get_step
from bot.storage.db import Database, Tx


def _section_name(slot: str) -> str:
    """"12" (a storage slot) -> "1 (matters)": the section's number as asked, and its short name."""
    for number, (key, stored) in enumerate(SECTIONS, start=1):
        if str(stored) == slot:
            return f"{number} ({key})"
    return slot


class AgreementsData:
    name = "agreements"

    def __init__(self, agreements: AgreementsFeature, db: Database) -> None:
        self._agreements = agreements
        self._db = db  # the repositories open what is encrypted (they hold the cipher)

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        """Each agreement the member is in, with their own answers only (never another party's),
        their invitations, and their part in space-agreement changes."""
        return {
            "pair_agreements": await self._pair_agreements(ctx),
            "agreement_invitations": await self._invitations(ctx),
            "space_agreement_changes_you_proposed": await self._changes_proposed(ctx),
            "space_agreement_responses": await self._responses(ctx),
        }

    async def _pair_agreements(self, ctx: Ctx) -> list[dict[str, Any]]:
        repo, db = self._agreements.pair.repo, self._db
        exported = []
        for row in await repo.for_member(db, ctx.member.id, joined_only=False, include_withdrawn=True):
            if row.community_id != ctx.community.id:
                continue
            versions = [
                {"version": v.number, "created_at": v.created_at, "your_answers": self._own(v.content, ctx.member.id)}
                for v in await repo.versions(db, row.id)
            ]
            exported.append(
                {
                    "agreement": row.short_id,
                    "status": row.status.value,
                    "started_at": row.created_at,
                    "review_date": row.review_date,
                    "your_current_answers": self._own(row.draft, ctx.member.id),
                    "versions": versions,
                }
            )
        return exported

    async def _invitations(self, ctx: Ctx) -> dict[str, Any]:
        repo, db = self._agreements.pair.repo, self._db
        wait = self._agreements.pair.reinvite_wait
        declines = await repo.declines_of(db, ctx.member.id)
        return {
            "off_since": await repo.invitations_off_since(db, ctx.member.id),
            "invitations_you_declined": [
                {"from": inviter, "declined_at": at} for inviter, _, at, mine in declines if mine
            ],
            # They were told of each decline when it happened; this is only how long it holds.
            "declined_your_invitation": [
                {
                    "member": invitee,
                    "declined_at": at,
                    "can_invite_again_from": (datetime.fromisoformat(at) + wait).isoformat(),
                }
                for _, invitee, at, mine in declines
                if not mine
            ],
        }

    async def _changes_proposed(self, ctx: Ctx) -> list[dict[str, Any]]:
        proposed = await self._agreements.space.repo.proposed_by(self._db, ctx.member.id, ctx.community.id)
        return [
            {"change": number, "section": section, "text": text, "status": status, "opened_at": opened_at}
            for number, section, text, status, opened_at in proposed
        ]

    async def _responses(self, ctx: Ctx) -> list[dict[str, Any]]:
        responses = await self._agreements.space.repo.responses_of(self._db, ctx.member.id, ctx.community.id)
        return [
            {"change": r.change, "section": r.section, "response": r.response, "at": r.at, "your_note": r.note}
            for r in responses
        ]

    @staticmethod
    def _own(content: dict[str, Any], member_id: int) -> dict[str, str]:
        answers = content.get("answers", {}).get(str(member_id), {})
        notes = content.get("notes", {}).get(str(member_id), {})
        # Answers are stored under a section's slot; the export names the section as it is asked.
        own = {f"section {_section_name(section)}": text for section, text in answers.items() if text}
        for sections in notes.values():
            for section, text in sections.items():
                if text:
                    own[f"your note on section {_section_name(section)} (another party's answer)"] = text
        if get_step(content, member_id, "date"):
            own["review date"] = content["review_date"]
        return own

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        await self._agreements.pair.forget_member(tx, ctx)
        # Their responses to space-agreement changes go; a change they proposed stays for the
        # community, unattributed (the member row's deletion sets proposer_id to NULL).
        await self._agreements.space.repo.forget_responses(tx, ctx.member.id)

    async def purge(self, tx: Tx, now: datetime) -> int:
        due = await self._agreements.pair.repo.withdrawn_due(tx, now)
        for agreement_id in due:
            await self._agreements.pair.repo.purge(tx, agreement_id)
        # A decline older than the re-invite wait holds nothing off: it goes.
        declines = await self._agreements.pair.repo.purge_declines(tx, now - self._agreements.pair.reinvite_wait)
        return len(due) + declines
