"""Step-by-step answers, forms and buttons: how a member gives the core several answers at once.

* Text platforms (the console, Matrix) use a dialog: a feature opens one for a member with a list
  of steps; the member's next plain lines in their private space with the bot are the answers,
  one per step, and `skip`, `back` and `done` move through it. Only a member with an open dialog
  has plain lines read at all, and only in private; everything else is ignored and never stored.
  A dialog left alone for a day closes itself (what was given is kept, as with `done`).
* Discord uses forms (modals) and buttons instead. A form id or button custom id starts with the
  owning feature's prefix ("agreement:..."); `submit_form` and `press_button` hand it to that
  feature, which re-checks everything against storage: a forged, copied or replayed id changes
  nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.commands.registry import Registry
from bot.commands.spec import CommandSpec
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.dialogs_repo import Dialog, DialogsRepo  # features take Dialog from here
from bot.features.feature import Feature
from bot.replies import Answer, Intent
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, Tx

COMMANDS = (
    CommandSpec("skip", "commands.skip"),
    CommandSpec("back", "commands.back"),
    CommandSpec("done", "commands.done"),
)

# Discord modals hold at most five fields.
MAX_FORM_FIELDS = 5

IDLE = timedelta(hours=24)


class DialogKind(Protocol):
    """What a feature supplies for its dialogs (all inside the caller's transaction)."""

    async def dialog_live(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> bool:
        """Whether the thing the dialog is about can still take answers."""
        ...

    async def dialog_prompt(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> str:
        """The text asking for `dialog.step`."""
        ...

    async def dialog_answer(self, tx: Tx, ctx: Ctx, dialog: Dialog, text: str) -> list[Intent]:
        """Take the answer to `dialog.step` (may change `dialog.data`); raise Refusal to re-ask."""
        ...

    async def dialog_finish(self, tx: Tx, ctx: Ctx, dialog: Dialog, reason: str) -> list[Intent]:
        """The dialog ends: reason is "done", "replaced" or "expired"."""
        ...


FormHandler = Callable[[Ctx, str, dict[str, str]], Awaitable[list[Intent]]]
ButtonHandler = Callable[[Ctx, str], Awaitable[list[Intent]]]


class Dialogs(Feature):
    commands = COMMANDS

    def __init__(self, db: Database, cipher: FieldCipher, clock: Clock) -> None:
        self._db = db
        self._repo = DialogsRepo(cipher)
        self._clock = clock
        self._kinds: dict[str, DialogKind] = {}
        self._forms: dict[str, FormHandler] = {}
        self._buttons: dict[str, ButtonHandler] = {}

    def register(self, kind: str, handler: DialogKind) -> None:
        self._kinds[kind] = handler

    def on_form(self, prefix: str, handler: FormHandler) -> None:
        self._forms[prefix] = handler

    def on_button(self, prefix: str, handler: ButtonHandler) -> None:
        self._buttons[prefix] = handler

    def bind(self, registry: Registry) -> None:
        registry.bind("skip", lambda ctx, args: self.move(ctx, +1))
        registry.bind("back", lambda ctx, args: self.move(ctx, -1))
        registry.bind("done", self.done)

    # -- storage -------------------------------------------------------------------------------

    async def _load(self, tx: Tx, member_id: int) -> tuple[Dialog, bool] | None:
        """The member's dialog and whether it has been idle too long."""
        found = await self._repo.of_member(tx, member_id)
        if found is None:
            return None
        dialog, expires_at = found
        return dialog, expires_at <= self._clock.now().isoformat()

    async def _save(self, tx: Tx, dialog: Dialog) -> None:
        await self._repo.save(tx, dialog, self._clock.now() + IDLE)

    async def _delete(self, tx: Tx, dialog: Dialog) -> None:
        await self._repo.delete(tx, dialog.id)

    async def has_open(self, member_id: int) -> bool:
        return await self._repo.has_open(self._db, member_id)

    async def close_for(self, tx: Tx, kind: str, ref: str) -> None:
        """Drop every dialog about one thing (e.g. an agreement that was withdrawn), unsaved."""
        await self._repo.delete_about(tx, kind, ref)

    # -- opening and answering -----------------------------------------------------------------

    async def open(
        self,
        tx: Tx,
        ctx: Ctx,
        kind: str,
        ref: str,
        steps: list[str],
        *,
        intro: str = "",
        data: dict[str, Any] | None = None,
    ) -> list[Intent]:
        """Start a dialog for the member (ending any other they had) and ask its first step."""
        if kind not in self._kinds or not steps:
            raise ValueError(f"cannot open a {kind} dialog with steps {steps}")
        intents: list[Intent] = []
        found = await self._load(tx, ctx.member.id)
        if found is not None:
            intents.extend(await self._finish(tx, ctx, found[0], "replaced"))
        now = self._clock.now()
        dialog_id = await self._repo.add(
            tx, ctx.community.id, ctx.member.id, kind, ref, steps, data or {}, now, now + IDLE
        )
        dialog = Dialog(dialog_id, ctx.community.id, ctx.member.id, kind, ref, tuple(steps), 0, data or {})
        prompt = await self._kinds[kind].dialog_prompt(tx, ctx, dialog)
        intents.append(Answer(f"{intro}\n{prompt}" if intro else prompt))
        return intents

    async def _finish(self, tx: Tx, ctx: Ctx, dialog: Dialog, reason: str) -> list[Intent]:
        await self._delete(tx, dialog)
        kind = self._kinds.get(dialog.kind)
        if kind is None or not await kind.dialog_live(tx, ctx, dialog):
            return [Answer(ctx.t("dialog.gone"))]
        return await kind.dialog_finish(tx, ctx, dialog, reason)

    async def _current(self, tx: Tx, ctx: Ctx) -> tuple[Dialog | None, list[Intent]]:
        """The member's live dialog, or None with what to tell them (expired / gone)."""
        found = await self._load(tx, ctx.member.id)
        if found is None:
            return None, []
        dialog, expired = found
        if expired:
            return None, await self._finish(tx, ctx, dialog, "expired")
        kind = self._kinds.get(dialog.kind)
        if kind is None or not await kind.dialog_live(tx, ctx, dialog):
            await self._delete(tx, dialog)
            return None, [Answer(ctx.t("dialog.gone"))]
        return dialog, []

    async def handle_plain(self, ctx: Ctx, text: str) -> list[Intent]:
        """A plain line: the answer to the member's open dialog, if they have one and typed it in
        their private space; otherwise nothing happens and nothing is kept."""
        if not ctx.invocation.private:
            return []
        async with self._db.transaction() as tx:
            dialog, intents = await self._current(tx, ctx)
            if dialog is None:
                return intents
            kind = self._kinds[dialog.kind]
            intents = list(await kind.dialog_answer(tx, ctx, dialog, text))
            intents.extend(await self._step(tx, ctx, dialog, +1))
            return intents

    async def _step(self, tx: Tx, ctx: Ctx, dialog: Dialog, delta: int) -> list[Intent]:
        kind = self._kinds[dialog.kind]
        position = dialog.position + delta
        if position >= len(dialog.steps):
            return await self._finish(tx, ctx, dialog, "done")
        note = ""
        if position < 0:
            position = 0
            note = ctx.t("dialog.at_start") + "\n"
        dialog.position = position
        await self._save(tx, dialog)
        return [Answer(note + await kind.dialog_prompt(tx, ctx, dialog))]

    async def move(self, ctx: Ctx, delta: int) -> list[Intent]:
        async with self._db.transaction() as tx:
            dialog, intents = await self._current(tx, ctx)
            if dialog is None:
                if intents:
                    return intents
                raise Refusal("dialog.none_open")
            return await self._step(tx, ctx, dialog, delta)

    async def done(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self._db.transaction() as tx:
            dialog, intents = await self._current(tx, ctx)
            if dialog is None:
                if intents:
                    return intents
                raise Refusal("dialog.none_open")
            return await self._finish(tx, ctx, dialog, "done")

    # -- forms and buttons ---------------------------------------------------------------------

    async def submit_form(self, ctx: Ctx, form_id: str, values: dict[str, str]) -> list[Intent]:
        handler = self._forms.get(form_id.partition(":")[0])
        if handler is None:
            raise Refusal("dialog.stale")
        return await handler(ctx, form_id, dict(values))

    async def press_button(self, ctx: Ctx, custom_id: str) -> list[Intent]:
        handler = self._buttons.get(custom_id.partition(":")[0])
        if handler is None:
            raise Refusal("dialog.stale")
        return await handler(ctx, custom_id)
