"""Grouping members into circles of a chosen size (3 to 6). Pure: no I/O, no clock; deterministic
for a given seed.

The rules, in order of importance:

1. Hard constraints are never broken (preferences.py: not-with, a shared language, paused members
   are not grouped); circle sizes stay within `size_bounds`.
2. Place everyone who can be placed: the plan is `circle_sizes` (as even as possible, the number
   of circles chosen so sizes are nearest the chosen size), and when the hard constraints get in
   the way a circle may take one more or one fewer member, within the bounds. Never a circle of
   one or two.
3. As few repeats as possible (two members in one circle who met in a kept round, unless both asked
   to meet again), preferring the pairs that met longest ago.
4. Then the preference score (preferences.py) as high as possible.

Rules 3 and 4 are one integer objective: each pair in a circle is worth its preference score,
minus REPEAT (less a little for each round since they met) when they met before. REPEAT is larger
than any community's whole preference score, so a repeat is never traded for preferences.

Grouping is NP-hard, so this is a heuristic, measured against an exact solver in
bench/circles.py: members are sorted so that alike members (language, timezone, style, free
times) sit together, circles are filled greedily along that order skipping anyone a member
already met or must not meet, leftovers are placed by moves, swaps and new circles (and in
communities of up to EXACT_MAX members every grouping is searched instead), and then members are
swapped (or moved, when two circles trade sizes) between circles: in large communities a descent over random pairs of circles within a
budget of pair evaluations; in communities up to ANNEAL_MAX a few seeded simulated-annealing chains
and a full descent. Budgets count evaluations and steps, not seconds, so results do not depend on
the machine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable
from dataclasses import dataclass

from bot.features.pairing.preferences import (
    MUTUAL_AGAIN,
    SAME_STYLE,
    SLOT_WEIGHT,
    Community,
    Style,
    mutual_wishes,
    slot_bits,
    waking_overlap_hours,
)

MIN_SIZE, MAX_SIZE = 3, 6
REPEAT = 10**9  # more than any total preference score (10,000 members: under 10**7)
AGE_STEP = 1_000  # a repeat of pairs who met a round longer ago costs this much less
AGE_CAP = 500  # rounds; older meetings all count the same
EXACT_MAX = 9  # communities up to this size are searched exhaustively
ANNEAL_MAX = 400  # communities up to this size are annealed on a full weight table
ANNEAL_HOT, ANNEAL_COLD = 30.0, 0.3  # temperatures, in preference points
ANNEAL_CHAINS, ANNEAL_STEPS = 4, 100_000  # chains, and most swaps tried in each
SOFT_REPEAT_VALUE = -200  # a repeat's worth while annealing (see _anneal_chain)


@dataclass(frozen=True)
class Circles:
    groups: tuple[tuple[Hashable, ...], ...]
    unplaced: tuple[Hashable, ...]  # only those the hard constraints left without a circle
    repeats: int  # pairs inside circles who had met before
    score: int  # total preference score of the circles
    objective: int  # what was maximised (see the module text)


def circle_sizes(n: int, size: int) -> list[int]:
    """The planned circle sizes for `n` members and a chosen `size`: as even as possible, with the
    number of circles that keeps every circle nearest `size` (ties: smaller circles)."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"circle size must be {MIN_SIZE} to {MAX_SIZE}")
    if n < MIN_SIZE:
        return []
    best: tuple[int, int] | None = None  # (deviation, -count)
    for count in {max(1, n // size), max(1, -(-n // size))}:
        if n // count < MIN_SIZE:
            continue
        deviation = max(abs(n // count - size), abs(-(-n // count) - size))
        key = (deviation, -count)
        if best is None or key < best:
            best = key
    assert best is not None
    count = -best[1]
    return [n // count + (1 if index < n % count else 0) for index in range(count)]


def size_bounds(n: int, size: int) -> tuple[int, int]:
    """Smallest and largest circle allowed when `n` members are eligible: one fewer or one more
    than the chosen size, widened to the plan when few members make that impossible."""
    plan = circle_sizes(n, size)
    low = max(MIN_SIZE, size - 1)
    high = size + 1
    if plan:
        low, high = min(low, min(plan)), max(high, max(plan))
    return low, high


def group_circles(
    community: Community,
    size: int,
    *,
    seed: int | str = 0,
    effort: int = 400_000,
    exact_max: int = EXACT_MAX,
) -> Circles:
    """Group the community's unpaused members into circles of about `size`. `effort` bounds the
    pair evaluations the local search may spend on communities larger than ANNEAL_MAX (smaller
    ones are annealed for a fixed number of steps, well under 2 s); communities of up to
    `exact_max` members are searched exhaustively instead (tests set 0 to check the heuristic)."""
    return _Instance(community, size, seed, effort).solve(exact_max)


# --------------------------------------------------------------------------------------------


def _sort_key(member: Hashable) -> tuple[str, Hashable]:
    return (str(type(member)), member)


class _Instance:
    def __init__(self, community: Community, size: int, seed: int | str, effort: int) -> None:
        self.rng = random.Random(str(seed))
        eligible = sorted(
            {m for m in community.members if m not in community.paused}, key=_sort_key
        )
        self.rng.shuffle(eligible)
        self.ids: list[Hashable] = eligible
        pos = {m: i for i, m in enumerate(eligible)}
        n = self.n = len(eligible)
        self.size = size
        self.plan = circle_sizes(n, size)
        self.low, self.high = size_bounds(n, size)
        self.effort = effort
        self.forb: list[set[int]] = [set() for _ in range(n)]
        for a, b in community.not_with:
            i, j = pos.get(a), pos.get(b)
            if i is not None and j is not None and i != j:
                self.forb[i].add(j)
                self.forb[j].add(i)
        # Penalty of every pair that met before (the most recent meeting counts).
        self.met: list[dict[int, int]] = [{} for _ in range(n)]
        met = self.met
        now = community.current_round
        for a, b, met_round in community.history:
            i, j = pos.get(a), pos.get(b)
            if i is None or j is None or i == j:
                continue
            penalty = REPEAT - AGE_STEP * min(AGE_CAP, max(1, now - met_round))
            if penalty > met[i].get(j, 0):
                met[i][j] = penalty
                met[j][i] = penalty
        self.mutual: list[set[int]] = [set() for _ in range(n)]
        for pair in mutual_wishes(community.again):
            a, b = tuple(pair)
            i, j = pos.get(a), pos.get(b)
            if i is not None and j is not None:
                self.mutual[i].add(j)
                self.mutual[j].add(i)
                # Both asked to meet again (and wishes name people met before): meeting again
                # is what they want, not a repeat to avoid, as in the pair matcher.
                met[i].pop(j, None)
                met[j].pop(i, None)
        self._read_preferences(community, eligible)
        self.overlap = [waking_overlap_hours(shift, 0) for shift in range(24 * 60)]
        self.shared_slots = [SLOT_WEIGHT * bin(bits).count("1") for bits in range(16)]
        self.evaluations = 0

    def _read_preferences(self, community: Community, eligible: list[Hashable]) -> None:
        """Each member's preferences as small integers, for fast weights."""
        codes: dict[str, int] = {}
        self.lang: list[int] = []  # bit mask of languages; -1 (every bit) when not set
        self.tz: list[int | None] = []
        self.slots: list[int] = []
        self.style: list[int] = []
        for member in eligible:
            prefs = community.prefs(member)
            mask = 0
            for code in sorted(prefs.languages):
                mask |= 1 << codes.setdefault(code, len(codes))
            self.lang.append(mask or -1)
            self.tz.append(prefs.utc_offset_minutes)
            self.slots.append(slot_bits(prefs.free))
            self.style.append(
                0 if prefs.style is None else (1 if prefs.style is Style.LIGHTER else 2)
            )

    # -- the objective ---------------------------------------------------------------------------

    def w(self, i: int, j: int) -> int:
        """What having i and j in one circle is worth (see the module text)."""
        value = self.shared_slots[self.slots[i] & self.slots[j]] - self.met[i].get(j, 0)
        ti, tj = self.tz[i], self.tz[j]
        if ti is not None and tj is not None:
            value += self.overlap[(ti - tj) % 1440]
        if self.style[i] and self.style[i] == self.style[j]:
            value += SAME_STYLE
        if j in self.mutual[i]:
            value += MUTUAL_AGAIN
        return value

    def gain(self, x: int, group: list[int]) -> int:
        """Sum of w(x, g) over the group's other members."""
        self.evaluations += len(group)
        w = self.w
        return sum(w(x, g) for g in group if g != x)

    def fits(self, x: int, group: list[int], without: int = -1) -> bool:
        """Whether x may join `group` (minus `without`) under the hard constraints."""
        forb = self.forb[x]
        mask = self.lang[x]
        for g in group:
            if g == without:
                continue
            if g in forb:
                return False
            mask &= self.lang[g]
        return mask != 0

    # -- the whole grouping ----------------------------------------------------------------------

    def solve(self, exact_max: int) -> Circles:
        groups, left = self._greedy(set())
        left = self._place_leftovers(groups, left)
        # Someone left out: try again with those members first in the order (they are the hard
        # ones to place), a few times, keeping the grouping that places the most.
        priority: set[int] = set()
        for _attempt in range(4):
            if not left or self.evaluations > self.effort:
                break
            priority |= set(left)
            again, again_left = self._greedy(priority)
            again_left = self._place_leftovers(again, again_left)
            if len(again_left) < len(left):
                groups, left = again, again_left
        if self.n <= exact_max:
            groups, left = self._exact(groups, left)
        else:
            self._improve(groups)
        ids = self.ids
        objective = score = repeats = 0
        for group in groups:
            for a_index, a in enumerate(group):
                for b in group[a_index + 1 :]:
                    value = self.w(a, b)
                    objective += value
                    if b in self.met[a]:
                        repeats += 1
                        value += self.met[a][b]
                    score += value
        out = [tuple(sorted((ids[i] for i in group), key=_sort_key)) for group in groups]
        out.sort(key=lambda group: [_sort_key(m) for m in group])
        return Circles(
            groups=tuple(out),
            unplaced=tuple(sorted((ids[i] for i in left), key=_sort_key)),
            repeats=repeats,
            score=score,
            objective=objective,
        )

    def _greedy(self, priority: set[int]) -> tuple[list[list[int]], list[int]]:
        """Fill the planned circles along an order that puts alike members together (members in
        `priority` first)."""
        order = sorted(
            range(self.n),
            key=lambda i: (
                i not in priority,
                self.lang[i] == -1,
                self.lang[i],
                -len(self.forb[i]),
                self.tz[i] if self.tz[i] is not None else 10**6,
                self.style[i],
                self.slots[i],
                i,
            ),
        )
        pool = order[::-1]  # picked from the end, so removing is cheap
        groups: list[list[int]] = []
        for planned in self.plan:
            if not pool:
                break
            group = [pool.pop()]
            while len(group) < planned and pool:
                pick = self._pick(group, pool)
                if pick < 0:
                    break
                group.append(pool.pop(pick))
            groups.append(group)
        return groups, pool

    def _pick(self, group: list[int], pool: list[int]) -> int:
        """Index in `pool` of the member to add: the nearest (in sort order) who met nobody in the
        group, else the allowed one worth most; -1 when nobody is allowed."""
        best, best_value = -1, 0
        for index in range(len(pool) - 1, -1, -1):
            x = pool[index]
            if not self.fits(x, group):
                continue
            met = self.met[x]
            if not any(g in met for g in group):
                return index
            value = self.gain(x, group)
            if best < 0 or value > best_value:
                best, best_value = index, value
            if len(pool) - index > 400 and best >= 0:
                break  # far enough: take the best seen rather than scan everyone
        return best

    def _exact(self, groups: list[list[int]], left: list[int]) -> tuple[list[list[int]], list[int]]:
        """Tiny communities: every grouping is searched, best for (fewest left out, the planned
        sizes, the objective); never leaving out more than the heuristic did."""
        plan = sorted(self.plan)
        w = self.w

        def key(found: list[list[int]], out_count: int) -> tuple[int, bool, int]:
            total = sum(w(a, b) for g in found for i, a in enumerate(g) for b in g[i + 1 :])
            return (-out_count, sorted(len(g) for g in found) == plan, total)

        best: list[tuple[tuple[int, bool, int], list[list[int]], list[int]]] = [
            (key(groups, len(left)), groups, left)
        ]
        open_groups: list[list[int]] = []
        out: list[int] = []

        def walk(index: int) -> None:
            if len(out) > len(best[0][2]):
                return
            if index == self.n:
                if all(len(g) >= self.low for g in open_groups):
                    found = key(open_groups, len(out))
                    if found > best[0][0]:
                        best[0] = (found, [g[:] for g in open_groups], out[:])
                return
            for group in open_groups:
                if len(group) < self.high and self.fits(index, group):
                    group.append(index)
                    walk(index + 1)
                    group.pop()
            open_groups.append([index])
            walk(index + 1)
            open_groups.pop()
            out.append(index)
            walk(index + 1)
            out.pop()

        walk(0)
        return best[0][1], best[0][2]

    def _place_leftovers(self, groups: list[list[int]], left: list[int]) -> list[int]:
        """Put members the greedy pass could not place into circles with room, directly or by
        moving one member of a circle elsewhere, or into a new circle of leftovers and members
        borrowed from circles above the smallest size. Circles too small are undone first."""
        small = [g for g in groups if len(g) < self.low]
        groups[:] = [g for g in groups if len(g) >= self.low]
        left = left + [x for g in small for x in g]
        for _attempt in range(4):
            left = [x for x in left if not self._insert(groups, x)]
            if not left:
                break
            formed = self._new_circle(groups, left)
            if formed is None:
                break
            groups.append(formed)
            left = [x for x in left if x not in formed]
        return left

    def _new_circle(self, groups: list[list[int]], left: list[int]) -> list[int] | None:
        for seed in left:
            circle = [seed]
            for x in left:
                if len(circle) < self.low and x != seed and self.fits(x, circle):
                    circle.append(x)
            lent: list[tuple[int, list[int]]] = []
            for group in groups:
                spare = len(group) - self.low
                for y in group:
                    if len(circle) >= self.low or spare <= 0:
                        break
                    if self.fits(y, circle):
                        circle.append(y)
                        lent.append((y, group))
                        spare -= 1
            if len(circle) >= self.low:
                for y, group in lent:
                    group.remove(y)
                return circle
        return None

    def _insert(self, groups: list[list[int]], x: int) -> bool:
        best: tuple[int, int] | None = None
        for gi, group in enumerate(groups):
            if len(group) < self.high and self.fits(x, group):
                value = self.gain(x, group)
                if best is None or value > best[0]:
                    best = (value, gi)
        if best is not None:
            groups[best[1]].append(x)
            return True
        # x replaces y in one circle, y goes to a circle with room.
        for group in groups:
            for y in group:
                if not self.fits(x, group, without=y):
                    continue
                for other in groups:
                    if other is not group and len(other) < self.high and self.fits(y, other):
                        group.remove(y)
                        group.append(x)
                        other.append(y)
                        return True
        return False

    # -- local search ----------------------------------------------------------------------------

    def _improve(self, groups: list[list[int]]) -> None:
        if len(groups) < 2:
            return
        budget = self.evaluations + self.effort
        # First the circles holding a repeat, against every other circle.
        for gi, group in enumerate(groups):
            if any(b in self.met[a] for a in group for b in group):
                for gj in range(len(groups)):
                    if gj != gi and self._best_exchange(groups[gi], groups[gj]):
                        if not any(b in self.met[a] for a in group for b in group):
                            break
                    if self.evaluations > budget:
                        return
        if self.n <= ANNEAL_MAX:
            self._anneal(groups)
            return
        # Large communities: random pairs of circles, best exchange each, until the budget ends
        # or a sweep finds nothing.
        rng = self.rng
        count = len(groups)
        improved = True
        while improved and self.evaluations < budget:
            improved = False
            for _ in range(count * 2):
                a, b = rng.sample(range(count), 2)
                if self._best_exchange(groups[a], groups[b]):
                    improved = True
                if self.evaluations >= budget:
                    break

    def _anneal(self, groups: list[list[int]]) -> None:
        """Small communities: a few simulated-annealing chains over swaps on a weight table from
        the same start, each followed by a full descent; the best grouping wins."""
        n = self.n
        table = [[0 if i == j else self.w(i, j) for j in range(n)] for i in range(n)]
        steps = min(ANNEAL_STEPS, 40 * n * n)
        start = [g[:] for g in groups]
        best_total: int | None = None
        for _chain in range(ANNEAL_CHAINS):
            trial = [g[:] for g in start]
            self._anneal_chain(trial, table, steps)
            improved = True
            while improved:
                improved = False
                for a in range(len(trial)):
                    for b in range(a + 1, len(trial)):
                        if self._best_exchange(trial[a], trial[b]):
                            improved = True
            total = self._total(trial)
            if best_total is None or total > best_total:
                best_total = total
                groups[:] = trial

    def _anneal_chain(self, groups: list[list[int]], table: list[list[int]], steps: int) -> None:
        """Simulated annealing over swaps, leaving the best grouping seen in `groups`. The walk
        prices a repeat at SOFT_REPEAT (more than any pair's preferences, so it still steers away
        from repeats, but small enough to cross one on the way to fewer), while the best is kept
        by the true objective, where a repeat outweighs every preference."""
        rng = self.rng
        n = self.n
        soft = [
            [value if value > -REPEAT // 2 else SOFT_REPEAT_VALUE for value in row] for row in table
        ]
        where = {x: gi for gi, g in enumerate(groups) for x in g}
        count = len(groups)
        current = best_total = self._total(groups)
        best_groups = [g[:] for g in groups]
        hot, cold = ANNEAL_HOT, ANNEAL_COLD
        for step in range(steps):
            heat = hot * (cold / hot) ** (step / steps)
            x = rng.randrange(n)
            if x not in where:
                continue  # left unplaced
            a = where[x]
            b = rng.randrange(count - 1)
            b += b >= a
            ga, gb = groups[a], groups[b]
            sx, tx = soft[x], table[x]
            if len(ga) == len(gb) + 1 and rng.random() < 0.25:
                # Move x: the two circles trade sizes, so the planned sizes still hold.
                delta = sum(sx[g] for g in gb) - sum(sx[g] for g in ga)
                if delta < 0 and (delta < -10 * hot or rng.random() >= _exp(delta / heat)):
                    continue
                if not self.fits(x, gb):
                    continue
                current += sum(tx[g] for g in gb) - sum(tx[g] for g in ga)
                ga.remove(x)
                gb.append(x)
                where[x] = b
                if current > best_total:
                    best_total, best_groups = current, [g[:] for g in groups]
                continue
            y = rng.choice(gb)
            sy = soft[y]
            delta = _swap_delta(sx, sy, ga, gb, x, y)
            if delta < 0 and (delta < -10 * hot or rng.random() >= _exp(delta / heat)):
                continue
            if not (self.fits(y, ga, without=x) and self.fits(x, gb, without=y)):
                continue
            current += _swap_delta(tx, table[y], ga, gb, x, y)
            ga[ga.index(x)] = y
            gb[gb.index(y)] = x
            where[x], where[y] = b, a
            if current > best_total:
                best_total, best_groups = current, [g[:] for g in groups]
        groups[:] = best_groups

    def _total(self, groups: list[list[int]]) -> int:
        w = self.w
        return sum(w(a, b) for g in groups for i, a in enumerate(g) for b in g[i + 1 :])

    def _best_exchange(self, ga: list[int], gb: list[int]) -> bool:
        """Apply the best improving swap, or move that keeps the planned sizes, between two
        circles; True if one was made. No other moves: a pair sum favours uneven circles."""
        w = self.w
        in_a = {x: self.gain(x, ga) for x in ga}
        in_b = {y: self.gain(y, gb) for y in gb}
        to_b = {x: self.gain(x, gb) for x in ga}
        to_a = {y: self.gain(y, ga) for y in gb}
        best_delta = 0
        best: tuple[int, int] | None = None
        for x in ga:
            for y in gb:
                wxy = w(x, y)
                delta = to_a[y] - wxy - in_a[x] + to_b[x] - wxy - in_b[y]
                if (
                    delta > best_delta
                    and self.fits(y, ga, without=x)
                    and self.fits(x, gb, without=y)
                ):
                    best_delta, best = delta, (x, y)
        # A move from the larger of two circles differing by one keeps the planned sizes.
        moved: tuple[int, list[int], list[int]] | None = None
        for big, small, gain_in, gain_to in ((ga, gb, in_a, to_b), (gb, ga, in_b, to_a)):
            if len(big) == len(small) + 1:
                for x in big:
                    delta = gain_to[x] - gain_in[x]
                    if delta > best_delta and self.fits(x, small):
                        best_delta, moved = delta, (x, big, small)
        if moved is not None:
            x, big, small = moved
            big.remove(x)
            small.append(x)
            return True
        if best is None:
            return False
        x, y = best
        ga[ga.index(x)] = y
        gb[gb.index(y)] = x
        return True


def _exp(value: float) -> float:
    return math.exp(max(-50.0, value))


def _swap_delta(
    row_x: list[int], row_y: list[int], ga: list[int], gb: list[int], x: int, y: int
) -> int:
    """The change in a pair sum when x (in ga) and y (in gb) trade places."""
    return (
        sum(row_y[g] for g in ga if g != x)
        - sum(row_x[g] for g in ga)
        + sum(row_x[g] for g in gb if g != y)
        - sum(row_y[g] for g in gb)
    )
