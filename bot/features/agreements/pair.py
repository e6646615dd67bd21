"""Pair agreements: two or three peers negotiate, agree, revisit and withdraw an agreement about
how they want to be with each other when things get hard.

`PairAgreements` is put together from its parts, one module each, sharing one `PairDeps`:
invitations, editing (with the step-by-step dialog), lifecycle (propose/accept/revisit/withdraw),
viewing, reminders (review dates and purge) and check-ins. What they share (constants, section
parsing, small helpers) lives in `pair_agreements.py`.
"""

from __future__ import annotations

from bot.commands.registry import Registry
from bot.features.agreements.checkins import Checkins
from bot.features.agreements.editing import Editing
from bot.features.agreements.invitations import Invitations
from bot.features.agreements.lifecycle import Lifecycle
from bot.features.agreements.pair_agreements import INVITE_ACTION, WITHDRAW_ACTION, PairDeps
from bot.features.agreements.reminders import Reminders
from bot.features.agreements.viewing import Viewing


class PairAgreements(Invitations, Editing, Lifecycle, Viewing, Reminders, Checkins):
    """The `agreement ...` commands, invitations, dialogs, forms, buttons, reminders and the
    agreement check-in (this object is also the check-in provider named "agreements")."""

    name = "agreements"

    def __init__(self, deps: PairDeps) -> None:
        super().__init__(deps)
        deps.services.confirmations.on(INVITE_ACTION, self._on_invite)
        deps.services.confirmations.on(WITHDRAW_ACTION, self._on_withdraw_confirmed, destructive=True)
        deps.dialogs.register("agreement", self)
        deps.dialogs.on_form("agreement", self.submit_form)
        deps.dialogs.on_button("agreement", self.press_button)

    def bind(self, registry: Registry) -> None:
        for name, handler in {
            "agreement start": self.start_cmd,
            "agreement edit": self.edit,
            "agreement amend": self.amend,
            "agreement propose": self.propose,
            "agreement accept": self.accept,
            "agreement view": self.view,
            "agreement revisit": self.revisit,
            "agreement withdraw": self.withdraw,
            "agreement history": self.history,
            "agreement invitations": self.invitations,
        }.items():
            registry.bind(name, handler)
