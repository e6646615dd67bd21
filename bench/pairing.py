"""Benchmark: pairing matching at scale, and its quality against the exact optimum.

1. 10,000 eligible members with 52 rounds of history and about 2 % of members holding a not-with
   entry: matching time (median of 5 runs, each with a different seed), repeats made, peak RSS.
2. 300-member instances, from easy (a repeat-free matching exists) to ones that force repeats:
   the repeat count of Alongside's matcher next to the exact optimum of the same objective,
   computed by networkx's max_weight_matching, and the time ratio between the two.
3. With preferences (issue 17): 10,000 members with 52 rounds of history, about 2 % holding a
   not-with entry, 30 % with languages set (from three), timezones over 12 zones, usual free
   times, styles and a few meet-again wishes (bench.circles.random_community): pairs, and circles
   of 4 and of 6 (circles.group_circles), each timed (median of `--runs`), with hard-constraint
   violations, members missing, repeats and unplaced counted here independently of the matchers.
4. With preferences, 60-300 members: our pairs vs the exact optimum of the same lexicographic
   objective from networkx's max_weight_matching (repeats, preference score, gap, time); up to
   Limits.score_exact members ours is the exact matching, above it the heuristic. With
   `--circles-exact`, also our circles vs OR-Tools CP-SAT on 30-60 members (bench.circles.small).

Figures only: nothing here asserts a timing. networkx and ortools are benchmark-only
dependencies (the `bench` extra); the bot never imports them.

    .venv/bin/python -m bench.pairing [--members 10000] [--rounds 52] [--runs 5]
        [--circles-exact] [--cpsat-seconds 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations

from bot.features.pairing.matching import Limits, Matching, match, match_community
from bot.features.pairing.preferences import (
    Community,
    group_score,
    mutual_wishes,
    pair_score,
    shared_language,
    violations,
)

History = list[tuple[int, int, int]]
NotWith = list[tuple[int, int]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_rounds(rng: random.Random, members: list[int], rounds: int) -> History:
    """Who met whom: `rounds` rounds of random pairs (and a triad when the count is odd)."""
    history: History = []
    for number in range(1, rounds + 1):
        order = members[:]
        rng.shuffle(order)
        if len(order) % 2:
            a, b, c = order[-3:]
            history += [(a, b, number), (a, c, number), (b, c, number)]
            order = order[:-3]
        history += [(order[i], order[i + 1], number) for i in range(0, len(order), 2)]
    return history


def some_not_with(rng: random.Random, members: list[int], share: float = 0.02) -> NotWith:
    holders = rng.sample(members, round(len(members) * share))
    return [
        (m, rng.choice([o for o in rng.sample(members, 3) if o != m] or [members[0]]))
        for m in holders
    ]


# -- 1. scale ------------------------------------------------------------------------------------


def scale(members_count: int, rounds: int, runs: int) -> None:
    rng = random.Random(2026)
    members = list(range(1, members_count + 1))
    history = random_rounds(rng, members, rounds)
    not_with = some_not_with(rng, members)
    print(
        f"{members_count:,} eligible members, {rounds} rounds of history ({len(history):,} pairs met),"
    )
    print(
        f"{len({m for m, _ in not_with}):,} members holding a not-with entry ({len(not_with)} entries)"
    )
    times: list[float] = []
    result: Matching | None = None
    for run in range(runs):
        started = time.perf_counter()
        result = match(
            members, not_with=not_with, history=history, current_round=rounds + 1, seed=run
        )
        times.append(time.perf_counter() - started)
    assert result is not None
    sizes = sorted(len(g) for g in result.groups)
    print(
        f"  matching time: median {statistics.median(times):.3f} s of {runs} runs "
        f"(min {min(times):.3f} s, max {max(times):.3f} s)"
    )
    print(
        f"  groups: {sizes.count(2):,} pairs, {sizes.count(3)} triad; unplaced: {len(result.unplaced)}"
    )
    print(
        f"  repeats made: {result.repeats} (proven optimal: {'yes' if result.proven_optimal else 'no'})"
    )
    odd = members + [members_count + 1]
    started = time.perf_counter()
    odd_result = match(odd, not_with=not_with, history=history, current_round=rounds + 1, seed=0)
    print(
        f"  with one more member ({len(odd):,}, so one triad): {time.perf_counter() - started:.3f} s, "
        f"repeats made: {odd_result.repeats}"
    )
    print(f"  peak RSS: {peak_rss_mb():.0f} MB")


# -- 2. quality against the exact optimum --------------------------------------------------------


def exact_optimum(
    members: list[int], not_with: NotWith, history: History, current_round: int
) -> tuple[int, int]:
    """(repeats, total age of repeats) of the exact optimum of the matcher's objective for an even
    group: place everyone possible, then fewest repeats, then the oldest repeats."""
    import networkx as nx

    forbidden = {frozenset(p) for p in not_with}
    age: dict[frozenset[int], int] = {}
    for a, b, r in history:
        key = frozenset((a, b))
        age[key] = min(age.get(key, 10**9), current_round - r)
    top = max(age.values(), default=1)
    half = len(members) // 2 + 1
    big_m = (top + 1) * half
    big_c = (big_m + top + 1) * half
    graph = nx.Graph()
    for a, b in combinations(members, 2):
        key = frozenset((a, b))
        if key not in forbidden:
            graph.add_edge(a, b, weight=big_c + (age[key] if key in age else big_m))
    mate = nx.max_weight_matching(graph, maxcardinality=True)
    met = [age[frozenset(p)] for p in mate if frozenset(p) in age]
    return len(met), sum(met)


def clustered(rng: random.Random, members: list[int], sizes: list[int], rounds: int) -> History:
    """Everyone has met everyone outside their own cluster: the only repeat-free partners are in
    the same cluster, and odd clusters force repeats."""
    cluster: dict[int, int] = {}
    start = 0
    for index, size in enumerate(sizes):
        for m in members[start : start + size]:
            cluster[m] = index
        start += size
    return [
        (a, b, rng.randint(1, rounds))
        for a, b in combinations(members, 2)
        if cluster[a] != cluster[b]
    ]


def quality(rounds: int) -> None:
    rng = random.Random(300)
    members = list(range(1, 301))
    cases: list[tuple[str, Callable[[], tuple[NotWith, History]]]] = [
        (
            "random, 52 rounds",
            lambda: (some_not_with(rng, members), random_rounds(rng, members, rounds)),
        ),
        (
            "random + 30 veterans who met everyone",
            lambda: (
                some_not_with(rng, members),
                random_rounds(rng, members, rounds)
                + [
                    (v, u, rng.randint(1, rounds))
                    for v in rng.sample(members, 30)
                    for u in members
                    if u != v
                ],
            ),
        ),
        (
            "97 % of all pairs already met",
            lambda: (
                some_not_with(rng, members),
                [
                    (a, b, rng.randint(1, rounds))
                    for a, b in combinations(members, 2)
                    if rng.random() < 0.97
                ],
            ),
        ),
        (
            "10 odd-sized clusters (repeats forced)",
            lambda: (
                some_not_with(rng, members),
                clustered(rng, members, [31] * 8 + [25, 27], rounds),
            ),
        ),
    ]
    print()
    print(
        "300-member instances: Alongside's matcher vs the exact optimum (networkx max_weight_matching)"
    )
    header = f"  {'instance':40} {'repeats (ours / exact)':>24} {'age of repeats (ours / exact)':>31} {'time ours':>10} {'networkx':>9} {'ratio':>7}"
    print(header)
    for label, build in cases:
        not_with, history = build()
        started = time.perf_counter()
        ours = match(members, not_with=not_with, history=history, current_round=rounds + 1, seed=1)
        ours_time = time.perf_counter() - started
        started = time.perf_counter()
        exact_repeats, exact_age = exact_optimum(members, not_with, history, rounds + 1)
        exact_time = time.perf_counter() - started
        same = "same" if ours.repeats == exact_repeats else "DIFFERENT"
        print(
            f"  {label:40} {ours.repeats:>10} / {exact_repeats:<6} {same:>6} {ours.repeat_age:>14} / {exact_age:<14}"
            f" {ours_time:>9.3f}s {exact_time:>8.3f}s {ours_time / exact_time:>7.3f}"
        )


# -- 3. with preferences, at scale ---------------------------------------------------------------


def repeat_pairs(groups: Iterable[Sequence[int]], community: Community) -> int:
    """Pairs inside groups who met in a kept round (a mutual meet-again wish is no repeat)."""
    met = {frozenset((a, b)) for a, b, _ in community.history}
    mutual = mutual_wishes(community.again)
    return sum(
        1
        for group in groups
        for pair in combinations(group, 2)
        if frozenset(pair) in met and frozenset(pair) not in mutual
    )


def audit(groups: Sequence[Sequence[int]], unplaced: Sequence[int], community: Community) -> str:
    """Violations, missing or doubled members, repeats, unplaced and score, counted here."""
    placed = [m for group in groups for m in group]
    bad = sum(1 for group in groups if violations(group, community))
    lost = len(set(community.members) - set(placed) - set(unplaced))
    doubled = len(placed) - len(set(placed))
    score = sum(group_score(group, community) for group in groups)
    return (
        f"violations {bad}, missing {lost}, doubled {doubled}, "
        f"repeats {repeat_pairs(groups, community)}, unplaced {len(unplaced)}, score {score:,}"
    )


def preferences_scale(members_count: int, rounds: int, runs: int) -> None:
    from bench.circles import random_community
    from bot.features.pairing.circles import group_circles, size_bounds

    community = random_community(random.Random(2026), members_count, rounds)
    with_languages = sum(1 for p in community.preferences.values() if p.languages)
    print()
    print(
        f"With preferences: {members_count:,} members, {rounds} rounds of history, "
        f"{with_languages:,} with languages set, {len(mutual_wishes(community.again))} mutual "
        f"meet-again wishes, {len(community.not_with)} not-with entries"
    )
    for label, members in (("pairs", community.members), ("pairs, one more (a triad)", None)):
        if members is None:
            members = (*community.members, members_count + 1)
        times, cpu = [], []
        result: Matching | None = None
        for run in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = match_community(dataclasses.replace(community, members=tuple(members)), seed=run)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert result is not None
        extra = dataclasses.replace(community, members=tuple(members))
        print(
            f"  {label:26} median {statistics.median(times):.2f} s (max {max(times):.2f} s, "
            f"CPU {statistics.median(cpu):.2f} s): "
            f"{audit(result.groups, result.unplaced, extra)}"
        )
    for size in (4, 6):
        times, cpu = [], []
        circles = None
        for run in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            circles = group_circles(community, size, seed=run)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert circles is not None
        low, high = size_bounds(members_count, size)
        off_size = sum(1 for g in circles.groups if not low <= len(g) <= high)
        print(
            f"  {'circles of ' + str(size):26} median {statistics.median(times):.2f} s "
            f"(max {max(times):.2f} s, CPU {statistics.median(cpu):.2f} s): "
            f"{audit(circles.groups, circles.unplaced, community)}, "
            f"sizes out of bounds {off_size}"
        )


# -- 4. with preferences, against the exact optimum ------------------------------------------------


def exact_with_preferences(community: Community) -> tuple[int, int, int, int]:
    """(unplaced, repeats, total age of repeats, score) of networkx's maximum-weight
    maximum-cardinality matching on lexicographic weights built here: fewest repeats, then oldest
    repeats, then the highest preference score, every hard constraint kept."""
    import networkx as nx

    members = list(community.members)
    mutual = mutual_wishes(community.again)
    blocked = {frozenset(p) for p in community.not_with}
    age: dict[frozenset[int], int] = {}
    for a, b, r in community.history:
        key = frozenset((a, b))
        if key not in mutual:
            age[key] = min(age.get(key, 10**9), community.current_round - r)
    scores = {
        frozenset((a, b)): pair_score(
            community.prefs(a), community.prefs(b), frozenset((a, b)) in mutual
        )
        for a, b in combinations(members, 2)
    }
    half = len(members) // 2 + 1
    unit = half * max(scores.values(), default=0) + 1
    free = half * (max(age.values(), default=0) * unit + max(scores.values(), default=0)) + 1
    graph = nx.Graph()
    for a, b in combinations(members, 2):
        key = frozenset((a, b))
        if key in blocked or not shared_language((community.prefs(a), community.prefs(b))):
            continue
        graph.add_edge(a, b, weight=(age[key] * unit if key in age else free) + scores[key])
    mate = [frozenset(p) for p in nx.max_weight_matching(graph, maxcardinality=True)]
    met = [age[p] for p in mate if p in age]
    return len(members) - 2 * len(mate), len(met), sum(met), sum(scores[p] for p in mate)


def preferences_quality(rounds: int) -> None:
    from bench.circles import random_community

    print()
    print(
        "With preferences, pairs: ours vs the exact optimum of the same objective "
        f"(networkx max_weight_matching); ours is exact up to {Limits().score_exact} members"
    )
    print(
        f"  {'members':>8} {'unplaced ours/exact':>20} {'repeats ours/exact':>19}"
        f" {'score ours/exact':>18} {'gap':>7} {'time ours':>10} {'networkx':>9}"
    )
    for count in (60, 120, 160, 200, 300):
        community = random_community(random.Random(count), count, rounds)
        started = time.perf_counter()
        ours = match_community(community, seed=1)
        ours_time = time.perf_counter() - started
        started = time.perf_counter()
        unplaced, repeats, _age, score = exact_with_preferences(community)
        exact_time = time.perf_counter() - started
        gap = 100 * (score - ours.score) / score if score else 0.0
        print(
            f"  {count:>8} {len(ours.unplaced):>9} / {unplaced:<8} {ours.repeats:>8} / {repeats:<8}"
            f" {ours.score:>8} / {score:<7} {gap:>6.2f}% {ours_time:>9.2f}s {exact_time:>8.2f}s"
            f"{'  (exact path)' if ours.proven_optimal else '  (heuristic)'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=52)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--circles-exact", action="store_true")
    parser.add_argument("--cpsat-seconds", type=float, default=60.0)
    args = parser.parse_args()
    scale(args.members, args.rounds, args.runs)
    quality(args.rounds)
    preferences_scale(args.members, args.rounds, args.runs)
    preferences_quality(args.rounds)
    if args.circles_exact:
        from bench.circles import small

        small(args.cpsat_seconds)


if __name__ == "__main__":
    main()
