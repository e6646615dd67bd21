"""Who is paired with whom in a round. Pure: no I/O, no clock; deterministic for a given seed.

The rules, in order of importance:

1. Hard constraints (preferences.py), never broken: two members where either has the other on a
   not-with list are never placed together; two members who both set languages and share none
   are never paired, and a triad shares one language across all who set one.
2. Place everyone who can be placed: pairs of two and, when the count is odd, exactly one group
   of three. A member is left unplaced only when the hard constraints leave no group for them.
3. Make as few repeat pairings as possible (a repeat is two members who met in a kept round,
   unless both asked to meet again; in a triad each of its three pairs counts). So no repeat
   while a repeat-free grouping exists.
4. A member of the last triad is not put in this one when that is avoidable.
5. When repeats cannot be avoided, repeat the pairs that met longest ago (largest total age, in
   rounds since they met).
6. Then the preference score (preferences.py: `pair_score` summed over the pairs of each group,
   a mutual meet-again wish weighing most) as high as possible. A one-sided wish counts for
   nothing.

Rules 2, 3, 5 and 6 for pairs are one maximum-weight matching with integer weights
C + M (never met) or C + A * age (met), plus the pair's score, where A is more than any
matching's total score, M more than any matching's total of the rest and C more than that again
(see `_exact`), so the order of the rules is exact. When nobody set a preference (and no wish
is mutual) rule 6 is void and the fast paths below are exact; otherwise groups up to
`Limits.score_exact` are solved by the exact matching (and odd groups up to
`Limits.exhaustive_triads` try every triad), and larger groups get a heuristic that keeps rules
1-5 exact: greedy along repeat-free allowed pairs in an order that puts alike members side by
side (mutual wishes first), the exact rules 1-5 machinery below for any leftovers, then pair
swaps that never add a repeat or lose age, within `Limits.improve_steps` steps, then the pairs
that score below what an alike partner would give are re-paired by the exact matching, a window
of `Limits.window` members at a time (`Limits.windows` windows). Budgets are counts, not times,
so results do not depend on the machine (matching_prefs.py holds these steps).
`proven_optimal` is then False; bench/pairing.py measures the gap to the exact optimum.

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
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.features.pairing.blossom import max_weight_matching
from bot.features.pairing.matching_prefs import PAIR_SCORE_MAX, PairScores, improve, rematch
from bot.features.pairing.preferences import Community, Preferences

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
    score_exact: int = 300  # with preferences, groups up to this size get the exact matching
    improve_steps: int = 60_000  # with preferences, most pair swaps tried on larger groups
    window: int = 60  # with preferences, members re-paired exactly at a time on larger groups
    windows: int = 20  # and how many such windows


@dataclass(frozen=True)
class Matching:
    groups: tuple[tuple[Hashable, ...], ...]  # pairs, and at most one triad
    unplaced: tuple[Hashable, ...]  # members the hard constraints left without a group
    repeats: int  # pairs inside groups who had met before (and did not both ask to meet again)
    repeat_age: int  # their total age (rounds since they met): larger is better
    triad_rotation: int  # members of the last triad who are in this round's triad
    proven_optimal: bool  # the result is optimal for rules 1-6, not just good
    score: int = 0  # total preference score of the groups (rule 6)

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
    preferences: Mapping[Hashable, Preferences] | None = None,
    again: Iterable[tuple[Hashable, Hashable]] = (),
) -> Matching:
    """Group `members` for round `current_round`.

    `not_with`: pairs (either direction) who must never be together.
    `history`: (a, b, round) for every two members who were in a group in a kept round.
    `last_triad`: the members of the most recent triad.
    `preferences`: each member's preferences (missing: nothing set).
    `again`: (who asked, whom) meet-again wishes, one-sided ones included; only mutual ones count.
    """
    return _MatchingInstance(
        members, not_with, history, current_round, last_triad, seed, limits or Limits(), preferences or {}, again
    ).solve()



def match_community(
    c: Community, *, last_triad: Iterable[Hashable] = (), seed: int | str = 0, limits: Limits | None = None
) -> Matching:
    """`match` on the value circles.py takes (callers leave the paused out of `members`)."""
    return match(
        c.members, not_with=c.not_with, history=c.history, current_round=c.current_round,
        last_triad=last_triad, seed=seed, limits=limits, preferences=c.preferences, again=c.again,
    )

# --------------------------------------------------------------------------------------------


@dataclass
class _Pairs:
    pairs: list[tuple[int, int]]
    unplaced: list[int]
    exact: bool


_Key = tuple[int, int, int, int, int]  # (unplaced, repeats, rotation, -age, -score): smaller is better


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
        preferences: Mapping[Hashable, Preferences],
        again: Iterable[tuple[Hashable, Hashable]],
    ) -> None:
        self.limits = limits
        self.seed = str(seed)
        ordered = sorted(set(members), key=lambda m: (str(type(m)), m))
        random.Random(str(seed)).shuffle(ordered)
        self.ids: list[Hashable] = ordered
        pos = {member: index for index, member in enumerate(ordered)}
        n = len(ordered)
        self.n = n
        self.scores = scores = PairScores(ordered, preferences, again)
        self.lang, self.mutual, self.scored = scores.lang, scores.mutual, scores.scored
        self.score = scores.score
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
            if (i, j) in self.mutual:
                continue  # both asked to meet again: not a repeat (rule 3)
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

    def apart(self, i: int, j: int) -> bool:
        """Whether a hard constraint keeps i and j out of one group."""
        return j in self.forb[i] or not self.lang[i] & self.lang[j]

    def group_cost(self, group: Sequence[int]) -> tuple[int, int, int]:
        """(repeats, total age, score) inside one group."""
        repeats = total = score = 0
        for i, j in combinations(group, 2):
            value = self.age_of(i, j)
            if value:
                repeats += 1
                total += value
            if self.scored:
                score += self.score(i, j)
        return repeats, total, score

    def key(self, pairs: _Pairs, triad: tuple[int, ...] | None) -> _Key:
        repeats = total = score = 0
        for pair in pairs.pairs:
            r, a, s = self.group_cost(pair)
            repeats += r
            total += a
            score += s
        rotation = 0
        if triad is not None:
            r, a, s = self.group_cost(triad)
            repeats += r
            total += a
            score += s
            rotation = sum(1 for v in triad if v in self.last_triad)
        return (len(pairs.unplaced), repeats, rotation, -total, -score)

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
        # With preferences and a partial list of triads the result is not proven anyway: rank
        # the triads by rules 1-5 alone (the fast paths), and pair the rest with preferences
        # for the chosen triad only.
        ranking = self.scored and not exhaustive
        all_exact = exhaustive
        for triad in candidates:
            chosen = set(triad)
            rest_members = [v for v in everyone if v not in chosen]
            rest = self._pairs_rules(rest_members) if ranking else self._pairs(rest_members)
            all_exact = all_exact and rest.exact
            key = self.key(rest, triad)
            if best is None or key < best[0]:
                best = (key, rest, triad)
            if key[:3] == (0, 0, 0) and not (self.scored and exhaustive):
                if not ranking:
                    return self._result(rest, triad, True, alone)
                break  # nothing better for rules 1-5 (rule 6 is not proven on this path)
        if base is None and (best is None or best[0][0] > 0):
            # Pairs alone leave someone out of an odd group: only worth it when no triad
            # placed everyone.
            base = self._pairs(everyone)
            key = self.key(base, None)
            if best is None or key < best[0]:
                best = (key, base, None)
        assert best is not None
        all_exact = all_exact and (base is None or base.exact)
        _key, pairs, triad = best
        if ranking and triad is not None:
            rest_members = [v for v in everyone if v not in triad]
            if len(rest_members) <= self.limits.score_exact:
                pairs = self._exact(rest_members)
            else:
                pairs = self._raise_score(pairs)  # the rules 1-5 pairs found while ranking
        return self._result(pairs, triad, all_exact and not ranking, alone)

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
            proven_optimal=exact or (not self.scored and key[:3] == (0, 0, 0)),
            score=-key[4],
        )

    # -- triads --------------------------------------------------------------------------------

    def _triad_key(self, triad: tuple[int, ...]) -> tuple[int, int, int, int, tuple[int, ...]]:
        repeats, total, score = self.group_cost(triad)
        rotation = sum(1 for v in triad if v in self.last_triad)
        return (repeats, rotation, -total, -score, triad)

    def _allowed_triple(self, a: int, b: int, c: int) -> bool:
        forb, lang = self.forb, self.lang
        return (
            b not in forb[a]
            and c not in forb[a]
            and c not in forb[b]
            and lang[a] & lang[b] & lang[c] != 0  # one language shared by the whole triad
        )

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
                if b not in conf[a] and self._allowed_triple(t, a, b):
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
        """Pair up `vs`: optimally for (unplaced, repeats, -age, -score) when small or when nobody
        set preferences; otherwise optimally for the first three and the score improved."""
        if self.scored and len(vs) <= self.limits.score_exact:
            return self._exact(vs)
        found = self._pairs_rules(vs)
        return self._raise_score(found) if self.scored else found

    def _raise_score(self, found: _Pairs) -> _Pairs:
        """The score raised without touching rules 1-5 (pair swaps, then exact windows)."""
        limits = self.limits
        steps = limits.improve_steps
        improve(found.pairs, self.scores, self.age_of, self.apart, self._max_age, self.seed, steps)
        rematch(found.pairs, self.scores, self._exact_pairs, limits.window, limits.windows)
        return _Pairs(found.pairs, found.unplaced, False)

    def _pairs_rules(self, vs: list[int]) -> _Pairs:
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
        conf, lang = self.conf, self.lang
        pairs: list[tuple[int, int]] = []
        if self.scored:
            vs, pairs = self.scores.alike_order(vs, self.conf)
        n = len(vs)
        taken = [False] * n
        left: list[int] = []
        for a in range(n):
            if taken[a]:
                continue
            taken[a] = True
            u = vs[a]
            cu = conf[u]
            lu = lang[u]
            b = a + 1
            while b < n and (taken[b] or vs[b] in cu or not lu & lang[vs[b]]):
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
        conf, lang = self.conf, self.lang
        budget = self.limits.augment_budget
        progress = True
        while len(left) >= 2 and progress and budget > 0:
            progress = False
            for x, y in combinations(range(len(left)), 2):
                u, v = left[x], left[y]
                cu, cv = conf[u], conf[v]
                lu, lv = lang[u], lang[v]
                placed = False
                if v not in cu and lu & lv:
                    pairs.append((u, v))
                    placed = True
                else:
                    budget -= len(pairs)
                    for index, (p, q) in enumerate(pairs):
                        if p not in cu and q not in cv and lu & lang[p] and lv & lang[q]:
                            pairs[index] = (u, p)
                            pairs.append((v, q))
                            placed = True
                            break
                        if q not in cu and p not in cv and lu & lang[q] and lv & lang[p]:
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

    def _exact_pairs(self, vs: list[int]) -> tuple[list[tuple[int, int]], list[int]]:
        found = self._exact(vs)
        return found.pairs, found.unplaced

    def _exact(self, vs: list[int]) -> _Pairs:
        """Maximum-weight matching over every allowed pair of `vs`."""
        forb, conf, lang = self.forb, self.conf, self.lang
        c, m = self._weights(len(vs))
        unit = 1
        if self.scored:
            # See the module text: A (unit) > any matching's score, M > any matching's
            # A * age + score, C > any matching's M + A * age + score.
            most = len(vs) // 2 + 1
            unit = most * PAIR_SCORE_MAX + 1
            top = self._max_age * unit + PAIR_SCORE_MAX
            m = most * top + 1
            c = most * (m + top) + 1
        edges = []
        for a in range(len(vs)):
            u = vs[a]
            fu, cu, lu = forb[u], conf[u], lang[u]
            for b in range(a + 1, len(vs)):
                v = vs[b]
                if v in fu or not lu & lang[v]:
                    continue
                weight = c + (self.age_of(u, v) * unit if v in cu else m)
                if self.scored:
                    weight += self.score(u, v)
                edges.append((a, b, weight))
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
        conf = self.conf
        lang = self.lang
        masks = Counter(lang[v] for v in vs)

        def blocked(v: int) -> int:
            """Members of `vs` that v met, may not meet or shares no language with."""
            lv = lang[v]
            other_language = sum(count for mask, count in masks.items() if not mask & lv)
            met = [u for u in conf[v] if u in inside]
            return len(met) + other_language - sum(1 for u in met if not lang[u] & lv)

        degree = {v: n - 1 - blocked(v) for v in vs}
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
            if self.apart(a, b):
                continue
            free = b not in conf[a]
            edges.append((node(a), node(b), 2 * c + (2 * m if free else self.age_of(a, b))))
        for h in hard_list:
            node(h)
            ch, lh = conf[h], lang[h]
            free_found = 0
            for e in easy:
                if e not in ch and lh & lang[e]:
                    edges.append((node(h), node(e), c + m))
                    free_found += 1
                    if free_found >= want:
                        break
            met = [e for e in ch if e in inside and e not in hard and not self.apart(h, e)]
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
        options = sorted(
            ((-self.age_of(u, v), u, v) for u, v in combinations(left, 2) if not self.apart(u, v)),
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
