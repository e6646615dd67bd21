"""Helpers for the agreement tests, on top of the shared in-process harness (tests/harness.py)."""

from __future__ import annotations

import re

from bot.replies import ActionButtons, Answer, ConfirmPrompt, FormRequest, Intent, PrivateMessage
from tests.harness import Harness

ID = re.compile(r"#([0-9A-Z]{5})")

# Every table an agreement or the space agreement lives in (plus the dialogs and confirmations that
# carry their answers), for "nothing changed" checks.
TABLES = (
    "agreements",
    "agreement_parties",
    "agreement_versions",
    "agreement_acceptances",
    "agreement_events",
    "agreement_checkins",
    "agreement_reminders",
    "space_agreements",
    "space_agreement_versions",
    "space_agreement_changes",
    "space_agreement_responses",
    "dialogs",
    "confirmations",
)


async def meet(h: Harness, *names: str) -> None:
    """Make members known to the community (as if each had used the bot once)."""
    for name in names:
        await h.app.context(h.inv(name))


async def say(h: Harness, user: str, line: str, private: bool = True) -> str:
    return await h.say(user, line, channel=None if private else "circle")


def text_of(intents: list[Intent]) -> str:
    return "\n".join(getattr(i, "text", "") for i in intents)


def notices(h: Harness) -> dict[str, list[str]]:
    """Take what the outbox delivered, as texts by recipient."""
    found: dict[str, list[str]] = {}
    for intent in h.sink.take():
        if isinstance(intent, PrivateMessage | ActionButtons | ConfirmPrompt | FormRequest):
            found.setdefault(intent.user_id, []).append(intent.text)
        else:
            found.setdefault("#" + getattr(intent, "channel", "?"), []).append(getattr(intent, "text", ""))
    return found


def answers(intents: list[Intent]) -> list[str]:
    return [i.text for i in intents if isinstance(i, Answer)]


async def dump(h: Harness) -> dict[str, list[tuple]]:
    """Every agreement-related row (encrypted blobs included), to show nothing changed."""
    state: dict[str, list[tuple]] = {}
    for table in TABLES:
        rows = await h.db.fetchall(f"SELECT * FROM {table} ORDER BY 1")
        state[table] = [tuple(row) for row in rows]
    return state


async def start_pair(h: Harness, starter: str = "alex", other: str = "sam") -> str:
    """Start an agreement and have the other member join it; returns its id."""
    await meet(h, starter, other)
    out = await say(h, starter, f"agreement start @{other}")
    short_id = ID.search(out).group(1)
    await say(h, other, "yes")
    h.sink.take()
    return short_id


async def status(h: Harness, short_id: str) -> str:
    row = await h.db.fetchone("SELECT status FROM agreements WHERE short_id = ?", (short_id,))
    return row[0] if row else "gone"
