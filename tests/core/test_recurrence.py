"""The schedule grammar: parsing, canonical text, firing times, DST, and properties."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.scheduling.recurrence import (
    ACCEPTED_FORMS,
    DEFAULT_ANCHOR,
    ERROR_REASONS,
    Recurrence,
    RecurrenceError,
    parse_recurrence,
    split_trailing_timezone,
    valid_timezone,
)

LONDON = "Europe/London"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


def fires(rec: Recurrence, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
    return rec.fires_between(start, end, limit)


# --------------------------------------------------------------------------- parsing: canonical


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("daily 18:00", "daily 18:00"),
        ("  DAILY   9:05 ", "daily 09:05"),
        ("daily 0:00", "daily 00:00"),
        ("daily 23:59", "daily 23:59"),
        ("Weekdays 7:30", "weekdays 07:30"),
        ("weekly mon 19:30", "weekly mon 19:30"),
        ("weekly thu,mon 19:30", "weekly mon,thu 19:30"),
        ("weekly Monday, Thursday 19:30", "weekly mon,thu 19:30"),
        ("weekly sun sat fri 8:00", "weekly fri,sat,sun 08:00"),
        ("every 3 days 10:00", "every 3 days 10:00"),
        ("every 365 days 10:00", "every 365 days 10:00"),
        ("every 1 day 10:00", "daily 10:00"),
        ("every 2 weeks monday 10:00", "every 2 weeks mon 10:00"),
        ("EVERY 52 WEEKS SUN 6:15", "every 52 weeks sun 06:15"),
        ("every 1 week wed 10:00", "weekly wed 10:00"),
        ("30 18 * * mon", "30 18 * * mon"),
        ("30   18 * *   MON", "30 18 * * mon"),
        ("*/15 9-17 * JAN-mar mon-fri", "*/15 9-17 * jan-mar mon-fri"),
    ],
)
def test_canonical_text(given: str, canonical: str) -> None:
    rec = parse_recurrence(given, "UTC", date(2026, 1, 7))
    assert rec.text == canonical
    # canonical text parses to itself
    assert parse_recurrence(rec.text, "UTC", date(2026, 1, 7)) == rec


def test_defaults() -> None:
    rec = parse_recurrence("daily 18:00")
    assert rec.timezone == "UTC"
    assert rec.anchor == DEFAULT_ANCHOR == date(1970, 1, 5)
    assert DEFAULT_ANCHOR.weekday() == 0
    # validation-only callers may omit the anchor even for every-N forms
    assert parse_recurrence("every 2 weeks mon 10:00").anchor == DEFAULT_ANCHOR


def test_direct_construction_canonicalises_and_compares() -> None:
    rec = Recurrence("DAILY 9:05", LONDON, date(2026, 1, 5))
    assert rec.text == "daily 09:05"
    assert rec == parse_recurrence("daily 09:05", LONDON, date(2026, 1, 5))
    assert hash(rec) == hash(parse_recurrence("daily 9:05", LONDON, date(2026, 1, 5)))
    assert rec != parse_recurrence("daily 09:05", NEW_YORK, date(2026, 1, 5))
    with pytest.raises(RecurrenceError):
        Recurrence("daily 25:00", "UTC", date(2026, 1, 5))
    with pytest.raises(RecurrenceError):
        Recurrence("daily 10:00", "Nowhere/Zone", date(2026, 1, 5))


def test_anchor_from_aware_datetime_uses_local_date() -> None:
    rec = parse_recurrence("every 2 days 10:00", NEW_YORK, utc(2026, 1, 8, 2, 0))
    assert rec.anchor == date(2026, 1, 7)  # 21:00 on the 7th in New York


def test_uses_anchor() -> None:
    assert parse_recurrence("every 2 days 10:00").uses_anchor
    assert parse_recurrence("every 3 weeks fri 10:00").uses_anchor
    for text in (
        "daily 10:00",
        "weekdays 10:00",
        "weekly mon 10:00",
        "every 1 days 10:00",
        "0 10 * * *",
    ):
        assert not parse_recurrence(text).uses_anchor


def test_accepted_forms_and_reasons() -> None:
    assert ACCEPTED_FORMS == (
        "daily HH:MM",
        "weekdays HH:MM",
        "weekly mon[,thu…] HH:MM",
        "every N days HH:MM",
        "every N weeks <day> HH:MM",
        "monthly D HH:MM (D 1 to 28)",
        "a 5-field cron expression, e.g. 30 18 * * mon",
    )
    assert set(ERROR_REASONS) == {
        "empty",
        "unknown_form",
        "bad_time",
        "bad_day",
        "bad_interval",
        "bad_month_day",
        "bad_cron",
        "bad_timezone",
    }


# --------------------------------------------------------------------------- parsing: errors


@pytest.mark.parametrize(
    ("given", "reason", "detail"),
    [
        ("", "empty", ""),
        ("   \t ", "empty", ""),
        ("hello", "unknown_form", "hello"),
        ("hello there how are you", "unknown_form", "hello"),
        ("monthly 10:00", "unknown_form", "monthly"),
        ("daily", "unknown_form", "daily"),
        ("daily 10:00 11:00", "unknown_form", "daily 10:00 11:00"),
        ("weekly 10:00", "unknown_form", "weekly 10:00"),
        ("every 2 months 10:00", "unknown_form", "months"),
        ("every 2 weeks 10:00", "unknown_form", "every 2 weeks 10:00"),
        ("every 2 days mon 10:00", "unknown_form", "every 2 days mon 10:00"),
        ("daily 18:00 Europe/Paris", "unknown_form", "Europe/Paris"),
        ("daily 25:00", "bad_time", "25:00"),
        ("daily 24:00", "bad_time", "24:00"),
        ("daily 10:60", "bad_time", "10:60"),
        ("daily 10:5", "bad_time", "10:5"),
        ("daily 1000", "bad_time", "1000"),
        ("weekdays noon", "bad_time", "noon"),
        ("weekly mon 7pm", "bad_time", "7pm"),
        ("weekly xyz 10:00", "bad_day", "xyz"),
        ("weekly mon,mon 10:00", "bad_day", "mon"),
        ("weekly mon,Monday 10:00", "bad_day", "Monday"),
        ("every 2 weeks xyz 10:00", "bad_day", "xyz"),
        ("every 2 weeks mon,thu 10:00", "bad_day", "mon,thu"),
        ("every 0 days 10:00", "bad_interval", "0"),
        ("every 400 days 10:00", "bad_interval", "400"),
        ("every 366 days 10:00", "bad_interval", "366"),
        ("every -2 days 10:00", "bad_interval", "-2"),
        ("every two days 10:00", "bad_interval", "two"),
        ("every 0 weeks mon 10:00", "bad_interval", "0"),
        ("every 53 weeks mon 10:00", "bad_interval", "53"),
        ("every 3 days 25:00", "bad_time", "25:00"),
        ("60 * * * *", "bad_cron", "60"),
        ("* 24 * * *", "bad_cron", "24"),
        ("* * 0 * *", "bad_cron", "0"),
        ("* * 32 * *", "bad_cron", "32"),
        ("* * * 13 *", "bad_cron", "13"),
        ("* * * * 8", "bad_cron", "8"),
        ("* * * * xyz", "bad_cron", "xyz"),
        ("* * * * mon-xyz", "bad_cron", "mon-xyz"),
        ("* * * foo *", "bad_cron", "foo"),
        ("*/0 * * * *", "bad_cron", "*/0"),
        ("*/x * * * *", "bad_cron", "*/x"),
        ("5-1 * * * *", "bad_cron", "5-1"),
        ("5/10 * * * *", "bad_cron", "5/10"),
        ("1,,2 * * * *", "bad_cron", "1,,2"),
        ("0 0 31 2 *", "bad_cron", "0 0 31 2 *"),
        ("0 0 30,31 feb *", "bad_cron", "0 0 30,31 feb *"),
        ("0 0 31 apr,jun,sep,nov *", "bad_cron", "0 0 31 apr,jun,sep,nov *"),
        ("weekly mon 18:00 Europe/Pariss", "bad_timezone", "Europe/Pariss"),
    ],
)
def test_errors(given: str, reason: str, detail: str) -> None:
    with pytest.raises(RecurrenceError) as info:
        parse_recurrence(given, "UTC", date(2026, 1, 5))
    assert info.value.reason == reason
    assert info.value.detail == detail
    assert reason in ERROR_REASONS
    assert isinstance(info.value, ValueError)
    assert reason in str(info.value)


@pytest.mark.parametrize("tz", ["", "../etc", "Not/AZone", "/etc/localtime", "Europe", "utc/x"])
def test_bad_timezone(tz: str) -> None:
    with pytest.raises(RecurrenceError) as info:
        parse_recurrence("daily 10:00", tz)
    assert info.value.reason == "bad_timezone"
    assert info.value.detail == tz


def test_error_constructor_defaults() -> None:
    error = RecurrenceError("empty")
    assert error.reason == "empty" and error.detail == ""
    assert str(error) == "empty"
    assert str(RecurrenceError("bad_time", "25:00")) == "bad_time: 25:00"


def test_never_firing_cron_where_only_a_leap_day_fits_is_fine() -> None:
    rec = parse_recurrence("0 0 29 2 *")
    assert rec.next_after(utc(2026, 1, 1)) == utc(2028, 2, 29)
    # 2100 is not a leap year: 8 years between fires
    assert rec.next_after(utc(2096, 3, 1)) == utc(2104, 2, 29)


# --------------------------------------------------------------------------- timezones


@pytest.mark.parametrize(
    "name",
    [
        "UTC",
        "GMT",
        "Europe/London",
        "America/New_York",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
        "Asia/Kolkata",
    ],
)
def test_valid_timezone_accepts(name: str) -> None:
    assert valid_timezone(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../etc",
        "Not/AZone",
        "/usr/share/zoneinfo/UTC",
        "/etc/passwd",
        "Europe/../UTC",
        "Europe",
        "localtime",
        "posixrules",
        "Europe/London ",
        "Europe\\London",
        "a" * 100,
    ],
)
def test_valid_timezone_rejects(name: str) -> None:
    assert not valid_timezone(name)


def test_valid_timezone_rejects_non_strings() -> None:
    assert not valid_timezone(None)  # type: ignore[arg-type]
    assert not valid_timezone(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["weekly", "mon", "18:00", "Europe/Paris"], (["weekly", "mon", "18:00"], "Europe/Paris")),
        (["daily", "18:00", "UTC"], (["daily", "18:00"], "UTC")),
        (["daily", "18:00", "gmt"], (["daily", "18:00"], "GMT")),
        (["daily", "18:00"], (["daily", "18:00"], None)),
        (["daily", "18:00", "Not/AZone"], (["daily", "18:00", "Not/AZone"], None)),
        (["0", "9", "*", "*", "*/2"], (["0", "9", "*", "*", "*/2"], None)),
        (["0", "9", "*", "*", "mon-fri/2"], (["0", "9", "*", "*", "mon-fri/2"], None)),
        (["Europe/London"], ([], "Europe/London")),
        ([], ([], None)),
    ],
)
def test_split_trailing_timezone(words: list[str], expected: tuple[list[str], str | None]) -> None:
    original = list(words)
    assert split_trailing_timezone(words) == expected
    assert words == original  # not mutated


def test_split_then_parse() -> None:
    words, tz = split_trailing_timezone(
        "questions schedule weekly mon 18:00 Europe/Paris".split()[2:]
    )
    rec = parse_recurrence(" ".join(words), tz or "UTC")
    assert (rec.text, rec.timezone) == ("weekly mon 18:00", "Europe/Paris")
    assert rec.next_after(utc(2026, 1, 1)) == utc(2026, 1, 5, 17, 0)


# --------------------------------------------------------------------------- firing: simple forms


def test_daily_next_after_is_strict() -> None:
    rec = parse_recurrence("daily 18:00")
    assert rec.next_after(utc(2026, 1, 1, 12)) == utc(2026, 1, 1, 18)
    assert rec.next_after(utc(2026, 1, 1, 18)) == utc(2026, 1, 2, 18)
    assert rec.next_after(utc(2026, 1, 1, 17, 59, 59, 999999)) == utc(2026, 1, 1, 18)


def test_next_after_returns_utc_and_accepts_any_zone() -> None:
    rec = parse_recurrence("daily 18:00", LONDON)
    result = rec.next_after(local("Asia/Tokyo", 2026, 1, 2, 3, 0))  # 18:00 UTC on the 1st
    assert result == utc(2026, 1, 2, 18)
    assert result.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    rec = parse_recurrence("daily 18:00")
    with pytest.raises(ValueError):
        rec.next_after(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        rec.fires_between(datetime(2026, 1, 1), utc(2026, 1, 2))


def test_weekdays_skip_the_weekend() -> None:
    rec = parse_recurrence("weekdays 09:00", LONDON)
    # Friday 2026-01-09 after 9 -> Monday 2026-01-12
    assert rec.next_after(utc(2026, 1, 9, 10)) == utc(2026, 1, 12, 9)
    got = fires(rec, utc(2026, 1, 4), utc(2026, 1, 18))
    assert [t.date().isoformat() for t in got] == [
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
        "2026-01-08",
        "2026-01-09",
        "2026-01-12",
        "2026-01-13",
        "2026-01-14",
        "2026-01-15",
        "2026-01-16",
    ]


def test_weekly_several_days_in_local_time() -> None:
    rec = parse_recurrence("weekly mon,thu 19:30", "Asia/Kolkata")  # UTC+5:30
    got = fires(rec, utc(2026, 1, 1), utc(2026, 1, 20))
    assert got == [
        utc(2026, 1, 1, 14, 0),
        utc(2026, 1, 5, 14, 0),
        utc(2026, 1, 8, 14, 0),
        utc(2026, 1, 12, 14, 0),
        utc(2026, 1, 15, 14, 0),
        utc(2026, 1, 19, 14, 0),
    ]


def test_every_n_days_counts_from_the_anchor() -> None:
    rec = parse_recurrence("every 3 days 10:00", "UTC", date(2026, 1, 7))
    got = fires(rec, utc(2026, 1, 7), utc(2026, 1, 19, 10))
    assert [t.day for t in got] == [7, 10, 13, 16, 19]
    assert rec.next_after(utc(2026, 1, 7, 10)) == utc(2026, 1, 10, 10)
    # periodic both ways: before the anchor it keeps the same phase
    assert rec.next_after(utc(2026, 1, 1, 12)) == utc(2026, 1, 4, 10)
    assert rec.next_after(utc(2026, 1, 1)) == utc(2026, 1, 1, 10)


def test_every_n_days_long_interval() -> None:
    rec = parse_recurrence("every 365 days 10:00", LONDON, date(2026, 1, 7))
    assert rec.next_after(utc(2026, 1, 7, 11)) == utc(2027, 1, 7, 10)


def test_every_n_weeks_fires_in_the_anchor_week() -> None:
    # anchor is a Wednesday; its Monday-based week starts Monday 2026-01-05
    rec = parse_recurrence("every 2 weeks mon 10:00", "UTC", date(2026, 1, 7))
    got = fires(rec, utc(2026, 1, 1), utc(2026, 3, 1))
    assert [t.date() for t in got] == [
        date(2026, 1, 5),
        date(2026, 1, 19),
        date(2026, 2, 2),
        date(2026, 2, 16),
    ]
    assert rec.next_after(utc(2026, 1, 7)) == utc(2026, 1, 19, 10)
    later_day = parse_recurrence("every 2 weeks fri 10:00", "UTC", date(2026, 1, 7))
    assert later_day.next_after(utc(2026, 1, 7)) == utc(2026, 1, 9, 10)


def test_every_n_weeks_with_different_anchors_differ() -> None:
    a = parse_recurrence("every 2 weeks mon 10:00", "UTC", date(2026, 1, 5))
    b = parse_recurrence("every 2 weeks mon 10:00", "UTC", date(2026, 1, 12))
    assert a.next_after(utc(2026, 1, 6)) == utc(2026, 1, 19, 10)
    assert b.next_after(utc(2026, 1, 6)) == utc(2026, 1, 12, 10)
    assert a != b


def test_every_52_weeks() -> None:
    rec = parse_recurrence("every 52 weeks sun 06:15", LONDON, date(2026, 1, 7))
    first = rec.next_after(utc(2026, 1, 1))
    assert first == utc(2026, 1, 11, 6, 15)
    assert rec.next_after(first) == first + timedelta(weeks=52)


# --------------------------------------------------------------------------- fires_between


def test_fires_between_bounds_ordering_and_limit() -> None:
    rec = parse_recurrence("weekly mon,thu 19:30")
    start, end = utc(2026, 1, 5, 19, 30), utc(2026, 1, 15, 19, 30)
    got = fires(rec, start, end)
    assert got == [utc(2026, 1, 8, 19, 30), utc(2026, 1, 12, 19, 30), utc(2026, 1, 15, 19, 30)]
    assert got == sorted(got)
    assert all(t.tzinfo is UTC for t in got)
    assert fires(rec, start, end, limit=2) == got[:2]
    assert fires(rec, start, end, limit=0) == []
    assert fires(rec, end, start) == []
    assert fires(rec, start, start) == []


def test_fires_between_default_limit_and_dense_cron() -> None:
    rec = parse_recurrence("* * * * *", NEW_YORK)
    got = rec.fires_between(utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(got) == 1000
    assert got[0] == utc(2026, 1, 1, 0, 1)
    assert got[-1] == utc(2026, 1, 1, 16, 40)
    assert all(b - a == timedelta(minutes=1) for a, b in zip(got, got[1:], strict=False))


def test_fires_between_matches_chained_next_after() -> None:
    rec = parse_recurrence("0 9,17 * * mon-fri", LONDON)
    start, end = utc(2026, 3, 20), utc(2026, 4, 10)
    chained, t = [], start
    while (t := rec.next_after(t)) <= end:
        chained.append(t)
    assert fires(rec, start, end) == chained


def test_fires_between_sparse_over_a_long_range() -> None:
    rec = parse_recurrence("0 0 29 2 *")
    got = fires(rec, utc(2000, 1, 1), utc(2030, 1, 1))
    assert [t.year for t in got] == [2000, 2004, 2008, 2012, 2016, 2020, 2024, 2028]


# --------------------------------------------------------------------------- typical_interval


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 10:00", timedelta(days=1)),
        ("weekdays 10:00", timedelta(days=1)),
        ("weekly mon 10:00", timedelta(days=7)),
        ("weekly mon,thu 10:00", timedelta(days=3.5)),
        ("weekly mon,wed,fri 10:00", timedelta(days=7) / 3),
        ("every 3 days 10:00", timedelta(days=3)),
        ("every 2 weeks mon 10:00", timedelta(days=14)),
        ("*/15 * * * *", timedelta(minutes=15)),
        ("0 9 * * *", timedelta(days=1)),
        ("30 18 * * mon", timedelta(days=7)),
        ("0 0 1 * *", timedelta(days=28)),  # from the 2026-01-05 anchor: Feb 1 -> Mar 1
    ],
)
def test_typical_interval(text: str, expected: timedelta) -> None:
    rec = parse_recurrence(text, LONDON, date(2026, 1, 5))
    assert rec.typical_interval() == expected


# --------------------------------------------------------------------------- cron semantics


def _days(rec: Recurrence, start: datetime, end: datetime) -> list[date]:
    return [t.date() for t in fires(rec, start, end)]


def test_cron_day_names_and_sunday_numbers() -> None:
    window = (utc(2026, 1, 1), utc(2026, 1, 31))
    sundays = _days(parse_recurrence("0 9 * * sun"), *window)
    assert sundays == [date(2026, 1, d) for d in (4, 11, 18, 25)]
    assert _days(parse_recurrence("0 9 * * 0"), *window) == sundays
    assert _days(parse_recurrence("0 9 * * 7"), *window) == sundays
    assert _days(parse_recurrence("0 9 * * sunday"), *window) == sundays
    weekend = _days(parse_recurrence("0 9 * * fri-sun"), utc(2026, 1, 1), utc(2026, 1, 12))
    assert weekend == [date(2026, 1, d) for d in (2, 3, 4, 9, 10, 11)]
    assert _days(parse_recurrence("0 9 * * 5-7"), utc(2026, 1, 1), utc(2026, 1, 12)) == weekend


def test_cron_ranges_lists_and_steps() -> None:
    rec = parse_recurrence("*/20 9-10 * * *")
    got = fires(rec, utc(2026, 1, 1), utc(2026, 1, 1, 23))
    assert [(t.hour, t.minute) for t in got] == [
        (9, 0),
        (9, 20),
        (9, 40),
        (10, 0),
        (10, 20),
        (10, 40),
    ]
    rec = parse_recurrence("5,35 8-18/5 * * *")
    got = fires(rec, utc(2026, 1, 1), utc(2026, 1, 1, 23))
    assert [(t.hour, t.minute) for t in got] == [
        (8, 5),
        (8, 35),
        (13, 5),
        (13, 35),
        (18, 5),
        (18, 35),
    ]
    rec = parse_recurrence("0 12 1,15 jan,jul *")
    assert _days(rec, utc(2026, 1, 1), utc(2027, 1, 1)) == [
        date(2026, 1, 1),
        date(2026, 1, 15),
        date(2026, 7, 1),
        date(2026, 7, 15),
    ]
    rec = parse_recurrence("0 12 * 2-12/5 *")
    assert {t.month for t in fires(rec, utc(2026, 1, 1), utc(2027, 1, 1))} == {2, 7, 12}


def test_cron_day_of_month_or_day_of_week() -> None:
    window = (utc(2026, 2, 1), utc(2026, 3, 31))
    thirteenths = _days(parse_recurrence("0 0 13 * *"), *window)
    fridays = _days(parse_recurrence("0 0 * * fri"), *window)
    either = _days(parse_recurrence("0 0 13 * fri"), *window)
    assert thirteenths == [date(2026, 2, 13), date(2026, 3, 13)]
    assert either == sorted(set(thirteenths) | set(fridays))
    # a stepped field counts as restricted, so this is an OR as well
    odd_or_monday = _days(parse_recurrence("0 0 */2 * mon"), utc(2026, 1, 31, 12), utc(2026, 2, 10))
    assert odd_or_monday == [date(2026, 2, d) for d in (1, 2, 3, 5, 7, 9)]
    # a full-range field is not a restriction
    assert _days(parse_recurrence("0 0 1-31 * fri"), *window) == fridays
    assert _days(parse_recurrence("0 0 13 * 0-6"), *window) == thirteenths


def test_cron_never_firing_detected_but_or_rescues_it() -> None:
    with pytest.raises(RecurrenceError):
        parse_recurrence("0 0 31 2 *")
    rec = parse_recurrence("0 0 31 2 mon")  # Feb 31 never, but Mondays in February do
    assert rec.next_after(utc(2026, 1, 1)) == utc(2026, 2, 2)


# --------------------------------------------------------------------------- DST

# Europe/London 2026: clocks go 01:00 GMT -> 02:00 BST on 29 March, 02:00 BST -> 01:00 GMT on
# 25 October. America/New_York 2026: 02:00 EST -> 03:00 EDT on 8 March, 02:00 EDT -> 01:00 EST
# on 1 November.


@pytest.mark.parametrize("text", ["daily 01:30", "30 1 * * *"])
def test_london_spring_gap_fires_once_shifted(text: str) -> None:
    rec = parse_recurrence(text, LONDON)
    got = fires(rec, utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    # 01:30 does not exist on the 29th: it fires at 02:30 BST (01:30 UTC), once
    assert got == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert got[1].astimezone(ZoneInfo(LONDON)).time() == time(2, 30)


@pytest.mark.parametrize("text", ["daily 01:30", "30 1 * * *"])
def test_london_autumn_fold_fires_once_at_first(text: str) -> None:
    rec = parse_recurrence(text, LONDON)
    got = fires(rec, utc(2026, 10, 23, 12), utc(2026, 10, 26, 12))
    assert got == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    # from inside the repeated hour, the second 01:30 is not a fire time
    assert rec.next_after(utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 26, 1, 30)


@pytest.mark.parametrize("text", ["daily 02:30", "30 2 * * *"])
def test_new_york_spring_gap_fires_once_shifted(text: str) -> None:
    rec = parse_recurrence(text, NEW_YORK)
    got = fires(rec, utc(2026, 3, 6, 12), utc(2026, 3, 9, 12))
    assert got == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]
    assert got[1].astimezone(ZoneInfo(NEW_YORK)).time() == time(3, 30)
    # asked from just before the gap, the next one is the shifted one
    assert rec.next_after(local(NEW_YORK, 2026, 3, 8, 1, 59)) == utc(2026, 3, 8, 7, 30)


@pytest.mark.parametrize("text", ["daily 01:30", "30 1 * * *"])
def test_new_york_autumn_fold_fires_once_at_first(text: str) -> None:
    rec = parse_recurrence(text, NEW_YORK)
    got = fires(rec, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12))
    assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    second_pass = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    assert second_pass.astimezone(UTC) == utc(2026, 11, 1, 6, 30)
    assert rec.next_after(local(NEW_YORK, 2026, 11, 1, 1, 0, fold=1)) == utc(2026, 11, 2, 6, 30)


@pytest.mark.parametrize(
    ("tz", "spring", "autumn"),
    [
        (LONDON, date(2026, 3, 29), date(2026, 10, 25)),
        (NEW_YORK, date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
@pytest.mark.parametrize("text", ["daily 18:00", "0 18 * * *"])
def test_evening_time_stays_local_across_changes(
    tz: str, spring: date, autumn: date, text: str
) -> None:
    rec = parse_recurrence(text, tz)
    zone = ZoneInfo(tz)
    for change in (spring, autumn):
        start = datetime.combine(change - timedelta(days=2), time(0), UTC)
        got = fires(rec, start, start + timedelta(days=4))
        assert len(got) == 4
        assert all(t.astimezone(zone).time() == time(18, 0) for t in got)
        hours = {t.hour for t in got}
        assert len(hours) == 2  # the UTC hour moved by one


def test_cron_gap_collisions_fire_each_instant_once() -> None:
    rec = parse_recurrence("0,30 1,2 * * *", LONDON)
    got = fires(rec, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    # 01:00 and 01:30 do not exist; shifted, they coincide with 02:00 and 02:30 BST
    assert got == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]


def test_cron_fold_skips_the_repeated_hour() -> None:
    rec = parse_recurrence("*/30 1 * * *", LONDON)
    got = fires(rec, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert got == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30)]
    ny = parse_recurrence("0 1 * * *", NEW_YORK)
    assert fires(ny, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12)) == [utc(2026, 11, 1, 5, 0)]


def test_midnight_transition_zone() -> None:
    # America/Santiago springs forward at 24:00 on Saturday 2026-09-05: 00:xx does not exist
    rec = parse_recurrence("daily 00:30", "America/Santiago")
    got = fires(rec, utc(2026, 9, 4, 12), utc(2026, 9, 7, 12))
    assert len(got) == 3
    assert len(set(got)) == 3
    assert got[1].astimezone(ZoneInfo("America/Santiago")).time() == time(1, 30)


# --------------------------------------------------------------------------- properties

ZONES = [
    "UTC",
    LONDON,
    NEW_YORK,
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "Pacific/Chatham",
    "Europe/Berlin",
]

_hours = st.one_of(st.integers(0, 3), st.integers(0, 23))
_minutes = st.one_of(st.sampled_from([0, 30, 59]), st.integers(0, 59))


@st.composite
def daily_forms(draw: st.DrawFn) -> tuple[str, date, object]:
    """(text, anchor, predicate on local dates) for the daily-like forms."""
    hhmm = f"{draw(_hours)}:{draw(_minutes):02d}"
    anchor = date(2020, 1, 1) + timedelta(days=draw(st.integers(0, 3650)))
    kind = draw(st.sampled_from(["daily", "weekdays", "weekly", "every_days", "every_weeks"]))
    if kind == "daily":
        return f"daily {hhmm}", anchor, lambda d: True
    if kind == "weekdays":
        return f"weekdays {hhmm}", anchor, lambda d: d.weekday() < 5
    if kind == "weekly":
        days = draw(st.sets(st.integers(0, 6), min_size=1))
        names = ",".join(["mon", "tue", "wed", "thu", "fri", "sat", "sun"][d] for d in days)
        return f"weekly {names} {hhmm}", anchor, lambda d: d.weekday() in days
    if kind == "every_days":
        n = draw(st.integers(2, 10))
        return f"every {n} days {hhmm}", anchor, lambda d: (d - anchor).days % n == 0
    n = draw(st.integers(2, 4))
    day = draw(st.integers(0, 6))
    monday = anchor - timedelta(days=anchor.weekday())
    name = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][day]
    return (
        f"every {n} weeks {name} {hhmm}",
        anchor,
        lambda d: d.weekday() == day and ((d - monday).days // 7) % n == 0,
    )


_uniform_instants = st.integers(0, 11 * 365 * 24 * 60).map(
    lambda m: utc(2020, 1, 1) + timedelta(minutes=m)
)


@functools.cache
def _change_days(tz: str) -> tuple[date, ...]:
    """Local dates in 2020-2030 on which the zone's UTC offset changes."""
    zone = ZoneInfo(tz)
    days, day = [], date(2020, 1, 1)
    previous = datetime.combine(day, time(0), zone).utcoffset()
    while day < date(2031, 1, 1):
        following = day + timedelta(days=1)
        offset = datetime.combine(following, time(0), zone).utcoffset()
        if offset != previous:
            days.append(day)
        previous, day = offset, following
    return tuple(days) or (date(2026, 3, 29),)


