"""Benchmark: pairing matching at scale, and its quality against the exact optimum.

1. 10,000 eligible members with 52 rounds of history and about 2 % of members holding a not-with
   entry: matching time (median of 5 runs, each with a different seed), repeats made, peak RSS.
2. 300-member instances, from easy (a repeat-free matching exists) to ones that force repeats:
   the repeat count of Alongside's matcher next to the exact optimum of the same objective,
   computed by networkx's max_weight_matching, and the time ratio between the two.

Figures only: nothing here asserts a timing. networkx is a benchmark-only dependency
(`pip install networkx`); the bot never imports it.

    .venv/bin/python -m bench.pairing [--members 10000] [--rounds 52] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from collections.abc import Callable
from itertools import combinations

from bot.features.pairing.matching import Matching, match

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=52)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scale(args.members, args.rounds, args.runs)
    quality(args.rounds)


if __name__ == "__main__":
    main()
