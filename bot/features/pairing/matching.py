"""Who is paired with whom in a round. Pure: no I/O, no clock; deterministic for a given seed.

The rules, in order of importance:

1. Never place together two members where either has the other on a not-with list (hard).
2. Place everyone who can be placed: pairs of two and, when the count is odd, exactly one group
   of three. A member is left unplaced only when the not-with rules leave no group for them.
3. Make as few repeat pairings as possible (a repeat is two members who met in a kept round;
   in a triad each of its three pairs counts). So no repeat while a repeat-free grouping exists.
4. A member of the last triad is not put in this one when that is avoidable.
5. When repeats cannot be avoided, repeat the pairs that met longest ago (largest total age, in
   rounds since they met).

How: members are put in a seeded random order and matched greedily along "free" edges (allowed
and never met), then short augmenting swaps place the few left over. In the usual case that
already places everyone with no repeat, which is optimal. Otherwise an exact maximum-weight
matching (blossom.py) decides: on every allowed pair when the group is small, or on a reduced
graph for large groups. The reduction is exact because of Dirac's theorem: the "hard" members
(few free partners) are matched optimally first, with enough candidate partners each that no
better choice is lost, and the remaining easy members then always have a repeat-free perfect
matching, which the augmenting swaps find. An odd group tries candidate triads (all of them when
the group is small) and keeps the best whole result.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.features.pairing.blossom import max_weight_matching

AGE_CAP = 1_000_000


@dataclass(frozen=True)
class Limits:
    """Where the matcher switches strategy. Defaults suit real use; tests lower them to reach
    every path on small inputs."""

    exhaustive_triads: int = 13  # odd groups up to this size try every allowed triad
    triad_candidates: int = 12  # larger odd groups try this many promising triads
    enumerate_triads: int = 60  # up to this size, candidate triads are ranked over all triples
    full_exact: int = 120  # up to this many members, the exact fallback uses every allowed pair
    full_exact_max: int = 800  # when the reduction does not apply, still exact up to this size
    hard_max: int = 200  # the reduction handles at most this many hard members
    augment_budget: int = 400_000  # most edge checks spent on augmenting swaps


@dataclass(frozen=True)
class Matching:
    groups: tuple[tuple[Hashable, ...], ...]  # pairs, and at most one triad
    unplaced: tuple[Hashable, ...]  # members the not-with rules left without a group
    repeats: int  # pairs inside groups who had met before
    repeat_age: int  # their total age (rounds since they met): larger is better
    triad_rotation: int  # members of the last triad who are in this round's triad
    proven_optimal: bool  # the result is optimal for rules 1-5, not just good

    @property
    def triad(self) -> tuple[Hashable, ...] | None:
        return next((group for group in self.groups if len(group) == 3), None)


def match(
    members: Iterable[Hashable],
    *,
    not_with: Iterable[tuple[Hashable, Hashable]] = (),
    history: Iterable[tuple[Hashable, Hashable, int]] = (),
    current_round: int = 0,
    last_triad: Iterable[Hashable] = (),
    seed: int | str = 0,
    limits: Limits | None = None,
) -> Matching:
    """Group `members` for round `current_round`.

    `not_with`: pairs (either direction) who must never be together.
    `history`: (a, b, round) for every two members who were in a group in a kept round.
    `last_triad`: the members of the most recent triad.
    """
    return _MatchingInstance(
        members, not_with, history, current_round, last_triad, seed, limits or Limits()
    ).solve()


# --------------------------------------------------------------------------------------------


@dataclass
class _Pairs:
    pairs: list[tuple[int, int]]
    unplaced: list[int]
    exact: bool


_Key = tuple[int, int, int, int]  # (unplaced, repeats, rotation, -age): smaller is better


class _MatchingInstance:
    def __init__(
        self,
        members: Iterable[Hashable],
        not_with: Iterable[tuple[Hashable, Hashable]],
        history: Iterable[tuple[Hashable, Hashable, int]],
        current_round: int,
        last_triad: Iterable[Hashable],
        seed: int | str,
        limits: Limits,
    ) -> None:
        self.limits = limits
        ordered = sorted(set(members), key=lambda m: (str(type(m)), m))
        random.Random(str(seed)).shuffle(ordered)
        self.ids: list[Hashable] = ordered
        pos = {member: index for index, member in enumerate(ordered)}
        n = len(ordered)
        self.n = n
        self.forb: list[set[int]] = [set() for _ in range(n)]
        self.conf: list[set[int]] = [set() for _ in range(n)]
        for a, b in not_with:
            i, j = pos.get(a), pos.get(b)
            if i is None or j is None or i == j:
                continue
            self.forb[i].add(j)
            self.forb[j].add(i)
            self.conf[i].add(j)
            self.conf[j].add(i)
        self.age: dict[tuple[int, int], int] = {}
        age = self.age
        conf = self.conf
        for a, b, met_round in history:
            i, j = pos.get(a), pos.get(b)
            if i is None or j is None or i == j:
                continue
            if i > j:
                i, j = j, i
            value = min(AGE_CAP, max(1, current_round - met_round))
            old = age.get((i, j))
            if old is None:
                conf[i].add(j)
                conf[j].add(i)
                age[(i, j)] = value
            elif value < old:
                age[(i, j)] = value  # the most recent meeting counts
        self.last_triad = {pos[m] for m in last_triad if m in pos}
        self._max_age = max(age.values(), default=1)

    # -- small helpers -------------------------------------------------------------------------

    def age_of(self, i: int, j: int) -> int:
        return self.age.get((i, j) if i < j else (j, i), 0)

    def group_cost(self, group: Sequence[int]) -> tuple[int, int]:
        """(repeats, total age) inside one group."""
        repeats = total = 0
        for i, j in combinations(group, 2):
            value = self.age_of(i, j)
            if value:
                repeats += 1
                total += value
        return repeats, total

    def key(self, pairs: _Pairs, triad: tuple[int, ...] | None) -> _Key:
        repeats = total = 0
        for pair in pairs.pairs:
            r, a = self.group_cost(pair)
            repeats += r
            total += a
        rotation = 0
        if triad is not None:
            r, a = self.group_cost(triad)
            repeats += r
            total += a
            rotation = sum(1 for v in triad if v in self.last_triad)
        return (len(pairs.unplaced), repeats, rotation, -total)

    # -- the whole round -----------------------------------------------------------------------

    def solve(self) -> Matching:
        # Members whose not-with rules exclude everyone else can only be told "not this time".
        alone = [v for v in range(self.n) if len(self.forb[v]) >= self.n - 1]
        everyone = [v for v in range(self.n) if len(self.forb[v]) < self.n - 1]
        if len(everyone) < 2:
            return self._result(_Pairs([], everyone, True), None, True, alone)
        base: _Pairs | None = None
        best: tuple[_Key, _Pairs, tuple[int, ...] | None] | None = None
        if len(everyone) % 2 == 0:
            base = self._pairs(everyone)
            if not base.unplaced:
                return self._result(base, None, base.exact, alone)
            best = (self.key(base, None), base, None)
        candidates, exhaustive = self._triad_candidates(everyone)
        all_exact = exhaustive
        for triad in candidates:
            chosen = set(triad)
            rest = self._pairs([v for v in everyone if v not in chosen])
            all_exact = all_exact and rest.exact
            key = self.key(rest, triad)
            if best is None or key < best[0]:
                best = (key, rest, triad)
            if key[:3] == (0, 0, 0):
                return self._result(rest, triad, True, alone)
        if base is None:
            base = self._pairs(everyone)
            key = self.key(base, None)
            if best is None or key < best[0]:
                best = (key, base, None)
        assert best is not None
        return self._result(best[1], best[2], all_exact and base.exact, alone)

    def _result(
        self, pairs: _Pairs, triad: tuple[int, ...] | None, exact: bool, alone: list[int]
    ) -> Matching:
        key = self.key(pairs, triad)
        ids = self.ids
        groups = [tuple(sorted((ids[i] for i in pair), key=_sort_key)) for pair in pairs.pairs]
        if triad is not None:
            groups.append(tuple(sorted((ids[i] for i in triad), key=_sort_key)))
        groups.sort(key=lambda group: [_sort_key(m) for m in group])
        return Matching(
            groups=tuple(groups),
            unplaced=tuple(sorted((ids[i] for i in [*pairs.unplaced, *alone]), key=_sort_key)),
            repeats=key[1],
            repeat_age=-key[3],
            triad_rotation=key[2],
            proven_optimal=exact or key[:3] == (0, 0, 0),
        )

    # -- triads --------------------------------------------------------------------------------

    def _triad_key(self, triad: tuple[int, ...]) -> tuple[int, int, int, tuple[int, ...]]:
        repeats, total = self.group_cost(triad)
        rotation = sum(1 for v in triad if v in self.last_triad)
        return (repeats, rotation, -total, triad)

    def _allowed_triple(self, a: int, b: int, c: int) -> bool:
        forb = self.forb
        return b not in forb[a] and c not in forb[a] and c not in forb[b]

    def _triad_candidates(self, vs: list[int]) -> tuple[list[tuple[int, ...]], bool]:
        """Candidate triads, most promising first, and whether they are all the allowed ones."""
        limits = self.limits
        if len(vs) <= limits.enumerate_triads:
            triples = [t for t in combinations(vs, 3) if self._allowed_triple(*t)]
            triples.sort(key=self._triad_key)
            if len(vs) <= limits.exhaustive_triads:
                return triples, True
            return triples[: limits.triad_candidates], False
        # Large groups: repeat-free triads, members outside the last triad first.
        conf = self.conf
        order = sorted(vs, key=lambda v: (v in self.last_triad, v))
        found: list[tuple[int, ...]] = []
        seen: set[tuple[int, ...]] = set()
        for t in order:
            near = [v for v in order[:200] if v != t and v not in conf[t]][:24]
            for a, b in combinations(near, 2):
                if b not in conf[a]:
                    triad = tuple(sorted((t, a, b)))
                    if triad not in seen:
                        seen.add(triad)
                        found.append(triad)
                    break
            if len(found) >= limits.triad_candidates:
                break
        if len(found) < limits.triad_candidates:
            head = order[: limits.enumerate_triads]
            extra = [
                t
                for t in combinations(sorted(head), 3)
                if self._allowed_triple(*t) and t not in seen
            ]
            extra.sort(key=self._triad_key)
            found.extend(extra[: limits.triad_candidates - len(found)])
        found.sort(key=self._triad_key)
        return found, False

    # -- pairs ---------------------------------------------------------------------------------

    def _pairs(self, vs: list[int]) -> _Pairs:
        """Pair up `vs` (in seeded order) optimally for (unplaced, repeats, -age)."""
        pairs, left = self._greedy(vs)
        if left:
            self._augment(pairs, left)
        if not left or (len(vs) % 2 == 1 and len(left) == 1):
            return _Pairs(pairs, left, True)  # nobody left who could be placed, no repeat made
        limits = self.limits
        if len(vs) <= limits.full_exact:
            return self._exact(vs)
        reduced = self._reduced(vs)
        if reduced is not None:
            return reduced
        if len(vs) <= limits.full_exact_max:
            return self._exact(vs)
        return self._fallback(pairs, left)

    def _greedy(self, vs: list[int]) -> tuple[list[tuple[int, int]], list[int]]:
        conf = self.conf
        n = len(vs)
        taken = [False] * n
        pairs: list[tuple[int, int]] = []
        left: list[int] = []
        for a in range(n):
            if taken[a]:
                continue
            taken[a] = True
            u = vs[a]
            cu = conf[u]
            b = a + 1
            while b < n and (taken[b] or vs[b] in cu):
                b += 1
            if b < n:
                taken[b] = True
                pairs.append((u, vs[b]))
            else:
                left.append(u)
        return pairs, left

    def _augment(self, pairs: list[tuple[int, int]], left: list[int]) -> None:
        """Place leftovers two at a time along free edges: directly, or through one matched pair
        (u-x, v-y instead of x-y). In a graph as dense as Dirac's theorem needs, this always
        succeeds; elsewhere it is a cheap first try, bounded by the budget."""
        conf = self.conf
        budget = self.limits.augment_budget
        progress = True
        while len(left) >= 2 and progress and budget > 0:
            progress = False
            for x, y in combinations(range(len(left)), 2):
                u, v = left[x], left[y]
                cu, cv = conf[u], conf[v]
                placed = False
                if v not in cu:
                    pairs.append((u, v))
                    placed = True
                else:
                    budget -= len(pairs)
                    for index, (p, q) in enumerate(pairs):
                        if p not in cu and q not in cv:
                            pairs[index] = (u, p)
                            pairs.append((v, q))
                            placed = True
                            break
                        if q not in cu and p not in cv:
                            pairs[index] = (u, q)
                            pairs.append((v, p))
                            placed = True
                            break
                if placed:
                    del left[y]
                    del left[x]
                    progress = True
                    break
                if budget <= 0:
                    break

    def _weights(self, size: int) -> tuple[int, int]:
        """(C, M): C > any sum of M-terms (cardinality first), M > any sum of ages."""
        half = size // 2 + 1
        big_m = (self._max_age + 1) * half
        return (2 * big_m + self._max_age + 1) * (size + 1) * 2, big_m

    def _exact(self, vs: list[int]) -> _Pairs:
        """Maximum-weight matching over every allowed pair of `vs`."""
        forb, conf = self.forb, self.conf
        c, m = self._weights(len(vs))
        edges = []
        for a in range(len(vs)):
            u = vs[a]
            fu, cu = forb[u], conf[u]
            for b in range(a + 1, len(vs)):
                v = vs[b]
                if v in fu:
                    continue
                edges.append((a, b, c + (self.age_of(u, v) if v in cu else m)))
        mate = max_weight_matching(edges)
        mate += [-1] * (len(vs) - len(mate))
        pairs = [(vs[a], vs[b]) for a, b in enumerate(mate) if b > a]
        unplaced = [vs[a] for a, b in enumerate(mate) if b < 0]
        return _Pairs(pairs, unplaced, True)

    # The hard set, the reduced graph and the check that the fast result is optimal read
    # together, as the module text argues them.
    # long: one proof in one place, as the module text argues it
    def _reduced(self, vs: list[int]) -> _Pairs | None:
        """Exact for large groups whose easy members are dense enough (see the module text);
        None when that condition does not hold."""
        n = len(vs)
        inside = set(vs)
        conf, forb = self.conf, self.forb
        degree = {v: n - 1 - sum(1 for u in conf[v] if u in inside) for v in vs}
        hard: set[int] = set()
        while True:
            threshold = n / 2 + len(hard)
            grown = {v for v in vs if degree[v] < threshold}
            if grown == hard:
                break
            hard = grown
            if len(hard) > self.limits.hard_max:
                return None
        easy = [v for v in vs if v not in hard]
        hard_list = [v for v in vs if v in hard]
        want = len(hard) + 1
        # Candidate edges: every allowed pair of hard members, and for each hard member enough
        # free and enough repeat partners among the easy ones.
        nodes: dict[int, int] = {}

        def node(v: int) -> int:
            if v not in nodes:
                nodes[v] = len(nodes)
            return nodes[v]

        c, m = self._weights(n)
        edges: list[tuple[int, int, int]] = []
        for a, b in combinations(hard_list, 2):
            if b in forb[a]:
                continue
            free = b not in conf[a]
            edges.append((node(a), node(b), 2 * c + (2 * m if free else self.age_of(a, b))))
        for h in hard_list:
            node(h)
            ch, fh = conf[h], forb[h]
            free_found = 0
            for e in easy:
                if e not in ch:
                    edges.append((node(h), node(e), c + m))
                    free_found += 1
                    if free_found >= want:
                        break
            met = [e for e in ch if e in inside and e not in hard and e not in fh]
            met.sort(key=lambda e: (-self.age_of(h, e), e))
            for e in met[:want]:
                # C must keep every weight positive: -M for the easy partner this uses up.
                edges.append((node(h), node(e), c - m + self.age_of(h, e)))
        back = {index: v for v, index in nodes.items()}
        mate = max_weight_matching(edges) if edges else []
        pairs: list[tuple[int, int]] = []
        used: set[int] = set()
        unplaced: list[int] = []
        for index, other in enumerate(mate):
            if other > index:
                pairs.append((back[index], back[other]))
                used.update((back[index], back[other]))
        unplaced = [h for h in hard_list if h not in used]
        rest = [e for e in easy if e not in used]
        more, left = self._greedy(rest)
        if left:
            self._augment(more, left)
        if len(left) > len(rest) % 2:
            return None  # should not happen under the density condition; let the caller go on
        return _Pairs(pairs + more, unplaced + left, True)

    def _fallback(self, pairs: list[tuple[int, int]], left: list[int]) -> _Pairs:
        """Very large and unusually constrained: pair the leftovers among themselves, oldest
        meetings first. Good, not proven optimal."""
        forb = self.forb
        options = sorted(
            ((-self.age_of(u, v), u, v) for u, v in combinations(left, 2) if v not in forb[u]),
        )
        placed: set[int] = set()
        extra = []
        for _, u, v in options:
            if u not in placed and v not in placed:
                placed.update((u, v))
                extra.append((u, v))
        return _Pairs(pairs + extra, [v for v in left if v not in placed], False)


def _sort_key(member: Hashable) -> tuple[str, Hashable]:
    return (str(type(member)), member)