def instants(tz: str) -> st.SearchStrategy[datetime]:
    """Uniform over 2020-2030, or within two days either side of one of the zone's changes."""
    near_change = st.builds(
        lambda day, minutes: datetime.combine(day, time(0), UTC) + timedelta(minutes=minutes),
        st.sampled_from(_change_days(tz)),
        st.integers(-2 * 24 * 60, 2 * 24 * 60),
    )
    return st.one_of(_uniform_instants, near_change, near_change)


def _real_occurrences(zone: ZoneInfo, day: date, hour: int, minute: int) -> list[datetime]:
    """Every instant whose local wall clock reads day hour:minute, found without fold logic."""
    wall = datetime(day.year, day.month, day.day, hour, minute)
    offsets = {
        datetime.combine(day + timedelta(days=k), time(12), zone).utcoffset() for k in (-1, 0, 1)
    }
    found = set()
    for offset in offsets:
        assert offset is not None
        candidate = (wall - offset).replace(tzinfo=UTC)
        if candidate.astimezone(zone).replace(tzinfo=None) == wall:
            found.add(candidate)
    return sorted(found)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form=daily_forms(), tz=st.sampled_from(ZONES), data=st.data())
def test_property_next_after_daily_forms(form: tuple, tz: str, data: st.DataObject) -> None:
    t = data.draw(instants(tz), label="t")
    text, anchor, matches = form
    rec = parse_recurrence(text, tz, anchor)
    zone = ZoneInfo(tz)
    hour, minute = (int(x) for x in text.split()[-1].split(":"))

    n = rec.next_after(t)
    assert n > t
    assert n.tzinfo is UTC and n.second == 0 and n.microsecond == 0
    assert rec.fires_between(t, n) == [n]

    expected_fires = set()
    day = t.astimezone(zone).date() - timedelta(days=2)
    last = n.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        if matches(day):
            real = _real_occurrences(zone, day, hour, minute)
            if real:
                first = real[0]
                # no fire time strictly between t and next_after(t)
                assert not (t < first < n), (day, first)
                expected_fires.add(first)
            else:  # the wall time falls in a gap: shifted forward by the gap
                before = datetime.combine(day - timedelta(days=1), time(12), zone).utcoffset()
                assert before is not None
                shifted = datetime(day.year, day.month, day.day, hour, minute) - before
                expected_fires.add(shifted.replace(tzinfo=UTC))
        day += timedelta(days=1)
    assert n in expected_fires


_cron_field = st.sampled_from
_crons = st.builds(
    lambda mi, h, dom, mon, dow: f"{mi} {h} {dom} {mon} {dow}",
    _cron_field(["0", "30", "*/20", "0,45", "5-10/5"]),
    _cron_field(["*", "0", "1", "2", "1-3", "*/6", "9,18"]),
    _cron_field(["*", "1", "13", "*/10", "28-31"]),
    _cron_field(["*", "mar,oct,nov", "*/4", "2"]),
    _cron_field(["*", "sun", "mon-fri", "0,6", "*/3"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_crons, tz=st.sampled_from(ZONES), data=st.data())
def test_property_cron_chain_matches_fires_between(text: str, tz: str, data: st.DataObject) -> None:
    t = data.draw(instants(tz), label="t")
    rec = parse_recurrence(text, tz)
    chained, current = [], t
    for _ in range(12):
        nxt = rec.next_after(current)
        assert nxt > current
        chained.append(nxt)
        current = nxt
    assert rec.fires_between(t, chained[-1]) == chained
    assert rec.fires_between(t, chained[-1], limit=5) == chained[:5]
