"""Circles in rounds (issue 17): `pair schedule ... size N together N`, circles over several rounds
on the fake clock, carrying circles on, `pair end` in a circle, late placement into a circle."""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations

import pytest

from bot.features.pairing.circles import size_bounds
from tests.core.pairing.helpers import closed, groups, join, opened, private, snapshot
from tests.harness import make_harness

WEEK = timedelta(days=7)
NAMES = [f"m{n:02d}" for n in range(1, 21)]


async def schedule(h, extra: str) -> str:
    out = await h.say("alex", f"pair schedule weekly mon 10:00 {extra}")
    assert "Pairing rounds will start" in out, out
    return out


async def community_row(h) -> tuple:
    row = await h.db.fetchone("SELECT pair_size, pair_together FROM communities WHERE id = 1")
    return tuple(row)


async def rounds_of(h, count: int) -> list[list[frozenset[str]]]:
    """Let `count` weekly rounds start (the first on Monday 10:00) and return each round's groups."""
    found = []
    await h.advance(timedelta(hours=1, minutes=1))
    found.append(groups(h.sink.take()))
    for _ in range(count - 1):
        await h.advance(WEEK)
        found.append(groups(h.sink.take()))
    return found


def pairs_in(made: list[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset(two) for group in made for two in combinations(sorted(group), 2)}


async def test_size_and_together_are_shown_back_in_schedule_status_and_setup(harness):
    h = harness
    await join(h, "sam")
    out = await schedule(h, "size 4 together 3")
    assert "circles of about 4" in out and "stays together for 3 rounds" in out, out
    assert await community_row(h) == (4, 3)
    status = await h.say("sam", "pair status", channel=None)
    assert "circles of about 4" in status and "You're not in a circle right now." in status, status
    # setup shows and changes the same values
    shown = await h.say("alex", "setup")
    assert "pairing size: 4" in shown and "pairing together: 3" in shown, shown
    assert "Saved: pairing-size is now 5." in await h.say("alex", "setup pairing-size 5")
    assert await community_row(h) == (5, 3)
    # Back to pairs: pairs always change every round.
    out = await schedule(h, "size 2")
    assert "People meet in pairs" in out, out
    assert await community_row(h) == (2, 1)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("pair schedule weekly mon 10:00 size 1", '"1" doesn\'t work as a size: circles can have 3 to 6 people'),
        ("pair schedule weekly mon 10:00 size 7", '"7" doesn\'t work as a size'),
        ("pair schedule weekly mon 10:00 size four", '"four" doesn\'t work as a size'),
        ("pair schedule weekly mon 10:00 size 4 together 0", '"0" doesn\'t work for together: a circle can stay together for 1 to 12'),
        ("pair schedule weekly mon 10:00 size 4 together 99", '"99" doesn\'t work for together'),
        ("pair schedule weekly mon 10:00 size", "size needs a number after it"),
        ("pair schedule weekly mon 10:00 size 2 together 3", "together works only with circles"),
        ("setup pairing-size 7", '"7" doesn\'t work as a size'),
        ("setup pairing-together 99", '"99" doesn\'t work for together'),
        ("setup pairing-together 3", "together works only with circles"),
    ],
)
async def test_bad_sizes_get_a_specific_answer_and_change_nothing(harness, line, expected):
    h = harness
    await join(h, "sam", "jo")
    before = await snapshot(h), await community_row(h)
    out = await h.say("alex", line)
    assert expected in out, out
    assert "/pair schedule weekly mon 10:00 size 4" in out or "setup" in line, out
    assert (await snapshot(h), await community_row(h)) == before


