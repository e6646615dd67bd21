"""The shortest story: two members join pairing, a facilitator starts a round, both are welcomed
into their pair space with a command that works as written."""

from __future__ import annotations

from datetime import timedelta

from tests.journeys.world import World

PEOPLE = ["alex", "sam", "jo"]


async def play(w: World) -> None:
    for member in ("sam", "jo"):
        assert "Would you like to join?" in await w.type(member, "pair join")
        assert "You're in." in await w.type(member, "yes")
    assert "Round 1 has begun" in await w.type("alex", "pair now")
    for member in ("sam", "jo"):
        welcome = w.news(member)
        assert "Welcome, sam and jo" in welcome
        assert w.command("agreement start @sam @jo") in welcome
    # The example in the welcome works for the person it addresses, exactly as written.
    started = await w.type("sam", "agreement start @sam @jo")
    assert "#" in started and "isn't" not in started
    await w.clock(timedelta(days=8))
