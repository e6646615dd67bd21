"""Helpers for pairing tests, on top of the shared in-process harness."""

from __future__ import annotations

from bot.replies import (
    Answer,
    ChannelPost,
    ConfirmPrompt,
    Intent,
    PairSpaceClose,
    PairSpaceOpen,
    PairSpacePost,
    PrivateMessage,
)
from tests.harness import Harness

PAIRING_TABLES = (
    "pair_participants",
    "pair_consents",
    "pair_not_with",
    "pair_rounds",
    "pairs",
    "pair_members",
    "pair_checkins",
)


async def join(h: Harness, *names: str) -> None:
    for name in names:
        prompt = await h.run(name, "pair join", channel=None)
        assert any(isinstance(i, ConfirmPrompt) for i in prompt), prompt
        answer = await h.say(name, "yes", channel=None)
        assert "You're in" in answer, answer


async def snapshot(h: Harness) -> dict[str, list[tuple]]:
    """Every pairing row (minus pure bookkeeping), to check that a refusal changed nothing."""
    found = {}
    for table in PAIRING_TABLES:
        rows = await h.db.fetchall(f"SELECT * FROM {table} ORDER BY 1")
        found[table] = [tuple(row) for row in rows]
    return found


def private(intents: list[Intent], user: str) -> list[str]:
    return [
        i.text
        for i in intents
        if isinstance(i, PrivateMessage | ConfirmPrompt) and i.user_id == user
    ]


def channel(intents: list[Intent]) -> list[str]:
    return [i.text for i in intents if isinstance(i, ChannelPost)]


def opened(intents: list[Intent]) -> list[PairSpaceOpen]:
    return [i for i in intents if isinstance(i, PairSpaceOpen)]


def closed(intents: list[Intent]) -> list[PairSpaceClose]:
    return [i for i in intents if isinstance(i, PairSpaceClose)]


def posts(intents: list[Intent]) -> list[PairSpacePost]:
    return [i for i in intents if isinstance(i, PairSpacePost)]


def answers(intents: list[Intent]) -> str:
    return "\n".join(i.text for i in intents if isinstance(i, Answer))


def groups(intents: list[Intent]) -> list[frozenset[str]]:
    return [frozenset(i.member_ids) for i in opened(intents)]