@pytest.mark.parametrize(("size", "members", "clean_rounds"), [(3, 9, 2), (3, 12, 3), (4, 16, 3), (5, 13, 1), (6, 20, 1)])
async def test_circles_over_several_rounds_place_everyone_and_keep_not_with(tmp_path, size, members, clean_rounds, store):
    h = await make_harness(tmp_path)
    try:
        names = NAMES[:members]
        await join(h, *names)
        # Two not-with entries, one each way round.
        await h.say(names[0], f"pair not-with @{names[1]}", channel=None)
        await h.say(names[5], f"pair not-with @{names[2]}", channel=None)
        await schedule(h, f"size {size}")
        h.sink.take()
        seen: set[frozenset[str]] = set()
        low, high = size_bounds(members, size)
        for number, made in enumerate(await rounds_of(h, 4), start=1):
            assert sorted(m for group in made for m in group) == sorted(names), (number, made)
            assert all(low <= len(group) <= high for group in made), (number, made)
            for group in made:
                assert not {names[0], names[1]} <= group and not {names[2], names[5]} <= group
            if number <= clean_rounds:
                assert not pairs_in(made) & seen, (number, made)
            seen |= pairs_in(made)
    finally:
        await h.close()


async def test_circle_welcome_and_not_placed_words_read_right_for_a_circle(harness):
    h = harness
    await join(h, "ana", "ben", "cai", "dee")
    await schedule(h, "size 4")
    h.sink.take()
    await h.advance(timedelta(hours=1, minutes=1))
    out = h.sink.take()
    [space] = opened(out)
    assert len(space.member_ids) == 4
    assert "This is your circle's private space for round 1" in space.text
    assert "Any of you can step out of this circle at any time with /pair end" in space.text
    # An agreement takes at most three people: a circle of four is not offered one with all.
    assert "agreement start" not in space.text
    # Its opening question is one that reads right for a circle, never one for exactly two.
    openers = h.app.catalog.data("en", "circles")["circle"]["openers"]
    bank = {q.id: q for q in h.app.catalog.questions("en")}
    assert all(bank[i].audience == "pair" for i in openers)
    assert any(bank[i].text in space.text for i in openers), space.text
    assert "the other person" not in space.text and "two of you" not in space.text
    status = await h.say("ana", "pair status", channel=None)
    assert "Your current circle: ben, cai and dee" in status, status
    # The check-ins halfway through reach every member, naming the others.
    await h.advance(timedelta(days=3, hours=12))
    mid = h.sink.take()
    for name in ("ana", "ben", "cai", "dee"):
        [text] = private(mid, name)
        assert "Halfway through round 1 with" in text
        assert all(other in text for other in ("ana", "ben", "cai", "dee") if other != name)
    # Leaving pairing while in a circle: the others carry on.
    out = await h.say("dee", "pair leave", channel=None)
    assert "You've stepped out of your current circle too" in out, out


async def test_pair_end_in_a_circle_of_four_leaves_three_together(harness):
    h = harness
    await join(h, "ana", "ben", "cai", "dee")
    await schedule(h, "size 4")
    await h.advance(timedelta(hours=1, minutes=1))
    h.sink.take()
    answer = await h.say("ben", "pair end", channel=None)
    assert "You've stepped out of your circle" in answer, answer
    out = h.sink.take()
    [gone] = closed(out)
    assert "Someone has stepped out of this circle" in gone.text
    [space] = opened(out)
    assert set(space.member_ids) == {"ana", "cai", "dee"}
    assert "This is your circle's space for the rest of round 1" in space.text
    for name in ("ana", "cai", "dee"):
        assert private(out, name) == [
            "One person has stepped out of your circle, which needs no reason. The rest of you carry on "
            "together in a fresh space until the round ends."
        ]
    assert private(out, "ben") == []
    assert "Your current circle: ana and cai" in await h.say("dee", "pair status", channel=None)
    assert "You're not in a circle right now." in await h.say("ben", "pair status", channel=None)
    # The three are a circle still: one more stepping out leaves a pair.
    await h.say("cai", "pair end", channel=None)
    out = h.sink.take()
    [space] = opened(out)
    assert set(space.member_ids) == {"ana", "dee"}
    assert "The two of you carry on as a pair" in private(out, "ana")[0]
    assert "Your current pair: dee" in await h.say("ana", "pair status", channel=None)


