"""Circles and preferences: every hard constraint over random communities (hypothesis), the
heuristic against brute force on tiny communities, determinism, and the preference value types."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.features.pairing.circles import (
    AGE_CAP,
    AGE_STEP,
    REPEAT,
    circle_sizes,
    group_circles,
    size_bounds,
)
from bot.features.pairing.preferences import (
    MUTUAL_AGAIN,
    Community,
    Preferences,
    Slot,
    Style,
    group_score,
    mutual_wishes,
    pair_score,
    utc_offset,
    violations,
    waking_overlap_hours,
)

LANGS = ("en", "es", "de")


@st.composite
def communities(draw, max_members: int = 9) -> Community:
    n = draw(st.integers(0, max_members))
    members = list(range(100, 100 + n))
    pairs = list(combinations(members, 2))
    not_with = (
        tuple(draw(st.lists(st.sampled_from(pairs), max_size=5, unique=True))) if pairs else ()
    )
    paused = (
        frozenset(draw(st.lists(st.sampled_from(members), max_size=2))) if members else frozenset()
    )
    rng = random.Random(draw(st.integers(0, 10**6)))
    density = draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    history = tuple((a, b, rng.randint(1, 20)) for a, b in pairs if rng.random() < density)
    language_share = draw(st.sampled_from([0.0, 0.3, 0.8]))
    preferences = {
        m: Preferences(
            languages=frozenset(rng.sample(LANGS, rng.randint(1, 2)))
            if rng.random() < language_share
            else frozenset(),
            utc_offset_minutes=rng.choice([None, -300, 0, 60, 330, 540]),
            free=frozenset(s for s in Slot if rng.random() < 0.4),
            style=rng.choice([None, Style.LIGHTER, Style.DEEPER]),
        )
        for m in members
    }
    again = tuple((rng.choice(members), rng.choice(members)) for _ in range(3)) if members else ()
    return Community(
        members=tuple(members),
        preferences=preferences,
        not_with=not_with,
        paused=paused,
        history=history,
        again=again,
        current_round=21,
    )


def objective(groups: list[tuple[int, ...]], community: Community) -> tuple[int, int]:
    """(repeats, objective) exactly as circles.py defines them, computed independently."""
    mutual = mutual_wishes(community.again)
    last: dict[frozenset[int], int] = {}
    for a, b, r in community.history:
        key = frozenset((a, b))
        last[key] = max(last.get(key, 0), r)
    repeats = total = 0
    for group in groups:
        for a, b in combinations(group, 2):
            key = frozenset((a, b))
            total += pair_score(community.prefs(a), community.prefs(b), key in mutual)
            if key in last and key not in mutual:
                repeats += 1
                age = min(AGE_CAP, max(1, community.current_round - last[key]))
                total -= REPEAT - AGE_STEP * age
    return repeats, total


def partitions(members: list[int], sizes: Counter[int]) -> Iterator[list[tuple[int, ...]]]:
    """Every way to split `members` into circles whose sizes are exactly the multiset `sizes`."""
    if not members:
        if not +sizes:
            yield []
        return
    first, rest = members[0], members[1:]
    for size in sorted(s for s, c in sizes.items() if c > 0):
        for others in combinations(rest, size - 1):
            left = [m for m in rest if m not in others]
            remaining = sizes.copy()
            remaining[size] -= 1
            for tail in partitions(left, remaining):
                yield [(first, *others), *tail]


def size_mixes(n: int, low: int, high: int) -> Iterator[Counter[int]]:
    """Every multiset of sizes in [low, high] summing to n."""

    def walk(left: int, smallest: int, chosen: list[int]) -> Iterator[Counter[int]]:
        if left == 0:
            yield Counter(chosen)
        for size in range(smallest, high + 1):
            if size <= left:
                yield from walk(left - size, size, [*chosen, size])

    yield from walk(n, low, [])


def best_placed(community: Community, size: int) -> int:
    """Brute force: the most members any valid grouping places."""
    eligible = [m for m in community.members if m not in community.paused]
    low, high = size_bounds(len(eligible), size)
    for placed in range(len(eligible), 0, -1):
        for chosen in combinations(eligible, placed):
            for mix in size_mixes(placed, low, high):
                if any(
                    not any(violations(g, community) for g in split)
                    for split in partitions(list(chosen), mix)
                ):
                    return placed
    return 0


def best_for_plan(community: Community, size: int) -> tuple[int, int] | None:
    """Brute force: the best (repeats, objective) over valid groupings with the planned sizes."""
    eligible = [m for m in community.members if m not in community.paused]
    plan = Counter(circle_sizes(len(eligible), size))
    best: tuple[int, int] | None = None
    for split in partitions(eligible, plan):
        if any(violations(g, community) for g in split):
            continue
        value = objective(split, community)
        if best is None or value[1] > best[1]:
            best = value
    return best


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(communities(), st.integers(3, 6), st.integers(0, 3))
def test_hard_constraints_hold_and_nobody_is_left_out_needlessly(community, size, seed):
    result = group_circles(community, size, seed=seed)
    eligible = [m for m in community.members if m not in community.paused]
    low, high = size_bounds(len(eligible), size)
    placed = [m for g in result.groups for m in g]
    # Everyone eligible exactly once, placed or unplaced; nobody paused; no circle of 1 or 2.
    assert sorted(placed + list(result.unplaced)) == sorted(eligible)
    assert all(low <= len(g) <= high and len(g) >= 3 for g in result.groups)
    assert all(violations(g, community) == [] for g in result.groups)
    # Nobody left out when a valid grouping would place them.
    if result.unplaced:
        assert len(placed) == best_placed(community, size)
    repeats, total = objective(list(result.groups), community)
    assert (result.repeats, result.objective) == (repeats, total)
    assert result.score == sum(group_score(g, community) for g in result.groups)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(communities(), st.integers(3, 6))
def test_tiny_communities_match_brute_force(community, size):
    """Up to 9 members the engine searches exhaustively, so it equals brute force (an independent
    implementation of the objective). The heuristic alone, on the same communities, never makes
    more repeats than needed whenever it places everyone in the planned sizes."""
    result = group_circles(community, size, seed=1)
    heuristic = group_circles(community, size, seed=1, exact_max=0)
    exact = best_for_plan(community, size)
    eligible = [m for m in community.members if m not in community.paused]
    if exact is None:
        return  # the planned sizes are impossible here; the first test covers placement
    planned = sorted(circle_sizes(len(eligible), size))
    assert not result.unplaced
    assert sorted(len(g) for g in result.groups) == planned
    assert result.repeats == exact[0]
    assert result.objective == exact[1]
    if not heuristic.unplaced and sorted(len(g) for g in heuristic.groups) == planned:
        assert heuristic.repeats == exact[0]
        assert heuristic.objective <= exact[1]


def test_no_repeat_whenever_avoidable_and_mutual_wish_counts() -> None:
    members = tuple(range(1, 13))
    # Everyone met everyone in their own quarter of the community (three each), so circles of 4
    # without a repeat take one from each quarter; 1 and 5 both asked to meet again, 2 asked for
    # 9 one-sidedly.
    history = tuple((a, b, 3) for a, b in combinations(members, 2) if (a - 1) // 3 == (b - 1) // 3)
    community = Community(
        members=members,
        history=history,
        again=((1, 5), (5, 1), (2, 9)),
        current_round=4,
    )
    result = group_circles(community, 4, seed=7)
    assert result.repeats == 0
    assert any({1, 5} <= set(g) for g in result.groups)
    assert result.score == MUTUAL_AGAIN


@given(communities(max_members=9), st.integers(3, 6), st.integers(0, 5))
@settings(max_examples=30, deadline=None)
def test_deterministic_and_independent_of_input_order(community, size, seed):
    first = group_circles(community, size, seed=seed)
    shuffled = Community(
        members=tuple(reversed(community.members)),
        preferences=community.preferences,
        not_with=tuple(reversed(community.not_with)),
        paused=community.paused,
        history=tuple(reversed(community.history)),
        again=community.again,
        current_round=community.current_round,
    )
    assert group_circles(shuffled, size, seed=seed) == first
    assert group_circles(community, size, seed=seed) == first


def test_a_larger_community_keeps_every_rule() -> None:
    rng = random.Random(5)
    members = list(range(1, 301))
    preferences = {
        m: Preferences(
            languages=frozenset(rng.sample(LANGS, 1)) if rng.random() < 0.3 else frozenset(),
            utc_offset_minutes=rng.choice([-480, 0, 60, 540]),
            free=frozenset(s for s in Slot if rng.random() < 0.5),
            style=rng.choice([Style.LIGHTER, Style.DEEPER]),
        )
        for m in members
    }
    history = []
    for number in range(1, 11):
        rng.shuffle(members)
        history += [(members[i], members[i + 1], number) for i in range(0, 300, 2)]
    community = Community(
        members=tuple(members),
        preferences=preferences,
        not_with=tuple((rng.choice(members), rng.choice(members)) for _ in range(10)),
        paused=frozenset(members[:7]),
        history=tuple(history),
        current_round=11,
    )
    for size in (3, 4, 5, 6):
        result = group_circles(community, size, seed=size)
        low, high = size_bounds(293, size)
        assert not result.unplaced
        assert result.repeats == 0
        assert all(not violations(g, community) and low <= len(g) <= high for g in result.groups)
        assert sorted(len(g) for g in result.groups) == sorted(circle_sizes(293, size))


@pytest.mark.parametrize("size", [3, 4, 5, 6])
def test_circle_sizes(size: int) -> None:
    for n in range(0, 120):
        plan = circle_sizes(n, size)
        low, high = size_bounds(n, size)
        if n < 3:
            assert plan == []
            continue
        assert sum(plan) == n
        assert max(plan) - min(plan) <= 1
        assert all(3 <= s and low <= s <= high for s in plan)
        if n >= 30:
            assert all(size - 1 <= s <= size + 1 for s in plan)
    assert circle_sizes(12, 4) == [4, 4, 4]
    assert circle_sizes(10, 4) == [4, 3, 3]
    with pytest.raises(ValueError):
        circle_sizes(10, 7)


def test_preference_values() -> None:
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert utc_offset("Europe/Berlin", winter) == 60
    assert utc_offset("Europe/Berlin", summer) == 120
    assert utc_offset("UTC+5:30", winter) == 330
    assert utc_offset("-3", winter) == -180
    assert utc_offset("utc", winter) == 0
    assert utc_offset("Mars/Olympus", winter) is None
    assert utc_offset("+25", winter) is None
    assert waking_overlap_hours(0, 0) == 14
    assert waking_overlap_hours(0, 12 * 60) == 4  # both ends of the day overlap two hours
    assert waking_overlap_hours(0, 10 * 60) == 4
    assert waking_overlap_hours(540, -300) == waking_overlap_hours(-300, 540)
    # Only wishes both made count; one-sided ones vanish.
    assert mutual_wishes([(1, 2), (2, 1), (3, 4), (5, 5)]) == frozenset({frozenset((1, 2))})
    a = Preferences(
        frozenset({"en"}), 0, frozenset({Slot.WEEKENDS, Slot.WEEKDAY_EVENINGS}), Style.DEEPER
    )
    b = Preferences(frozenset({"en"}), 60, frozenset({Slot.WEEKENDS}), Style.DEEPER)
    assert pair_score(a, b) == 13 + 5 + 10
    assert pair_score(a, b, mutual=True) == 13 + 5 + 10 + MUTUAL_AGAIN
    assert pair_score(Preferences(), b) == 0
    assert not Preferences().is_set and a.is_set
    community = Community(
        members=(1, 2, 3),
        preferences={
            1: Preferences(languages=frozenset({"en", "fr"})),
            2: Preferences(languages=frozenset({"fr", "de"})),
            3: Preferences(languages=frozenset({"de", "en"})),
        },
        paused=frozenset({4}),
        not_with=((5, 6),),
    )
    # Pairwise each two share a language, but the three together share none.
    assert violations((1, 2), community) == []
    assert violations((1, 2, 3), community) == ["language"]
    assert violations((1, 5, 6), community) == ["not-with"]
    assert violations((1, 4), community) == ["paused"]


def test_a_mutual_wish_to_meet_again_is_not_a_repeat() -> None:
    """`pair again` names someone met before: when both asked, meeting again is what they want,
    so it is not a repeat to avoid (as in the pair matcher), and they are grouped together."""
    members = tuple(range(1, 9))
    # 1 and 2 met in round 3 and both asked to meet again; nobody else has met.
    history = ((1, 2, 3),)
    community = Community(members=members, history=history, again=((1, 2), (2, 1)), current_round=4)
    for seed in range(5):
        result = group_circles(community, 4, seed=seed)
        assert any({1, 2} <= set(g) for g in result.groups), result.groups
        assert result.repeats == 0
        assert (result.repeats, result.objective) == objective(list(result.groups), community)
