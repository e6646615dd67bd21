"""The Discord adapter's part in `mydata export`, `mydata forget` and the retention purge.

What it keeps about a member: messages it could not deliver because their direct messages were
closed (encrypted, until their next command in that server). Pair thread ids and the synced
tree's hash are about nobody. Registered with the core's mydata feature when the app has one."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from adapters.discord.outgoing import Outgoing
from bot.app import AdapterState, Tx
from bot.context import Ctx

PLATFORM = "discord"
KEEP_MISSED = timedelta(days=30)


class DiscordData:
    name = "discord"

    def __init__(self, state: AdapterState, outgoing: Outgoing) -> None:
        self._state = state
        self.outgoing = outgoing

    @staticmethod
    def _key(ctx: Ctx) -> str:
        return f"missed:{ctx.community.external_id}:{ctx.member.platform_user_id}"

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.community.platform != PLATFORM:
            return {}
        kept = self.outgoing.read_kept(await self._state.get(self._key(ctx)))
        return {
            "messages_kept_while_your_direct_messages_were_closed": [
                {"kind": type(intent).__name__, "text": getattr(intent, "text", "")} for intent in kept
            ]
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        if ctx.community.platform != PLATFORM:
            return
        key = self._key(ctx)
        await self._state.delete(key, tx=tx)
        tx.after_commit(lambda: self.outgoing.forgotten([key]))

    async def purge(self, tx: Tx, now: datetime) -> int:
        """Kept messages nobody came back for within 30 days are deleted."""
        old: list[str] = []
        for key, value in await self._state.items("missed:", tx=tx):
            since = (json.loads(value) if value else {}).get("since")
            if not value or not since or datetime.fromisoformat(since) < now - KEEP_MISSED:
                old.append(key)
        await self._state.delete(*old, tx=tx)
        if old:
            tx.after_commit(lambda: self.outgoing.forgotten(old))
        return len(old)
