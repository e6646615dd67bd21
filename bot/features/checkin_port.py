"""How features offer check-ins to the one `checkin` command.

Pairing owns `checkin` (relational check-ins mid-round and at the end of a round); agreements add
"how is our agreement working for you now?" check-ins. Each registers a provider; `checkin` asks providers in
registration order for the member's open check-in and hands the answer to the first that has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.context import Ctx
from bot.replies import Intent


@dataclass(frozen=True)
class OpenCheckin:
    provider: str  # the provider's name
    checkin_id: int
    question_text: str  # the current question, already rendered
    # When it was sent (ISO, UTC), "" for one offered only on request. The newest one sent is
    # the one a member was just told to answer, so it takes the answer first.
    opened_at: str = ""


class CheckinProvider(Protocol):
    name: str

    async def open_checkin(self, ctx: Ctx, *, asked_only: bool = False) -> OpenCheckin | None:
        """The member's open check-in in this community, if any (oldest first, with when it was
        sent). `asked_only`: only one the bot has asked (what a plain line in private answers),
        not one a provider offers whenever the member runs `checkin`."""
        ...

    async def answer_checkin(self, ctx: Ctx, checkin_id: int, answer: str | None) -> list[Intent]:
        """Take one answer (None: show the current question again) and say what comes next."""
        ...
