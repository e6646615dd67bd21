"""How the style members chose (`pair prefs style`) moves the depth of their group's opener."""

from __future__ import annotations

import pytest

from bot.features.questions.depth import opener_depths, pair_depths


@pytest.mark.parametrize("mix", ["light", "mixed", "deep"])
@pytest.mark.parametrize("rounds", [0, 1, 2, 3, 5])
def test_no_style_is_the_space_pace(mix: str, rounds: int) -> None:
    assert opener_depths(mix, rounds, ()) == pair_depths(mix, rounds)
    assert opener_depths(mix, rounds, (None, None)) == pair_depths(mix, rounds)


@pytest.mark.parametrize("mix", ["light", "mixed", "deep"])
@pytest.mark.parametrize("rounds", [0, 1, 2, 3, 5])
def test_one_member_asking_lighter_is_followed(mix: str, rounds: int) -> None:
    got = opener_depths(mix, rounds, ("deeper", "lighter", "deeper"))
    assert "deep" not in got
    base = pair_depths(mix, rounds)
    order = ["light", "medium", "deep"]
    assert max(order.index(d) for d in got) <= max(order.index(d) for d in base)
    if base != ("light",):
        assert max(order.index(d) for d in got) < max(order.index(d) for d in base)


def test_strangers_who_all_want_deeper_still_begin_below_deep() -> None:
    assert opener_depths("mixed", 0, ("deeper", "deeper")) == ("light", "medium")
    assert opener_depths("deep", 0, ("deeper", None)) == ("light", "medium")


def test_deeper_reaches_one_step_further_once_people_know_each_other() -> None:
    assert opener_depths("mixed", 1, ("deeper", "deeper")) == ("medium", "deep")
    assert opener_depths("mixed", 2, ("deeper",)) == ("deep",)


def test_a_light_space_stays_light_whatever_members_prefer() -> None:
    for rounds in range(6):
        assert opener_depths("light", rounds, ("deeper", "deeper")) == ("light",)
