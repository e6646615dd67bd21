"""Pairing's part in `mydata export`, `mydata forget` and the retention purge (registered with the
mydata feature as the "pairing" section). What a member's pairing records are, and how a pair
ends when one of them leaves, is the pairing service's; this source only takes part in mydata."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.features.pairing.service import PairingFeature
from bot.storage.db import Tx


class PairingData:
    name = "pairing"

    def __init__(self, pairing: PairingFeature, history: timedelta) -> None:
        self._pairing = pairing
        self._history = history

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        found = await self._pairing.export_member(ctx)
        repo, db = self._pairing.repo, self._pairing.services.db
        prefs = await repo.preferences_of(db, ctx.community.id, ctx.member.id)
        found["preferences"] = (
            {"languages": list(prefs.languages), "timezone": prefs.timezone, "free": list(prefs.free), "style": prefs.style}
            if prefs.is_set
            else {}
        )
        # The member's own wishes, named by the id they gave: their own data. Wishes others made
        # about them are the others' (and one-sided ones are never shown to anyone).
        found["meet_again"] = [
            {"with": wish.other_user_id, "asked": wish.created_at.isoformat()}
            for wish in await repo.wishes_of(db, ctx.community.id, ctx.member.id)
        ]
        return found

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        await self._pairing.forget_member(tx, ctx)

    async def purge(self, tx: Tx, now: datetime) -> int:
        removed = 0
        for community_id in await self._pairing.repo.community_ids(tx):
            removed += await self._pairing.repo.purge_before(tx, community_id, now - self._history)
        return removed
