"""Which depths of the question bank a space draws from, and for whom.

A facilitator sets the space's mix with `questions depth light|mixed|deep`. Group questions
follow the mix directly. Pair openers also deepen with how many rounds the same people have
already been paired together ("rounds together"): strangers always begin light, and deep
questions come only to people who have met at least twice before. A deep question without a content note is never chosen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from bot.texts.catalog import DEPTHS, Question

DEPTH_MIXES = ("light", "mixed", "deep")
DEFAULT_MIX = "mixed"


def group_depths(mix: str) -> tuple[str, ...]:
    if mix == "light":
        return ("light",)
    if mix == "deep":
        return ("medium", "deep")
    return DEPTHS


def pair_depths(mix: str, rounds_together: int) -> tuple[str, ...]:
    """Light for people meeting for the first time, medium the second time; after that a mixed
    space alternates deep and medium rounds (a deep conversation every round can wear people
    out), and a deep space stays deep."""
    if rounds_together <= 0 or mix == "light":
        return ("light",)
    if mix == "deep":
        return ("medium", "deep") if rounds_together == 1 else ("deep",)
    if rounds_together == 1 or rounds_together % 2 == 1:
        return ("medium",)
    return ("deep",)


def opener_depths(mix: str, rounds_together: int, styles: Iterable[str | None] = ()) -> tuple[str, ...]:
    """`pair_depths`, moved by how the group's members said they like conversations to go
    (`pair prefs style`). Anyone asking for lighter is followed: one step lighter than the
    space would offer. Only when everyone who chose asked for deeper (and someone did) does the
    opener reach one step deeper, never past the space's "light" mix and never deep for people
    meeting for the first time: a preference cannot undo the space's own pace."""
    base = pair_depths(mix, rounds_together)
    chosen = [style for style in styles if style]
    if "lighter" in chosen:
        return (DEPTHS[max(0, DEPTHS.index(base[0]) - 1)],)
    if not chosen or mix == "light":
        return base
    # Strangers start light, so one step deeper for them is medium, never deep.
    deeper = DEPTHS[min(len(DEPTHS) - 1, DEPTHS.index(base[-1]) + 1)]
    return base if deeper in base else (*base, deeper)


def usable(question: Question) -> bool:
    # The content note is what lets someone choose before reading a deep question.
    return question.depth != "deep" or bool(question.content_note.strip())


def at_depths(questions: Iterable[Question], depths: Sequence[str]) -> list[Question]:
    """The questions at the wanted depths; if there are none (a small translated bank), the
    nearest lighter depth that has some, never a deeper one."""
    usable_ones = [q for q in questions if usable(q)]
    wanted = [q for q in usable_ones if q.depth in depths]
    if wanted:
        return wanted
    deepest = max(DEPTHS.index(d) for d in depths)
    for depth in reversed(DEPTHS[:deepest]):
        lighter = [q for q in usable_ones if q.depth == depth]
        if lighter:
            return lighter
    return []


def pick(questions: Sequence[Question], *salt: object, avoid: Iterable[str] = ()) -> Question | None:
    """A seeded, stable choice, preferring questions not in `avoid` (already seen)."""
    if not questions:
        return None
    avoided = set(avoid)
    fresh = [q for q in questions if q.id not in avoided] or list(questions)
    key = ":".join(str(part) for part in salt)
    return min(fresh, key=lambda q: hashlib.sha256(f"{key}:{q.id}".encode()).digest())
