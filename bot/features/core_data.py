"""The core's own part in export, forget and retention: suggestions, pending confirmations,
messages still waiting for delivery, the adapters' per-member records and delivery receipts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.core_data_repo import CoreDataRepo
from bot.features.questions import SUGGESTION_PURPOSE
from bot.features.questions.repo import QuestionsRepo
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
        self._repo = CoreDataRepo()
        self._questions = QuestionsRepo()

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        db, member = self._db, ctx.member
        suggestions = []
        for row in await self._questions.suggestions_of(db, member.id):
            text = self._cipher.decrypt(row[1], SUGGESTION_PURPOSE) if row[1] is not None else None
            if text is None and row[3]:
                text = await self._questions.published_text(db, row[3])
            suggestions.append(
                {"id": row[0], "text": text, "status": row[2], "suggested_at": row[4], "decided_at": row[5]}
            )
        waiting = await self._repo.confirmations_of(db, member.id)
        return {
            "question_suggestions": suggestions,
            "questions_waiting_for_your_answer": [{"about": r[0], "asked_at": r[1]} for r in waiting],
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        member = ctx.member
        # Pending suggestions go; an approved one is a published question and stays, unattributed.
        await self._questions.forget_suggestions(tx, member.id)
        await self._repo.forget_confirmations(tx, member.id)
        # Messages still waiting to be delivered to them are dropped (their payloads are encrypted,
        # so each pending one is opened to see who it is for).
        for outbox_id, payload in await self._repo.unsent(tx, ctx.community.id):
            intent = intent_from_json(self._cipher.decrypt(payload, "outbox.payload"))
            if getattr(intent, "user_id", None) == member.platform_user_id:
                await self._repo.drop_unsent(tx, outbox_id)
        await self._repo.forget_private_channel(tx, ctx.community.platform, member.platform_user_id)

    async def purge(self, tx: Tx, now: datetime) -> int:
        removed = await self._repo.purge_receipts(tx, now - self._receipts)
        removed += await self._repo.purge_seen_events(tx, now - self._seen_events)
        removed += await self._questions.purge_declined(tx, now - self._decisions)
        removed += await self._repo.purge_expired_confirmations(tx, now)
        return removed
