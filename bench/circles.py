"""Benchmark: circles (and pairs) with preferences at scale, and circles against an exact solver.

1. 10,000 members with 52 rounds of history, about 2 % holding a not-with entry, 30 % with
   languages set (from three), timezones over 12 zones, usual free times and styles for most,
   a few mutual meet-again wishes: circles of 4 and 6 (and the pair matcher on the same
   members for comparison): time, hard-constraint violations (must be 0), repeats made where a
   repeat-free grouping exists (must be 0), preference score.
2. 30 to 60 member instances: our circles next to the exact optimum of the same objective,
   computed by OR-Tools CP-SAT (a benchmark-only dependency, the `bench` extra): repeats,
   preference score, time, and the gap in preference score.

Figures only: nothing here asserts a timing.

    .venv/bin/python -m bench.circles [--members 10000] [--rounds 52] [--cpsat-seconds 60]
"""

from __future__ import annotations

import argparse
import random
import time
from itertools import combinations

from bench.pairing import random_rounds, some_not_with
from bot.features.pairing.circles import (
    AGE_CAP,
    AGE_STEP,
    REPEAT,
    Circles,
    circle_sizes,
    group_circles,
    size_bounds,
)
from bot.features.pairing.matching import match_community
from bot.features.pairing.preferences import (
    Community,
    Preferences,
    Slot,
    Style,
    group_score,
    mutual_wishes,
    pair_score,
    violations,
)

LANGUAGES = ("en", "es", "de")
ZONES = [m * 60 for m in (-8, -5, -3, 0, 1, 2, 3, 5, 8, 9, 10, 12)]


