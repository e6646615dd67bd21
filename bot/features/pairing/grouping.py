"""How a community's pairing groups people: in pairs (size 2) or in circles of 3 to 6, kept
together for a number of rounds. Read from `pair schedule ... size N together N` and from `setup`,
so both refuse the same values in the same words; pure, no storage."""

from __future__ import annotations

from collections.abc import Callable

from bot.errors import Refusal
from bot.features.pairing.circles import MAX_SIZE, MIN_SIZE

PAIRS = 2
MAX_TOGETHER = 12  # rounds in a row; past this a circle is no longer "for a while"
SIZE_WORD, TOGETHER_WORD = "size", "together"


def read_size(given: str) -> int:
    """A group size: 2 (pairs) or MIN_SIZE..MAX_SIZE (circles)."""
    value = given.strip()
    if not value.isdigit() or not (int(value) == PAIRS or MIN_SIZE <= int(value) <= MAX_SIZE):
        raise Refusal("pairing.bad_size", given=value[:40], low=MIN_SIZE, high=MAX_SIZE)
    return int(value)


def read_together(given: str) -> int:
    value = given.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_TOGETHER:
        raise Refusal("pairing.bad_together", given=value[:40], most=MAX_TOGETHER)
    return int(value)


def settle(size: int, together: int, *, together_given: bool) -> tuple[int, int]:
    """The stored pair of values after a change: pairs always reshuffle, and asking pairs to stay
    together is refused rather than quietly ignored."""
    if size == PAIRS:
        if together_given and together != 1:
            raise Refusal("pairing.together_needs_circles")
        return size, 1
    return size, together


def split_grouping(words: list[str]) -> tuple[list[str], str | None, str | None]:
    """Take `size N` and `together N` out of a schedule's words, wherever they stand; (the other
    words, the size given, the rounds together given). A word without its number is refused."""
    kept: list[str] = []
    size: str | None = None
    together: str | None = None
    index = 0
    while index < len(words):
        word = words[index].lower()
        if word in (SIZE_WORD, TOGETHER_WORD):
            if index + 1 >= len(words):
                raise Refusal("pairing.grouping_number_missing", word=word)
            if word == SIZE_WORD:
                size = words[index + 1]
            else:
                together = words[index + 1]
            index += 2
            continue
        kept.append(words[index])
        index += 1
    return kept, size, together


def grouping_text(t: Callable[..., str], size: int, together: int) -> str:
    """The plain sentence that shows a community's grouping back."""
    if size == PAIRS:
        return t("pairing.grouping_pairs")
    if together > 1:
        return t("pairing.grouping_circles_together", size=size, rounds=together)
    return t("pairing.grouping_circles", size=size)
