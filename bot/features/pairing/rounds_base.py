"""Values shared by the parts of `Rounds` (rounds.py and the modules it is mixed from)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.texts.formats import Formats

JOIN_ACTION = "pair.join"
# A stay-or-pause question asked less than this long before a round is answered by the round
# after it instead: nobody is paused without a real chance to answer.
ANSWER_WINDOW = timedelta(days=1)
# Someone who comes in during a running round is placed straight away only when more than this
# much of the round is left; otherwise the next round is hardly further off.
LATE_PLACEMENT_MIN = timedelta(days=1)


def format_when(instant: datetime, timezone: str, formats: Formats) -> str:
    """"Mon, 5 Jan 2026, 10:00 (Europe/London)": CLDR's day and time in the text's locale."""
    return f"{formats.when(instant, timezone)} ({timezone})"


@dataclass(frozen=True)
class MemberInfo:
    id: int
    user_id: str
    label: str
    # The member's own and client languages (`bot/languages.py` decides what they mean).
    language: str = ""
    client_language: str = ""