def random_community(
    rng: random.Random, count: int, rounds: int, language_share: float = 0.3
) -> Community:
    members = list(range(1, count + 1))
    preferences: dict[int, Preferences] = {}
    for m in members:
        languages: frozenset[str] = frozenset()
        if rng.random() < language_share:
            languages = frozenset(rng.sample(LANGUAGES, rng.choice((1, 1, 2))))
        preferences[m] = Preferences(
            languages=languages,
            utc_offset_minutes=rng.choice(ZONES) if rng.random() < 0.8 else None,
            free=frozenset(s for s in Slot if rng.random() < 0.4),
            style=rng.choice((Style.LIGHTER, Style.DEEPER, None)),
        )
    again = []
    for m in rng.sample(members, count // 20):
        other = rng.choice(members)
        again.append((m, other))
        if rng.random() < 0.5:
            again.append((other, m))
    return Community(
        members=tuple(members),
        preferences=preferences,
        not_with=tuple(some_not_with(rng, members)),
        history=tuple(random_rounds(rng, members, rounds)),
        again=tuple(again),
        current_round=rounds + 1,
    )


def check(result: Circles, community: Community, size: int) -> tuple[int, int]:
    """(hard-constraint violations, members missing) of a grouping."""
    low, high = size_bounds(len(community.members), size)
    bad = sum(1 for g in result.groups if violations(g, community) or not low <= len(g) <= high)
    placed = sum(len(g) for g in result.groups)
    return bad, len(community.members) - placed - len(result.unplaced)


def scale(count: int, rounds: int) -> None:
    rng = random.Random(2026)
    started = time.perf_counter()
    community = random_community(rng, count, rounds)
    print(
        f"{count:,} members, {rounds} rounds of history ({len(community.history):,} pairs met), "
        f"{sum(1 for p in community.preferences.values() if p.languages):,} with languages set, "
        f"{len(mutual_wishes(community.again))} mutual meet-again wishes "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )
    for size in (4, 6):
        started = time.perf_counter()
        result = group_circles(community, size, seed=1)
        elapsed = time.perf_counter() - started
        bad, missing = check(result, community, size)
        sizes = sorted({len(g) for g in result.groups})
        print(
            f"  circles of {size}: {elapsed:.2f} s, {len(result.groups):,} circles (sizes {sizes}), "
            f"unplaced {len(result.unplaced)}, missing {missing}, violations {bad}, "
            f"repeats {result.repeats}, preference score {result.score:,}"
        )
    # The pair matcher on the same members, with the same preferences.
    started = time.perf_counter()
    pairs = match_community(community, seed=1)
    elapsed = time.perf_counter() - started
    bad = sum(1 for g in pairs.groups if violations(g, community))
    print(
        f"  pairs (matching.py): {elapsed:.2f} s, repeats {pairs.repeats}, "
        f"language/not-with violations {bad}, "
        f"preference score {sum(group_score(g, community) for g in pairs.groups):,}"
    )


def exact(
    community: Community, size: int, seconds: float, hint: Circles | None = None
) -> tuple[int, int, int, float, str, int]:
    """(objective, repeats, score, time, status, bound) of the CP-SAT optimum of the same objective
    with every member placed in circles of the planned sizes (the instances here allow that).

    Clique-partition model: y[a, b] says a and b share a circle; transitivity makes that a
    partition, each member's count of circle-mates fixes the sizes. Much tighter than assigning
    members to numbered circles, whose symmetric copies CP-SAT cannot close."""
    from ortools.sat.python import cp_model

    members = sorted(community.members)
    plan = circle_sizes(len(members), size)
    sizes = sorted(set(plan))
    model = cp_model.CpModel()
    y = {(a, b): model.new_bool_var(f"y{a}_{b}") for a, b in combinations(members, 2)}

    def together(a: int, b: int) -> cp_model.IntVar:
        return y[(a, b) if a < b else (b, a)]

    for a, b, c in combinations(members, 3):
        ab, bc, ac = y[a, b], y[b, c], y[a, c]
        model.add(ab + bc - ac <= 1)
        model.add(ab - bc + ac <= 1)
        model.add(-ab + bc + ac <= 1)
    in_size = {(m, s): model.new_bool_var(f"s{m}_{s}") for m in members for s in sizes}
    for m in members:
        model.add_exactly_one(in_size[m, s] for s in sizes)
        model.add(
            sum(together(m, o) for o in members if o != m)
            == sum((s - 1) * in_size[m, s] for s in sizes)
        )
    for s in sizes:
        model.add(sum(in_size[m, s] for m in members) == s * plan.count(s))
        for a, b in combinations(members, 2):
            model.add(in_size[a, s] == in_size[b, s]).only_enforce_if(y[a, b])
    blocked = {frozenset(p) for p in community.not_with}
    speaks = {m: community.prefs(m).languages for m in members}
    assert len({c for langs in speaks.values() for c in langs}) <= 3  # conflicts up to triples
    for a, b in combinations(members, 2):
        if frozenset((a, b)) in blocked or (speaks[a] and speaks[b] and not speaks[a] & speaks[b]):
            model.add(y[a, b] == 0)
    for a, b, c in combinations([m for m in members if speaks[m]], 3):
        if speaks[a] & speaks[b] and speaks[b] & speaks[c] and speaks[a] & speaks[c]:
            if not speaks[a] & speaks[b] & speaks[c]:
                model.add(y[a, b] + y[b, c] <= 1)  # with transitivity: never all three
    mutual = mutual_wishes(community.again)
    age: dict[frozenset[int], int] = {}
    for a, b, r in community.history:
        key = frozenset((a, b))
        age[key] = min(age.get(key, 10**9), community.current_round - r)
    weights = {}
    for a, b in combinations(members, 2):
        key = frozenset((a, b))
        weight = pair_score(community.prefs(a), community.prefs(b), key in mutual)
        if key in age and key not in mutual:  # both asked to meet again: no repeat
            weight -= REPEAT - AGE_STEP * min(AGE_CAP, max(1, age[key]))
        weights[a, b] = weight
    model.maximize(sum(w * y[p] for p, w in weights.items() if w))
    if hint is not None:
        mates = {frozenset(p) for g in hint.groups for p in combinations(g, 2)}
        for (a, b), var in y.items():
            model.add_hint(var, frozenset((a, b)) in mates)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    started = time.perf_counter()
    status = solver.solve(model)
    elapsed = time.perf_counter() - started
    repeats = score = 0
    for (a, b), var in y.items():
        if solver.value(var):
            key = frozenset((a, b))
            repeats += key in age and key not in mutual
            score += pair_score(community.prefs(a), community.prefs(b), key in mutual)
    return (
        int(solver.objective_value),
        repeats,
        score,
        elapsed,
        solver.status_name(status),
        int(solver.best_objective_bound),
    )


def small(seconds: float) -> None:
    print()
    print(
        "30-60 member instances: ours vs OR-Tools CP-SAT on the same objective (hinted with ours)"
    )
    print(
        f"  {'instance':34} {'repeats ours/exact':>18} {'score ours/CP-SAT':>18} {'gap':>7}"
        f" {'CP-SAT bound':>12} {'time ours':>9} {'CP-SAT':>7} {'status':>9}"
    )
    gaps = []
    for count, size, rounds in ((30, 4, 3), (36, 6, 3), (40, 4, 4), (48, 6, 4), (60, 4, 4)):
        rng = random.Random(count * 10 + size)
        community = random_community(rng, count, rounds)
        started = time.perf_counter()
        ours = group_circles(community, size, seed=1)
        ours_time = time.perf_counter() - started
        bad, missing = check(ours, community, size)
        assert not bad and not missing and not ours.unplaced, (bad, missing, ours.unplaced)
        _objective, repeats, score, cp_time, status, bound = exact(community, size, seconds, ours)
        gap = 100 * (score - ours.score) / score if score and repeats == ours.repeats else 0.0
        gaps.append(gap)
        print(
            f"  {count} members, circles of {size}, {rounds} rounds".ljust(36)
            + f" {ours.repeats:>8} / {repeats:<8} {ours.score:>8} / {score:<8} {gap:>6.2f}%"
            f" {bound:>12} {ours_time:>8.2f}s {cp_time:>6.1f}s {status:>9}"
        )
    print(
        f"  largest gap to CP-SAT's best: {max(gaps):.2f} % (exact where the status is OPTIMAL;"
        " otherwise CP-SAT's best within the time, and the bound caps the true optimum)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=52)
    parser.add_argument("--cpsat-seconds", type=float, default=60.0)
    args = parser.parse_args()
    scale(args.members, args.rounds)
    small(args.cpsat_seconds)


if __name__ == "__main__":
    main()
