"""The core's own part in export, forget and retention: suggestions, pending confirmations,
messages still waiting for delivery, the adapters' per-member records and delivery receipts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.questions import SUGGESTION_PURPOSE
from bot.replies import intent_from_json
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx


class CoreData:
    name = "core"

    def __init__(self, db: Database, cipher: FieldCipher, *, receipts: timedelta, seen_events: timedelta, decisions: timedelta) -> None:
        self._db = db
        self._cipher = cipher
        self._receipts = receipts
        self._seen_events = seen_events
        self._decisions = decisions

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        db, member = self._db, ctx.member
        suggestions = []
        for row in await db.fetchall(
            "SELECT id, text_enc, status, question_id, created_at, decided_at FROM question_suggestions"
            " WHERE member_id = ? ORDER BY id",
            (member.id,),
        ):
            text = self._cipher.decrypt(row[1], SUGGESTION_PURPOSE) if row[1] is not None else None
            if text is None and row[3]:
                published = await db.fetchone("SELECT text FROM community_questions WHERE id = ?", (row[3],))
                text = published[0] if published else None
            suggestions.append(
                {"id": row[0], "text": text, "status": row[2], "suggested_at": row[4], "decided_at": row[5]}
            )
        waiting = await db.fetchall(
            "SELECT action, created_at FROM confirmations WHERE member_id = ? ORDER BY id", (member.id,)
        )
        return {
            "question_suggestions": suggestions,
            "questions_waiting_for_your_answer": [{"about": r[0], "asked_at": r[1]} for r in waiting],
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        member = ctx.member
        # Pending suggestions go; an approved one is a published question and stays, unattributed.
        await tx.execute(
            "DELETE FROM question_suggestions WHERE member_id = ? AND status != 'approved'", (member.id,)
        )
        await tx.execute("UPDATE question_suggestions SET member_id = NULL WHERE member_id = ?", (member.id,))
        await tx.execute("DELETE FROM confirmations WHERE member_id = ?", (member.id,))
        # Messages still waiting to be delivered to them are dropped (their payloads are encrypted,
        # so each pending one is opened to see who it is for).
        for row in await tx.fetchall(
            "SELECT id, payload FROM outbox WHERE community_id = ? AND sent_at IS NULL", (ctx.community.id,)
        ):
            intent = intent_from_json(self._cipher.decrypt(row[1], "outbox.payload"))
            if getattr(intent, "user_id", None) == member.platform_user_id:
                await tx.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
        await tx.execute(
            "DELETE FROM private_channels WHERE platform = ? AND user_id = ?",
            (ctx.community.platform, member.platform_user_id),
        )

    async def purge(self, tx: Tx, now: datetime) -> int:
        removed = await tx.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", ((now - self._receipts).isoformat(),)
        )
        removed += await tx.execute(
            "DELETE FROM seen_events WHERE seen_at < ?", ((now - self._seen_events).isoformat(),)
        )
        removed += await tx.execute(
            "DELETE FROM question_suggestions WHERE status = 'declined' AND decided_at < ?",
            ((now - self._decisions).isoformat(),),
        )
        removed += await tx.execute("DELETE FROM confirmations WHERE expires_at < ?", (now.isoformat(),))
        return removed
