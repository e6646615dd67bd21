"""Carrying circles on into the next round (`pair schedule ... together N`): who joins which circle.
Pure: no I/O, no clock; deterministic for a given seed.

The circles that carry on are given (rounds.py takes out whoever is no longer free or put someone in
their circle on their not-with list). Newcomers (people who joined, came back from a pause, or lost
their circle) are placed so that, in order:
1. no hard constraint is broken (preferences.violations: not-with, a shared language);
2. everyone is placed when there is any place: first into a circle where they meet nobody again
   (one with room below the chosen size, else one at the size), then into circles with room
   (below the chosen size), fewest earlier meetings first; then, three or more left, into new circles of their own
   (circles.group_circles); then into circles one over the chosen size (never over MAX_SIZE); then
   the last two together as a pair;
3. nobody is ever put in a circle of one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import replace

from bot.features.pairing.circles import MAX_SIZE, MIN_SIZE, group_circles
from bot.features.pairing.preferences import Community, violations


def place_newcomers(
    community: Community,
    kept: list[tuple[Hashable, ...]],
    newcomers: list[Hashable],
    size: int,
    *,
    seed: int | str = 0,
) -> tuple[list[tuple[Hashable, ...]], list[Hashable]]:
    """(the groups of the round, who is left without one)."""
    met = {frozenset((a, b)) for a, b, _ in community.history}
    circles = [list(circle) for circle in kept]

    def order(member: Hashable) -> bytes:
        return hashlib.sha256(f"{seed}:{member!r}".encode()).digest()

    def fits(circle: list[Hashable], member: Hashable) -> bool:
        return not violations([*circle, member], community)

    def seat(member: Hashable, room: int, repeat: bool = True) -> bool:
        """Into the allowed circle below `room` members where they met fewest, smallest first
        (with `repeat` False, only a circle where they met nobody)."""
        options = [
            (sum(frozenset((member, other)) in met for other in circle), len(circle), index)
            for index, circle in enumerate(circles)
            if len(circle) < room and fits(circle, member)
        ]
        options = [option for option in options if repeat or not option[0]]
        if not options:
            return False
        circles[min(options)[2]].append(member)
        return True

    # A circle of people someone already met (the one they stepped out of, say) is their place
    # only when there is no other: first places where they meet nobody again, then the rest.
    rest = [m for m in sorted(newcomers, key=order) if not seat(m, size, repeat=False)]
    rest = [m for m in rest if not seat(m, min(MAX_SIZE, size + 1), repeat=False)]
    rest = [m for m in rest if not seat(m, size)]
    if len(rest) >= MIN_SIZE:
        fresh = group_circles(replace(community, members=tuple(rest)), size, seed=seed)
        circles.extend(list(group) for group in fresh.groups)
        rest = list(fresh.unplaced)
    rest = [m for m in rest if not seat(m, min(MAX_SIZE, size + 1))]
    if len(rest) == 2 and not violations(rest, community):
        circles.append(rest)
        rest = []
    return [tuple(circle) for circle in circles if circle], rest
