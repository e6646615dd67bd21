"""Pairing's and agreements' parts in `mydata export`, `mydata forget` and the retention purge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.agreements import AgreementsFeature
from bot.features.agreements.commands import SECTIONS
from bot.features.agreements.content import get_step
from bot.features.agreements.space_repo import OBJECTION_PURPOSE
from bot.features.pairing.service import PairingFeature
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx


def _section_name(slot: str) -> str:
    """"12" (a storage slot) -> "1 (matters)": the section's number as asked, and its short name."""
    for number, (key, stored) in enumerate(SECTIONS, start=1):
        if str(stored) == slot:
            return f"{number} ({key})"
    return slot


class PairingData:
    name = "pairing"

    def __init__(self, pairing: PairingFeature, history: timedelta) -> None:
        self._pairing = pairing
        self._history = history

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        return await self._pairing.export_member(ctx)

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        await self._pairing.forget_member(tx, ctx)

    async def purge(self, tx: Tx, now: datetime) -> int:
        removed = 0
        for community_id in await self._pairing.repo.community_ids(tx):
            removed += await self._pairing.repo.purge_before(tx, community_id, now - self._history)
        return removed


class AgreementsData:
    name = "agreements"

    def __init__(self, agreements: AgreementsFeature, db: Database, cipher: FieldCipher) -> None:
        self._agreements = agreements
        self._db = db
        self._cipher = cipher

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        """Each agreement the member is in, with their own answers only (never another party's)."""
        repo, db = self._agreements.pair.repo, self._db
        exported = []
        for row in await repo.for_member(db, ctx.member.id, joined_only=False, include_withdrawn=True):
            if row.community_id != ctx.community.id:
                continue
            own = self._own(row.draft, ctx.member.id)
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
                    "your_current_answers": own,
                    "versions": versions,
                }
            )
        responses = await db.fetchall(
            "SELECT c.number, c.section, r.response, r.at, r.note_enc FROM space_agreement_responses r"
            " JOIN space_agreement_changes c ON c.id = r.change_id"
            " WHERE r.member_id = ? AND c.community_id = ? ORDER BY r.at",
            (ctx.member.id, ctx.community.id),
        )
        proposed = await db.fetchall(
            "SELECT number, section, text, status, opened_at FROM space_agreement_changes"
            " WHERE proposer_id = ? AND community_id = ? ORDER BY number",
            (ctx.member.id, ctx.community.id),
        )
        wait = self._agreements.pair.reinvite_wait
        declines = await repo.declines_of(db, ctx.member.id)
        invitations = {
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
        return {
            "pair_agreements": exported,
            "agreement_invitations": invitations,
            "space_agreement_changes_you_proposed": [
                {"change": r[0], "section": r[1], "text": r[2], "status": r[3], "opened_at": r[4]} for r in proposed
            ],
            "space_agreement_responses": [
                {
                    "change": r[0],
                    "section": r[1],
                    "response": r[2],
                    "at": r[3],
                    "your_note": self._cipher.decrypt(r[4], OBJECTION_PURPOSE) if r[4] is not None else None,
                }
                for r in responses
            ],
        }

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
        await tx.execute("DELETE FROM space_agreement_responses WHERE member_id = ?", (ctx.member.id,))

    async def purge(self, tx: Tx, now: datetime) -> int:
        rows = await tx.fetchall(
            "SELECT id FROM agreements WHERE status = 'withdrawn' AND purge_after IS NOT NULL AND purge_after <= ?",
            (now.isoformat(),),
        )
        for (agreement_id,) in rows:
            await self._agreements.pair.repo.purge(tx, agreement_id)
        # A decline older than the re-invite wait holds nothing off: it goes.
        declines = await self._agreements.pair.repo.purge_declines(tx, now - self._agreements.pair.reinvite_wait)
        return len(rows) + declines