async def test_a_circle_of_three_losing_one_continues_as_a_pair(harness):
    h = harness
    await join(h, "ana", "ben", "cai")
    await schedule(h, "size 3")
    await h.advance(timedelta(hours=1, minutes=1))
    h.sink.take()
    await h.say("cai", "pair end", channel=None)
    out = h.sink.take()
    [space] = opened(out)
    assert set(space.member_ids) == {"ana", "ben"}
    assert "either of you" in space.text
    assert "The two of you carry on as a pair in a fresh space" in private(out, "ben")[0]


async def test_together_keeps_circles_then_reshuffles_avoiding_repeats(harness):
    h = harness
    names = NAMES[:9]
    await join(h, *names)
    out = await schedule(h, "size 3 together 3")
    h.sink.take()
    made = await rounds_of(h, 4)
    assert len(made[0]) == 3
    assert set(made[1]) == set(made[0]) and set(made[2]) == set(made[0])
    assert not pairs_in(made[3]) & pairs_in(made[0]), made
    assert "Welcome back" not in out
    # Fresh spaces each round; the circles carried on are welcomed back.
    rows = await h.db.fetchall("SELECT number, run_round FROM pair_rounds WHERE number > 0 ORDER BY number")
    assert [tuple(r) for r in rows] == [(1, 1), (2, 2), (3, 3), (4, 1)]


async def test_pause_leave_and_block_between_rounds_of_carried_on_circles(harness):
    h = harness
    names = NAMES[:9]
    await join(h, *names)
    await schedule(h, "size 3 together 3")
    h.sink.take()
    [first] = await rounds_of(h, 1)
    circles = sorted(sorted(group) for group in first)
    a, b, c = circles[0][0], circles[1][0], circles[2][0]
    blocked = circles[2][1]
    await h.say(a, "pair pause", channel=None)
    await h.say(b, "pair leave", channel=None)
    await h.say(c, f"pair not-with @{blocked}", channel=None)
    h.sink.take()
    await h.advance(WEEK)
    out = h.sink.take()
    second = groups(out)
    # Each circle carried on without the one who paused, left or blocked (the blocker joins
    # another circle with room, never the one they blocked).
    for circle in circles:
        rest = set(circle) - {a, b, c}
        assert any(rest <= g for g in second), (circles, second)
    assert all(not {c, blocked} <= g for g in second)
    assert any(c in g and len(g) == 3 for g in second), second
    assert sorted(m for g in second for m in g) == sorted(set(names) - {a, b})
    # The two carried on as pairs hear the pair welcome; nobody hears "not in a circle".
    assert not any("not in a circle" in text for name in names for text in private(out, name))


async def test_late_joiner_is_placed_into_a_circle_with_room(harness):
    h = harness
    await join(h, "ana", "ben", "cai", "dee", "eve", "fay", "gus")
    await schedule(h, "size 4")
    await h.advance(timedelta(hours=1, minutes=1))
    made = groups(h.sink.take())
    assert sorted(len(g) for g in made) == [3, 4]
    small = next(g for g in made if len(g) == 3)
    await join(h, "hal")
    out = h.sink.take()
    [space] = opened(out)
    assert set(space.member_ids) == small | {"hal"}
    assert "This is your circle's private space for round 1" in space.text
    [gone] = closed(out)
    assert "Someone new has joined this circle" in gone.text
    for name in small:
        assert "has joined your circle" in private(out, name)[0]


async def test_two_free_in_a_circle_space_meet_as_a_pair_and_one_alone_hears_circle_words(harness):
    h = harness
    await join(h, "ana", "ben")
    await schedule(h, "size 4")
    await h.advance(timedelta(hours=1, minutes=1))
    assert groups(h.sink.take()) == [frozenset({"ana", "ben"})]
    await h.say("ben", "pair pause", channel=None)
    await h.advance(WEEK)
    out = h.sink.take()
    told = [text for text in private(out, "ana") if "this round" in text]
    assert told == [h.app.catalog.text("en", "pairing.not_placed_circle", prefix="/")]


