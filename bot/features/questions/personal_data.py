"""The questions feature's part in `mydata export`, `mydata forget` and the retention purge: the
questions a member suggested.

It is a part of the core's source (`bot/features/mydata/core.py`), not a source of its own: the
export has always listed suggestions in its "core" section, and the shape of the document a
member takes away does not change with the code's layout."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.questions.feature import SUGGESTION_PURPOSE
from bot.features.questions.repo import QuestionsRepo
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx


class SuggestionsData:
    def __init__(self, db: Database, cipher: FieldCipher, *, decisions: timedelta) -> None:
        self._db = db
        self._cipher = cipher
        self._decisions = decisions  # how long a declined suggestion is kept
        self._repo = QuestionsRepo()

    async def export_member(self, ctx: Ctx) -> list[dict[str, Any]]:
        """Each suggestion the member made; an approved one shows the question as published."""
        suggestions = []
        for row in await self._repo.suggestions_of(self._db, ctx.member.id):
            text = self._cipher.decrypt(row[1], SUGGESTION_PURPOSE) if row[1] is not None else None
            if text is None and row[3]:
                text = await self._repo.published_text(self._db, row[3])
            suggestions.append(
                {"id": row[0], "text": text, "status": row[2], "suggested_at": row[4], "decided_at": row[5]}
            )
        return suggestions

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        # Pending suggestions go; an approved one is a published question and stays, unattributed.
        await self._repo.forget_suggestions(tx, ctx.member.id)

    async def purge(self, tx: Tx, now: datetime) -> int:
        return await self._repo.purge_declined(tx, now - self._decisions)
