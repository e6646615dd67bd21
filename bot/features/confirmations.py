"""The generic confirmation step: the core asks a member yes or no, and acts only on their answer.

Pairing consent and `mydata forget` use it; each adapter renders the prompt (Discord buttons,
`/yes` `/no` in the console, `!yes` `!no` or a plain yes/no in a Matrix private room). The stored
payload is encrypted, and an answer is only ever taken from the member who was asked.

A bare yes/no answers only the member's newest question, and only while it is fresh (minutes):
a stray "yes" days later must never fire something the member has forgotten. A destructive
question (erasing data, withdrawing) expires after those same minutes whichever way it is
answered, and its prompt says so; others keep a longer life when answered by their id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Where
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.confirmations_repo import ConfirmationsRepo
from bot.features.feature import Feature
from bot.replies import Answer, ConfirmPrompt, Intent
from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx

COMMANDS = (
    CommandSpec("yes", "commands.yes", (Arg("id", ArgType.INT, required=False, min=1),), where=Where.PRIVATE),
    CommandSpec("no", "commands.no", (Arg("id", ArgType.INT, required=False, min=1),), where=Where.PRIVATE),
)

EXPIRY = timedelta(days=7)
FRESH = timedelta(minutes=15)

# (transaction, context of the member answering, payload, their answer) -> what to tell them
ConfirmHandler = Callable[[Tx, Ctx, dict[str, Any], bool], Awaitable[list[Intent]]]


class Confirmations(Feature):
    commands = COMMANDS

    def __init__(
        self, db: Database, cipher: FieldCipher, clock: Clock, fresh: timedelta = FRESH
    ) -> None:
        self._db = db
        self._repo = ConfirmationsRepo(cipher)
        self._clock = clock
        self._fresh = fresh
        self._handlers: dict[str, ConfirmHandler] = {}
        self._destructive: set[str] = set()

    @property
    def fresh_minutes(self) -> int:
        """How long a destructive question stays open, for its prompt to say so."""
        return int(self._fresh.total_seconds() // 60)

    def on(self, action: str, handler: ConfirmHandler, *, destructive: bool = False) -> None:
        """`destructive`: a yes cannot be undone (erasing, withdrawing), so the question expires
        after `fresh` minutes instead of days."""
        self._handlers[action] = handler
        if destructive:
            self._destructive.add(action)

    def bind(self, registry: Registry) -> None:
        registry.bind("yes", lambda ctx, args: self.answer(ctx, True, args["id"]))
        registry.bind("no", lambda ctx, args: self.answer(ctx, False, args["id"]))

    async def request(
        self,
        tx: Tx,
        ctx_community_id: int,
        member_id: int,
        user_id: str,
        action: str,
        payload: dict[str, Any],
        text: str,
        yes_label: str,
        no_label: str,
    ) -> ConfirmPrompt:
        """Store a pending question (replacing an older one for the same action) and return the
        prompt to show. Nothing else is stored until the member says yes."""
        if action not in self._handlers:
            raise KeyError(f"no confirmation handler for {action}")
        now = self._clock.now()
        expires = now + (self._fresh if action in self._destructive else EXPIRY)
        confirmation_id = await self._repo.replace(tx, ctx_community_id, member_id, action, payload, now, expires)
        return ConfirmPrompt(user_id, text, confirmation_id, yes_label, no_label)

    async def pending_payload(self, tx: Tx, member_id: int, action: str, now: datetime) -> dict[str, Any] | None:
        """The payload of the member's open question for `action`, if one is open (so a new
        question can carry on what the open one held, since asking again replaces it)."""
        return await self._repo.open_payload(tx, member_id, action, now)

    async def open_id(self, db: Reader, member_id: int, action: str, now: datetime) -> int | None:
        """The id of the member's open question for `action`, if one is open (other features
        read this table only through here)."""
        return await self._repo.open_id(db, member_id, action, now)

    async def answer(self, ctx: Ctx, yes: bool, confirmation_id: int | None) -> list[Intent]:
        async with self._db.transaction() as tx:
            if confirmation_id is None:
                question = await self._repo.newest(tx, ctx.member.id)
            else:
                # Only the member who was asked can answer: another member's id looks like nothing.
                question = await self._repo.asked_of(tx, confirmation_id, ctx.member.id)
            if question is None:
                raise Refusal("confirm.nothing_pending")
            stale = datetime.fromisoformat(question.created_at) + self._fresh < ctx.now
            if confirmation_id is None and stale and question.expires_at >= ctx.now.isoformat():
                # Still open, but asked too long ago for a bare yes/no to be about it: only its
                # id answers it now. Nothing changes.
                raise Refusal("confirm.not_fresh", id=question.id, minutes=self.fresh_minutes)
            await self._repo.delete(tx, question.id)
            if question.expires_at < ctx.now.isoformat():
                # Deleting the stale question is the only change; tell them how to ask again.
                return [ctx_answer(ctx, "confirm.expired")]
            payload = self._repo.payload(question)
            intents = list(await self._handlers[question.action](tx, ctx, payload, yes))
            shown = {i.confirmation_id for i in intents if isinstance(i, ConfirmPrompt)}
            waiting = await self.waiting_lines(tx, ctx, skip=shown)
            if waiting:
                # Nothing queues out of sight: say what else is waiting, newest first.
                intents.append(Answer(waiting))
            return intents

    async def waiting_lines(self, tx: Tx, ctx: Ctx, skip: set[int] | None = None) -> str:
        """What is still waiting for the member's yes or no, newest first, with how to answer
        each ("" when nothing is)."""
        rows = await self._repo.open_of(tx, ctx.member.id, ctx.now)
        lines = []
        for confirmation_id, action, created_at in rows:
            if confirmation_id in (skip or set()):
                continue
            key = f"confirm.what.{action.replace('.', '_')}"
            what = ctx.t(key) if ctx.catalog.has(key) else ctx.t("confirm.what.other")
            lines.append(ctx.t("confirm.waiting_line", id=confirmation_id, what=what, asked=created_at[:16].replace("T", " ")))
        return "\n".join([ctx.t("confirm.waiting_head"), *lines]) if lines else ""

    async def pending_for(self, db_member_id: int) -> list[int]:
        return await self._repo.ids_of(self._db, db_member_id)

    # -- the member's data (mydata export/forget) and retention ---------------------------------

    async def waiting_of(self, db: Reader, member_id: int) -> list[tuple[str, str]]:
        """(action, asked at) of every question waiting for the member, oldest first."""
        return await self._repo.waiting_of(db, member_id)

    async def forget_member(self, tx: Tx, member_id: int) -> None:
        await self._repo.forget_member(tx, member_id)

    async def purge_expired(self, tx: Tx, now: datetime) -> int:
        return await self._repo.purge_expired(tx, now)


def ctx_answer(ctx: Ctx, key: str, **params: Any) -> Intent:
    return Answer(ctx.t(key, **params))
