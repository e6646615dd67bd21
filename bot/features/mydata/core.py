"""The core's own part in export, forget and retention: pending confirmations, messages still
waiting for delivery, the adapters' per-member records and delivery receipts, and (through the
questions feature's part) the questions a member suggested.

It lives with the mydata feature rather than in `bot/storage/`: it is what `mydata` itself
erases around the features' sources, and it takes the questions feature's part, which storage
(below the features) must not import. Its SQL is in `core_repo.py`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.mydata.core_repo import CoreDataRepo
from bot.features.questions.personal_data import SuggestionsData
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
        self._repo = CoreDataRepo()
        self._suggestions = SuggestionsData(db, cipher, decisions=decisions)

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        waiting = await self._repo.confirmations_of(self._db, ctx.member.id)
        return {
            "question_suggestions": await self._suggestions.export_member(ctx),
            "questions_waiting_for_your_answer": [{"about": r[0], "asked_at": r[1]} for r in waiting],
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        member = ctx.member
        await self._suggestions.forget_member(tx, ctx)
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
        removed += await self._suggestions.purge(tx, now)
        removed += await self._repo.purge_expired_confirmations(tx, now)
        return removed