def test_newcomers_join_circles_with_room_then_new_circles_never_alone_and_never_with_a_not_with():
    """regroup.place_newcomers over many seeded random communities."""
    import random

    from bot.features.pairing.circles import MAX_SIZE
    from bot.features.pairing.preferences import Community as Grouping
    from bot.features.pairing.regroup import place_newcomers

    for trial in range(40):
        rng = random.Random(trial)
        size = rng.randint(3, 6)
        people = list(range(rng.randint(2, 24)))
        rng.shuffle(people)
        kept: list[tuple[int, ...]] = []
        index = 0
        while index < len(people) and rng.random() < 0.7:
            take = rng.randint(2, size + 1)
            if index + take > len(people):
                break
            kept.append(tuple(people[index : index + take]))
            index += take
        newcomers = people[index:]
        not_with = tuple(
            (a, b) for a in newcomers for b in people if a != b and rng.random() < 0.05
        )
        history = tuple((a, b, 1) for a in people for b in people if a < b and rng.random() < 0.2)
        grouping = Grouping(members=tuple(people), not_with=not_with, history=history, current_round=2)
        groups, left = place_newcomers(grouping, kept, newcomers, size, seed=trial)
        placed = [m for g in groups for m in g]
        assert sorted(placed + left) == sorted(people), trial
        assert all(len(g) >= 2 and len(g) <= max(MAX_SIZE, size + 1) for g in groups), (trial, groups)
        blocked = {frozenset(p) for p in not_with}
        for g in groups:
            for i, a in enumerate(g):
                assert all(frozenset((a, b)) not in blocked for b in g[i + 1 :]), (trial, g)
        # The circles carried on keep their members, in the order they came.
        for circle in kept:
            assert any(g[: len(circle)] == circle for g in groups), (trial, circle, groups)
        # Someone left out only when no circle could take them: none below its allowed size.
        for m in left:
            for g in groups:
                if len(g) < min(MAX_SIZE, size + 1) and len(g) >= 2:
                    assert any(frozenset((m, o)) in blocked for o in g), (trial, m, g)


def test_someone_who_stepped_out_is_not_put_back_with_the_same_people_when_another_circle_can_take_them():
    """Round 1: 1, 2 and 6 were a circle until 6 stepped out; 3, 4 and 5 carry on. With
    `together`, 6 is a newcomer in round 2: the circle of 3-5 (one over the size) takes them
    rather than the two they left, who carry on as a pair."""
    from bot.features.pairing.preferences import Community as Grouping
    from bot.features.pairing.regroup import place_newcomers

    history = ((1, 2, 1), (1, 6, 1), (2, 6, 1), (3, 4, 1), (3, 5, 1), (4, 5, 1))
    grouping = Grouping(members=(1, 2, 3, 4, 5, 6), history=history, current_round=2)
    for seed in range(5):
        made, left = place_newcomers(grouping, [(1, 2), (3, 4, 5)], [6], 3, seed=seed)
        assert left == [] and sorted(map(sorted, made)) == [[1, 2], [3, 4, 5, 6]], made


async def test_nobody_is_left_out_of_circles_when_a_circle_and_a_pair_would_place_everyone(harness):
    """Five people in circles of three make one circle of five; a not-with between two of them
    rules that out, and a circle of three plus a pair places everyone (found walking the console:
    the one who made the not-with was left out, every round)."""
    h = harness
    names = ["ana", "ben", "cai", "dee", "eve"]
    await join(h, *names)
    await h.say("eve", "pair not-with @dee", channel=None)
    await schedule(h, "size 3")
    h.sink.take()
    for made in await rounds_of(h, 3):
        assert sorted(m for g in made for m in g) == sorted(names), made
        assert not any({"dee", "eve"} <= g for g in made), made
        assert sorted(len(g) for g in made) == [2, 3], made
