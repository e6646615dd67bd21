"""Every date and duration a member can give is bounded, with a specific answer, and no date in any
timezone makes a command fail (issue 11, hole 9): a review date of 9999-12-31 in a UTC+13
community used to break every later view of the agreement with an OverflowError, and
`pair schedule ... from 9999-12-31` gave an internal error."""

from __future__ import annotations

import asyncio
import zoneinfo
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import parser
from tests.core.agreements.helpers import start_pair
from tests.core.pairing.helpers import join
from tests.harness import START, make_harness

TODAY = START.date()
ZONES = sorted(zoneinfo.available_timezones())
PLUS_13 = "Pacific/Tongatapu"


def in_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


async def test_far_review_date_is_refused_kindly_in_a_utc_plus_13_community(harness):
    h = harness
    await h.say("alex", f"setup timezone {PLUS_13}")
    await start_pair(h)
    answer = await h.say("sam", "agreement edit revisit-date 9999-12-31", channel=None)
    assert "within the next 5 years" in answer, answer
    view = await h.say("sam", "agreement view", channel=None)
    assert "Something went wrong" not in view and "No review date set" in view
    # The last day allowed is accepted; the day after is not.
    last = in_years(TODAY, 5)
    assert "Saved" in await h.say("sam", f"agreement edit revisit-date {last}", channel=None)
    assert "within the next 5 years" in await h.say(
        "sam", f"agreement edit revisit-date {last + timedelta(days=1)}", channel=None
    )
    assert "Review date" in await h.say("sam", "agreement view", channel=None)


async def test_far_schedule_start_is_refused_kindly(harness):
    h = harness
    answer = await h.say("alex", "pair schedule weekly mon 10:00 from 9999-12-31")
    assert "within the next year" in answer, answer
    row = await h.db.fetchone("SELECT recurrence FROM pair_communities")
    assert row is None or row[0] is None
    last = in_years(TODAY, 1)
    assert "Pairing rounds will start" in await h.say("alex", f"pair schedule weekly mon 10:00 from {last}")
    assert "within the next year" in await h.say(
        "alex", f"pair schedule weekly mon 10:00 from {last + timedelta(days=1)}"
    )


async def test_a_far_date_stored_before_the_bound_still_shows(harness, monkeypatch):
    """Data written before the bound existed: every view still works, even at UTC+14."""
    h = harness
    await h.say("alex", "setup timezone Pacific/Kiritimati")
    await start_pair(h)
    monkeypatch.setattr(parser, "latest_review_date", lambda today: date.max)
    assert "Saved" in await h.say("sam", "agreement edit revisit-date 9999-12-31", channel=None)
    assert "Saved" in await h.say("sam", "agreement edit 1 Being listened to.", channel=None)
    assert "is on its way" in await h.say("sam", "agreement propose", channel=None)
    accepted = await h.say("alex", "agreement accept", channel=None)
    assert "Something went wrong" not in accepted, accepted
    monkeypatch.undo()
    for line in ("agreement view", "agreement history", "pair status"):
        assert "Something went wrong" not in await h.say("sam", line, channel=None), line
    await h.advance(timedelta(days=2))  # jobs (reminders, purge) run over it too


# -- in every timezone, at the extremes --------------------------------------------------------

EXTREMES = ("0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31")


def boundaries(today: date) -> list[str]:
    near = [today - timedelta(days=1), today, today + timedelta(days=1)]
    far = [in_years(today, 1), in_years(today, 1) + timedelta(days=1)]
    far += [in_years(today, 5), in_years(today, 5) + timedelta(days=1)]
    return [*EXTREMES, *(d.isoformat() for d in near + far)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    loop = asyncio.new_event_loop()
    h = loop.run_until_complete(make_harness(tmp_path_factory.mktemp("dates")))
    loop.run_until_complete(start_pair(h))
    loop.run_until_complete(join(h, "sam"))
    outcomes: list[str] = []
    h.app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
    yield loop, h, outcomes
    loop.run_until_complete(h.close())
    loop.close()


def run_all(loop, h, outcomes, zone: str, lines: list[tuple[str, str | None]]) -> None:
    async def go():
        outcomes.clear()
        await h.say("alex", f"setup timezone {zone}")
        for user, line, channel in lines:
            await h.say(user, line, channel=channel)
        await h.app.deliver_pending()

    loop.run_until_complete(go())
    assert "error" not in outcomes, (zone, outcomes)


def test_extreme_dates_in_every_timezone_never_fail(world):
    """Every IANA zone, the extreme and boundary dates: each answer is accepted or a kind refusal."""
    loop, h, outcomes = world
    dates = boundaries(TODAY)
    for zone in ZONES:
        lines = []
        for day in (dates if zone in (PLUS_13, "Pacific/Kiritimati", "Etc/GMT+12") else EXTREMES):
            lines.append(("sam", f"agreement edit revisit-date {day}", None))
            lines.append(("alex", f"pair schedule weekly mon 10:00 from {day}", "circle"))
        lines += [("sam", "agreement view", None), ("alex", "pair status", "circle")]
        run_all(loop, h, outcomes, zone, lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(ZONES),
    day=st.one_of(
        st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
        st.sampled_from([date.fromisoformat(d) for d in boundaries(TODAY)]),
    ),
    days=st.integers(min_value=-10, max_value=10**6),
)
def test_any_date_and_pause_in_any_timezone_never_fails(world, zone, day, days):
    loop, h, outcomes = world
    run_all(
        loop,
        h,
        outcomes,
        zone,
        [
            ("sam", f"agreement edit revisit-date {day.isoformat()}", None),
            ("alex", f"pair schedule every 2 weeks fri 23:30 from {day.isoformat()} {zone}", "circle"),
            ("sam", f"pair pause {days}", None),
            ("sam", "agreement view", None),
            ("sam", "pair status", None),
        ],
    )
