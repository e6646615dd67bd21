"""Issue 12, found walking the journey "a facilitator makes every mistake and recovers"
(tests/journeys/stories/facilitator_mistakes.py). Each test failed on the main of its day."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.core.pairing.helpers import join, snapshot


@pytest.mark.parametrize(
    "schedule",
    ["weekly mon 10:00 Mars/Olympus", "weekly mon,thu 19:30 Mars/Olympus", "every 2 weeks mon 10:00 Mars/Olympus"],
)
async def test_an_unknown_timezone_after_a_weekly_schedule_is_named(harness, schedule):
    """Defect 12: every schedule error names the part that failed. After a day-naming schedule an
    unknown timezone outside the usual areas was read as one more day ("10:00 isn't a day")."""
    h = harness
    before = await snapshot(h)
    for command in ("pair schedule", "questions schedule"):
        out = await h.say("alex", f"{command} {schedule}")
        assert "Mars/Olympus" in out and "timezone" in out, out
        assert "isn't a day" not in out, out
    assert await snapshot(h) == before


@pytest.mark.parametrize(
    "setting", ["timezone", "locale", "question-channel", "pairing-channel", "facilitator-rule"]
)
async def test_a_setting_without_a_value_gets_an_example_that_works(harness, setting):
    """The answer to `setup <setting>` with no value shows an example; typed as shown it is saved
    (it was `/setup facilitator-rule <value>`, a bare usage line)."""
    h = harness
    out = await h.say("alex", f"setup {setting}")
    assert "<" not in out, out
    example = re.search(r"/(setup \S+ \S+?)\.?$", out)
    assert example, out
    assert "Saved" in await h.say("alex", example.group(1)), out


async def test_going_back_to_the_default_facilitator_rule_says_so(harness):
    """`setup` lists an empty rule as "the platform default"; saving it said "now not set"."""
    h = harness
    out = await h.say("alex", "setup facilitator-rule default")
    assert "the platform default" in out and "not set" not in out, out
    assert "facilitator rule: the platform default" in await h.say("alex", "setup")


async def test_pairs_made_by_the_same_three_people_is_not_shown_exactly(harness):
    """Defect 11's one rule: a count drawn from fewer than five people is "fewer than 5". Pairs
    made over two rounds by the same three people were shown exactly, because the people matched
    were added up round by round (3 + 3) instead of counted once each."""
    h = harness
    await join(h, "sam", "jo", "rin")
    await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(days=7, hours=2))
    out = await h.say("alex", "pair stats", channel=None)
    assert "rounds run: 2" in out, out
    assert "pairs and circles made: fewer than 5" in out, out
