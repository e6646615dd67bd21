"""Something private typed in a shared channel (a not-with name, a check-in answer, an agreement
section): a gentle note that the words can be read there, and, where the platform lets the bot
take a member's line down (the adapter says so per invocation, see `Invocation.removable`), an
offer to remove it on the member's own yes.

The offer is a confirmation: only the member who typed the line can answer it, only while it is
fresh (a stray yes later removes nothing), and the line it names is the one the adapter reported
for that very command, so a yes can never remove anyone else's words.
"""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.features.confirmations import Confirmations
from bot.replies import Answer, Intent, RemoveMessage
from bot.storage.db import Database, Tx
from bot.traits import traits_of

REMOVE_ACTION = "line.remove"
MAX_LINES = 10  # lines one open offer can remove (each new offer replaces the open one)


def typed_in_channel(ctx: Ctx) -> bool:
    """Typed where others can read it (Discord's slash commands are seen only by their author)."""
    return not ctx.invocation.private and not traits_of(ctx.invocation.community.platform).commands_are_private


class TypedLines:
    def __init__(self, db: Database, confirmations: Confirmations) -> None:
        self._db = db
        self._confirmations = confirmations
        confirmations.on(REMOVE_ACTION, self._confirmed, destructive=True)

    async def note(self, ctx: Ctx, key: str, **params: Any) -> list[Intent]:
        """The note under `key` when the command was typed in a shared channel (else nothing),
        with the offer to remove the line when the adapter can."""
        if not typed_in_channel(ctx):
            return []
        text = ctx.t(key, **params)
        inv = ctx.invocation
        if not (inv.removable and inv.message_ref and inv.channel):
            return [Answer(text)]
        offer = ctx.t("line.offer", minutes=self._confirmations.fresh_minutes)
        async with self._db.transaction() as tx:
            # Asking again replaces the open offer, so it carries on the lines that one held:
            # a yes removes every line typed since.
            open_ = await self._confirmations.pending_payload(tx, ctx.member.id, REMOVE_ACTION, ctx.now)
            lines = [*(open_ or {}).get("lines", []), {"channel": inv.channel, "ref": inv.message_ref}]
            prompt = await self._confirmations.request(
                tx,
                ctx.community.id,
                ctx.member.id,
                inv.actor.user_id,
                REMOVE_ACTION,
                {"lines": lines[-MAX_LINES:]},
                f"{text}\n{offer}",
                ctx.t("line.yes"),
                ctx.t("line.no"),
            )
        return [prompt]

    async def _confirmed(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        if not yes:
            return [Answer(ctx.t("line.kept"))]
        removals: list[Intent] = [
            RemoveMessage(ctx.member.platform_user_id, str(line["channel"]), str(line["ref"]))
            for line in payload.get("lines", [])
        ]
        return [*removals, Answer(ctx.t("line.removing"))]
