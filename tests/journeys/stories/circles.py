"""A space that meets in circles of three, kept together for two rounds, over three weeks.

alex sets weekly rounds in circles of about 3 that stay together for 2 rounds; seven members join,
so round 1 has a circle of four and a circle of three, each with its own private space and a
welcome that speaks to a circle. Someone steps out of the circle of four: the other three carry on
together in a fresh space. Before round 2 someone in the circle of three pauses, so its other two
carry on as a pair, and the one who stepped out joins them (a circle with room); the three who
stayed together are welcomed back. Before round 3 one member privately keeps another out of their
rounds: round 3 reshuffles, never puts those two together, and the other never learns of it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from tests.journeys.world import World, joined

PEOPLE = ["alex", "ana", "ben", "cai", "dee", "eve", "fay", "gus"]
MEMBERS = PEOPLE[1:]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


async def join(w: World, who: str) -> None:
    assert "Would you like to join?" in await w.type(who, "pair join")
    assert "You're in." in await w.type(who, "yes")


async def circle_of(w: World, who: str) -> set[str]:
    """Who `who` is grouped with now, as `pair status` says it (circle or pair)."""
    status = await w.type(who, "pair status", private=True)
    found = re.search(r"Your current (?:circle|pair): (.+?), until", status)
    assert found, status
    return set(re.split(r", | and ", found.group(1))) | {who}


async def play(w: World) -> None:
    alex = w.facilitator
    # -- Monday 5 January: circles of about 3, together for 2 rounds -----------------------------
    set_out = await w.type(alex, "pair schedule weekly mon 10:00 size 3 together 2")
    assert "Pairing rounds will start every Monday at 10:00" in set_out
    assert "People meet in circles of about 3" in set_out
    assert "each circle stays together for 2 rounds before new circles form" in set_out
    for member in MEMBERS:
        await join(w, member)
    await w.clock(2 * HOUR)  # 11:00: round 1 has begun
    assert "Pairing round 1 has begun" in w.news(alex)
    circles: dict[str, set[str]] = {}
    for member in MEMBERS:
        news = w.news(member)
        assert "This is your circle's private space for round 1" in news, news
        assert f"Any of you can step out of this circle at any time with {w.command('pair end')}" in news
        assert "not in a pair" not in news and "Either of you" not in news
        circles[member] = await circle_of(w, member)
    sizes = sorted({frozenset(c) for c in circles.values()}, key=len)
    assert [len(c) for c in sizes] == [3, 4]
    three, four = sorted(sizes[0]), sorted(sizes[1])

    # -- someone steps out of the circle of four: the other three carry on ----------------------
    leaver = four[0]
    stepped = await w.type(leaver, "pair end", private=True)
    assert "You've stepped out of your circle. No reason needed" in stepped
    rest = four[1:]
    for member in rest:
        news = w.news(member)
        assert "One person has stepped out of your circle, which needs no reason." in news
        assert "The rest of you carry on together in a fresh space until the round ends." in news
        assert "This is your circle's space for the rest of round 1" in news
        assert leaver not in news.split("One person has stepped out")[1]  # nobody is named
        assert await circle_of(w, member) == set(rest)
    assert "You're not in a circle right now." in await w.type(leaver, "pair status", private=True)

    # -- halfway: a check-in for every member still in a circle ----------------------------------
    await w.clock(3 * DAY + 12 * HOUR)
    for member in [*three, *rest]:
        assert "Halfway through round 1 with" in w.news(member)
    shared = await w.answer(rest[0], "share 4")
    assert "Noted, and shared in your circle's space." in shared

    # -- before round 2: someone in the circle of three pauses -----------------------------------
    pauser = three[0]
    paused = await w.type(pauser, "pair pause 7", private=True)
    assert "Your current circle carries on as it is" in paused
    await w.clock(WEEK - 3 * DAY - 12 * HOUR)  # Monday 12 January, 11:00: round 2
    pair_left = set(three) - {pauser}
    for member in rest:  # the three who stayed together are welcomed back
        news = w.news(member)
        assert "Welcome back" in news and "Your circle carries on in round 2" in news, news
        assert await circle_of(w, member) == set(rest)
    # The circle of three, down to two, carries on; the one who stepped out joins them.
    for member in [*pair_left, leaver]:
        assert await circle_of(w, member) == pair_left | {leaver}
        assert "This is your circle's private space for round 2" in w.news(member)
    assert "not in a circle this round" not in joined(w.inbox(pauser).items)

    # -- before round 3: a private not-with, then new circles ------------------------------------
    keeper, kept_out = rest[0], rest[1]
    mark = len(w.inbox(kept_out).items)
    noted = await w.type(keeper, f"pair not-with @{kept_out}", private=True)
    assert f"You're in a circle with {kept_out} right now." in noted
    await w.clock(WEEK)  # Monday 19 January, 11:00: round 3 reshuffles
    groups = {frozenset(await circle_of(w, m)) for m in MEMBERS}
    assert all(not {keeper, kept_out} <= group for group in groups), groups
    assert sorted(m for group in groups for m in group) == sorted(MEMBERS)
    seen_by_kept_out = joined(w.inbox(kept_out).since(mark))
    # Nothing kept_out sees speaks of a list or a block: the round just has new circles.
    assert "not-with" not in seen_by_kept_out and "block" not in seen_by_kept_out
    for member in MEMBERS:
        assert "This is your circle's private space for round 3" in w.news(member)
