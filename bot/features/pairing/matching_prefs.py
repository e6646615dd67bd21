"""Preferences inside the pair matcher (matching.py). Pure: no I/O, no clock.

`PairScores` holds, per member (by index in the matcher's seeded order), the language rule as a
bit mask, the preference profile and the mutual meet-again wishes, and gives the score of two
members (preferences.pair_score, read off once per pair of values). `improve` and `rematch` are
the two score-raising steps of the large-group heuristic (see matching.py's module text); both
leave rules 1-5 as they found them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

from bot.features.pairing.preferences import Preferences, Slot, Style, mutual_wishes, pair_score

_UNSET = Preferences()
# The largest score one pair can have, read off pair_score itself so no weight is repeated here.
PAIR_SCORE_MAX = pair_score(
    _full := Preferences(utc_offset_minutes=0, free=frozenset(Slot), style=Style.LIGHTER),
    _full,
    mutual=True,
)
MUTUAL_BONUS = pair_score(_UNSET, _UNSET, mutual=True)  # what a mutual wish adds to a pair

Pair = tuple[int, int]


class PairScores:
    def __init__(
        self,
        ordered: Sequence[Hashable],
        preferences: Mapping[Hashable, Preferences],
        again: Iterable[tuple[Hashable, Hashable]],
    ) -> None:
        pos = {member: index for index, member in enumerate(ordered)}
        prefs = [preferences.get(member, _UNSET) for member in ordered]
        # Languages as bit masks (every bit when not set), so "share one" is a nonzero AND; kept
        # out of the matcher's not-with sets, which would grow to thousands of entries a member.
        codes: dict[str, int] = {}
        self.lang: list[int] = []
        for p in prefs:
            mask = 0
            for code in sorted(p.languages):
                mask |= 1 << codes.setdefault(code, len(codes))
            self.lang.append(mask or -1)
        # Scores depend on (timezone, free times, style) only: members alike in those share one
        # profile, and the score of two profiles is computed once.
        profiles: dict[tuple[object, ...], int] = {}
        self.profile: list[int] = []
        self._profile_prefs: list[Preferences] = []
        for p in prefs:
            key = (p.utc_offset_minutes, tuple(sorted(s.value for s in p.free)), p.style)
            if key not in profiles:
                profiles[key] = len(profiles)
                self._profile_prefs.append(
                    Preferences(utc_offset_minutes=p.utc_offset_minutes, free=p.free, style=p.style)
                )
            self.profile.append(profiles[key])
        self._profile_score: dict[tuple[int, int], int] = {}
        # pair_score is a sum of one term per preference (preferences.py), so each term is read
        # off pair_score with only that preference set, once per pair of values, and a profile
        # pair costs three look-ups: no weight is repeated here, and no call per profile pair.
        self._terms: list[dict[tuple[object, object], int]] = [{}, {}, {}]
        self.mutual: set[Pair] = set()
        for wish in mutual_wishes(again):
            a, b = tuple(wish)
            i, j = pos.get(a), pos.get(b)
            if i is not None and j is not None:
                self.mutual.add((min(i, j), max(i, j)))
        # Rule 6 is void when no pair can score: then the rules 1-5 paths alone are exact.
        self.scored = bool(self.mutual) or any(
            p.utc_offset_minutes is not None or p.free or p.style is not None for p in prefs
        )

    def score(self, i: int, j: int) -> int:
        """The preference score of i and j in one group (preferences.pair_score)."""
        pi, pj = self.profile[i], self.profile[j]
        key = (pi, pj) if pi < pj else (pj, pi)
        value = self._profile_score.get(key)
        if value is None:
            value = self._profile_pair_score(*key)
            self._profile_score[key] = value
        if self.mutual and ((i, j) if i < j else (j, i)) in self.mutual:
            return value + MUTUAL_BONUS
        return value

    def _profile_pair_score(self, first: int, second: int) -> int:
        a, b = self._profile_prefs[first], self._profile_prefs[second]
        total = 0
        for terms, x, y, only in (
            (self._terms[0], a.utc_offset_minutes, b.utc_offset_minutes, "utc_offset_minutes"),
            (self._terms[1], a.free, b.free, "free"),
            (self._terms[2], a.style, b.style, "style"),
        ):
            value = terms.get((x, y))
            if value is None:
                value = pair_score(Preferences(**{only: x}), Preferences(**{only: y}))
                terms[(x, y)] = value
            total += value
        return total

    def alike_order(self, vs: list[int], met: Sequence[set[int]]) -> tuple[list[int], list[Pair]]:
        """Mutual wishes paired first (where `met`, the matcher's repeats and not-with sets, and
        the languages allow), and the rest of `vs` ordered so that members alike in language,
        timezone, free times and style sit side by side: a greedy along that order pairs mostly
        alike members, whose score is the highest there is."""
        inside = set(vs)
        used: set[int] = set()
        pairs: list[Pair] = []
        for i, j in sorted(self.mutual):
            if i in inside and j in inside and i not in used and j not in used:
                if j not in met[i] and self.lang[i] & self.lang[j]:
                    pairs.append((i, j))
                    used.update((i, j))
        return sorted((v for v in vs if v not in used), key=self.alike_key), pairs

    def alike_key(self, v: int) -> tuple[int, int, tuple[str, ...], str, int]:
        """Sorting by this puts members alike in language, timezone, free times, style together."""
        p = self._profile_prefs[self.profile[v]]
        offset = -10_000 if p.utc_offset_minutes is None else p.utc_offset_minutes
        free = tuple(sorted(s.value for s in p.free))
        return (self.lang[v], offset, free, "" if p.style is None else p.style.value, v)


def improve(
    pairs: list[Pair],
    scores: PairScores,
    age_of: Callable[[int, int], int],
    apart: Callable[[int, int], bool],
    max_age: int,
    seed: str,
    steps: int,
) -> None:
    """Raise the score by swapping partners between two pairs, (a, b), (c, d) becoming (a, c),
    (b, d), only when that keeps the hard constraints (`apart`) and is better for (repeats, -age,
    -score): rules 1-5 never get worse. Mutual wishes are tried first; then half the tries take c
    alike to a (same profile), half anywhere. At most `steps` tries."""
    count = len(pairs)
    if count < 2:
        return
    rng = random.Random(seed + "/improve")
    profile, score = scores.profile, scores.score
    where: dict[int, int] = {}
    alike: dict[int, list[int]] = {}
    for index, (u, v) in enumerate(pairs):
        where[u] = where[v] = index
        alike.setdefault(profile[u], []).append(u)
        alike.setdefault(profile[v], []).append(v)
    # One integer per pair, ordered like (fewer repeats, more age, more score) over two pairs.
    unit = 2 * PAIR_SCORE_MAX + 1
    repeat = 2 * (max_age * unit + PAIR_SCORE_MAX) + 1

    def value(u: int, v: int) -> int:
        age = age_of(u, v)
        return score(u, v) - (repeat - age * unit if age else 0)

    def swap(a: int, c: int) -> None:
        """(a, b), (c, d) become (a, c), (b, d) when that is allowed and better."""
        x, y = where[a], where[c]
        if x == y:
            return
        p, q = pairs[x]
        b = q if a == p else p
        p, q = pairs[y]
        d = q if c == p else p
        gain = value(a, c) + value(b, d) - value(a, b) - value(c, d)
        if gain > 0 and not apart(a, c) and not apart(b, d):
            pairs[x] = (a, c)
            pairs[y] = (b, d)
            where[c] = x
            where[b] = y

    # Random tries would rarely bring two given members together.
    for a, c in sorted(scores.mutual):
        if a in where and c in where:
            swap(a, c)
    for step in range(steps):
        a = pairs[rng.randrange(count)][1 if step & 2 else 0]
        if step & 1:
            swap(a, rng.choice(alike[profile[a]]))
        else:
            swap(a, pairs[rng.randrange(count)][1 if step & 4 else 0])


def rematch(
    pairs: list[Pair],
    scores: PairScores,
    exact: Callable[[list[int]], tuple[list[Pair], list[int]]],
    window: int,
    windows: int,
) -> None:
    """Re-pair exactly (`exact`: the matcher's maximum-weight matching, giving pairs and
    unplaced), `window` members at a time and at most `windows` times, the pairs that score less
    than one of their members could get with an alike partner (same profile). A window's current
    pairs are a perfect matching of it, so the exact one is at least as good on every rule: a
    large-neighbourhood step with an exact inner solver. Windows run along the alike order,
    where the members who could suit each other sit close."""
    size = max(2, window // 2)  # pairs per window
    score, alike = scores.score, scores.alike_key
    budget = windows
    shift = 0
    while budget > 0:
        weak = [
            index
            for index, (u, v) in enumerate(pairs)
            if score(u, v) < max(score(u, u), score(v, v))
        ]
        weak.sort(key=lambda index: min(alike(pairs[index][0]), alike(pairs[index][1])))
        changed = False
        # Passes alternate their start by half a window, so pairs that one window boundary kept
        # apart share a window next time.
        for first in range(shift, len(weak), size):
            chunk = weak[first : first + size]
            if len(chunk) < 2 or budget <= 0:
                break
            budget -= 1
            found, unplaced = exact([v for index in chunk for v in pairs[index]])
            if unplaced:
                continue  # cannot happen (the current pairs are perfect); keep them if it does
            before = sum(score(*pairs[index]) for index in chunk)
            for index, pair in zip(chunk, found, strict=True):
                pairs[index] = pair
            changed |= sum(score(*pair) for pair in found) > before
        if not changed:
            break
        shift = size // 2 if shift == 0 else 0
