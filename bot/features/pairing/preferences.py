"""What a member would like from a grouping, and how a group is scored. Pure: no I/O, no clock.

Hard constraints (never broken by any grouping):
- two members where either has the other on a not-with list are never in one group;
- members who set languages share at least one language with every other member of the group who
  set languages (the whole group, not just pairwise: {en, fr}, {fr, de}, {de, en} is not allowed);
- paused members are not grouped at all;
- group sizes come from the chosen size (see circles.py).

The soft score of a group is the sum over its pairs of `pair_score`, with these weights (all
integers, so exact solvers and brute force compare scores exactly):
- mutual meet-again: MUTUAL_AGAIN = 100, more than all the other terms of one pair together
  (at most 14 + 20 + 10 = 44), because both members asked for it by name;
- shared waking hours: 1 per hour of overlap of the two local 08:00-22:00 windows (0..14): the
  timezone decides whether a conversation can happen at all, so it weighs most of the rest;
- shared usual free times: SLOT_WEIGHT = 5 per shared slot (0..20);
- same conversation style (lighter / deeper): SAME_STYLE = 10.
A preference somebody did not set adds nothing, so it neither helps nor hurts them. Scores only
order groupings; nothing derived from them is ever shown to anyone.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MUTUAL_AGAIN = 100
SLOT_WEIGHT = 5
SAME_STYLE = 10
WAKING_HOURS = 14  # 08:00-22:00 local
WAKING_START = 8


class Slot(Enum):
    WEEKDAY_MORNINGS = "weekday mornings"
    WEEKDAY_AFTERNOONS = "weekday afternoons"
    WEEKDAY_EVENINGS = "weekday evenings"
    WEEKENDS = "weekends"


class Style(Enum):
    LIGHTER = "lighter"
    DEEPER = "deeper"


_SLOT_BIT = {slot: 1 << index for index, slot in enumerate(Slot)}


@dataclass(frozen=True)
class Preferences:
    """One member's preferences; every field may be left unset."""

    languages: frozenset[str] = frozenset()  # codes such as "en"; empty: not set
    utc_offset_minutes: int | None = None  # see `utc_offset`; None: not set
    free: frozenset[Slot] = frozenset()
    style: Style | None = None

    @property
    def is_set(self) -> bool:
        return (
            bool(self.languages or self.free)
            or self.utc_offset_minutes is not None
            or (self.style is not None)
        )


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def utc_offset(timezone: str, at: datetime) -> int | None:
    """Minutes east of UTC for an IANA name ("Europe/Berlin", at the instant `at`, so summer time
    counts) or an offset ("UTC+5:30", "-3"); None when it is neither."""
    text = timezone.strip()
    if text.lower() in ("utc", "gmt", "z"):
        return 0
    found = _OFFSET.match(text)
    if found:
        sign, hours, minutes = found.groups()
        total = int(hours) * 60 + int(minutes or 0)
        if total > 14 * 60 or int(minutes or 0) >= 60:
            return None
        return -total if sign == "-" else total
    try:
        offset = at.astimezone(ZoneInfo(text)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if offset is None else int(offset.total_seconds() // 60)


def waking_overlap_hours(offset_a: int, offset_b: int) -> int:
    """Whole hours in which both members are between 08:00 and 22:00 local time (0..14)."""
    shift = (offset_a - offset_b) % (24 * 60)
    window = WAKING_HOURS * 60
    overlap = max(0, window - shift) + max(0, shift + window - 24 * 60)
    return min(WAKING_HOURS, overlap // 60)


def mutual_wishes(wishes: Iterable[tuple[Hashable, Hashable]]) -> frozenset[frozenset[Hashable]]:
    """From (who asked, whom) meet-again wishes, the pairs where both asked. A one-sided wish is
    dropped here and never counts for anything."""
    asked = {(a, b) for a, b in wishes if a != b}
    return frozenset(frozenset((a, b)) for a, b in asked if (b, a) in asked)


def pair_score(a: Preferences, b: Preferences, mutual: bool = False) -> int:
    """The soft score of two members being in one group (see the module text for the weights)."""
    score = MUTUAL_AGAIN if mutual else 0
    if a.utc_offset_minutes is not None and b.utc_offset_minutes is not None:
        score += waking_overlap_hours(a.utc_offset_minutes, b.utc_offset_minutes)
    score += SLOT_WEIGHT * len(a.free & b.free)
    if a.style is not None and a.style == b.style:
        score += SAME_STYLE
    return score


def shared_language(members: Iterable[Preferences]) -> bool:
    """True when the members who set languages have at least one in common (or none set any)."""
    common: frozenset[str] | None = None
    for prefs in members:
        if prefs.languages:
            common = prefs.languages if common is None else common & prefs.languages
            if not common:
                return False
    return True


@dataclass(frozen=True)
class Community:
    """Everything a grouping needs to know, already read from storage."""

    members: tuple[Hashable, ...]
    preferences: dict[Hashable, Preferences] = field(default_factory=dict)
    not_with: tuple[tuple[Hashable, Hashable], ...] = ()
    paused: frozenset[Hashable] = frozenset()
    history: tuple[tuple[Hashable, Hashable, int], ...] = ()  # (a, b, round they met)
    again: tuple[tuple[Hashable, Hashable], ...] = ()  # (who asked, whom): one-sided wishes too
    current_round: int = 0

    def prefs(self, member: Hashable) -> Preferences:
        return self.preferences.get(member, _UNSET)


_UNSET = Preferences()


def violations(group: Iterable[Hashable], community: Community) -> list[str]:
    """The hard constraints `group` breaks (empty when none); sizes are checked by the caller."""
    members = list(group)
    found: list[str] = []
    blocked = {frozenset(pair) for pair in community.not_with}
    if any(frozenset((a, b)) in blocked for i, a in enumerate(members) for b in members[i + 1 :]):
        found.append("not-with")
    if not shared_language(community.prefs(m) for m in members):
        found.append("language")
    if any(m in community.paused for m in members):
        found.append("paused")
    if len(set(members)) != len(members):
        found.append("duplicate")
    return found


def group_score(group: Iterable[Hashable], community: Community) -> int:
    """The soft score of one group: the sum of `pair_score` over its pairs."""
    members = list(group)
    mutual = mutual_wishes(community.again)
    return sum(
        pair_score(community.prefs(a), community.prefs(b), frozenset((a, b)) in mutual)
        for i, a in enumerate(members)
        for b in members[i + 1 :]
    )


def slot_bits(slots: Iterable[Slot]) -> int:
    bits = 0
    for slot in slots:
        bits |= _SLOT_BIT[slot]
    return bits
