"""The core's own part in export, forget and retention: pending confirmations, messages still
waiting for delivery, the adapters' per-member records and delivery receipts, and (through the
questions feature's part) the questions a member suggested.

It lives with the mydata feature rather than in `bot/storage/`: it is what `mydata` itself
erases around the features' sources, and it takes the questions feature's part, which storage
(below the features) must not import. It writes no SQL: each table is reached through its owner
(confirmations, the outbox, the adapters' state, the questions feature)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.questions.personal_data import SuggestionsData
from bot.services import Services
from bot.storage.adapter_state import AdapterState, purge_seen
from bot.storage.db import Tx


class CoreData:
    name = "core"

    def __init__(self, services: Services, *, receipts: timedelta, seen_events: timedelta, decisions: timedelta) -> None:
        self._services = services
        self._receipts = receipts
        self._seen_events = seen_events
        self._suggestions = SuggestionsData(services.db, services.cipher, decisions=decisions)

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        waiting = await self._services.confirmations.waiting_of(self._services.db, ctx.member.id)
        return {
            "question_suggestions": await self._suggestions.export_member(ctx),
            "questions_waiting_for_your_answer": [{"about": about, "asked_at": asked} for about, asked in waiting],
            # `mydata language`: the language chosen, and the client's as last seen ('' = none).
            # Both live on the member row, so forget erases them with it.
            "language": {"chosen": ctx.member.language, "client": ctx.member.client_language},
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        member = ctx.member
        await self._suggestions.forget_member(tx, ctx)
        await self._services.confirmations.forget_member(tx, member.id)
        await self._services.outbox.drop_unsent_to(tx, ctx.community.id, member.platform_user_id)
        state = AdapterState(self._services.db, ctx.community.platform)
        await state.forget_private_channel(member.platform_user_id, tx=tx)

    async def purge(self, tx: Tx, now: datetime) -> int:
        removed = await self._services.outbox.purge_receipts(tx, now - self._receipts)
        removed += await purge_seen(tx, now - self._seen_events)
        removed += await self._suggestions.purge(tx, now)
        removed += await self._services.confirmations.purge_expired(tx, now)
        return removed
