"""The one rule for showing how many people (or pairs) there are: a figure drawn from fewer than
five people is shown as "fewer than 5", so nobody can be singled out by a small number. None at
all is shown as it is: it is about nobody. Every place that shows such a count uses this."""

from __future__ import annotations

from collections.abc import Callable

FEWER_THAN = 5


def hidden(drawn_from: int) -> bool:
    """Whether a figure drawn from this many people is too small to show exactly."""
    return 0 < drawn_from < FEWER_THAN


def shown_count(t: Callable[..., str], value: int, drawn_from: int | None = None) -> str:
    """`value` as it may be shown; `drawn_from` is how many people it is about (default: itself)."""
    people = value if drawn_from is None else drawn_from
    if value == 0 or not hidden(people):
        return str(value)
    return t("counts.fewer_than_five")
