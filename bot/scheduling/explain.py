"""Which part of a schedule failed, as a message key, and how far apart a schedule fires.

Every schedule error names the part that failed (an unknown timezone says which timezone, a bad
time which time), and schedules that fire more often than a space allows are refused with the
minimum stated. Pure: the keys are looked up by the caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling.recurrence import Recurrence, RecurrenceError, valid_timezone

# A schedule's shortest gap is measured over its next firings (enough to cover a week of any
# schedule that fires more than once a day, and a year of the sparse ones).
_SAMPLES = 200
_HORIZON = timedelta(days=366)


def problem(error: RecurrenceError, given: str) -> tuple[str, dict[str, str]]:
    """(message key, params) for what was wrong. `given` is the whole schedule as typed."""
    detail = error.detail[:60]
    last = given.split()[-1] if given.split() else ""
    zone_like = "/" in last and last.split("/", 1)[1][:1].isalpha()  # not cron's `*/5`
    if error.reason in ("unknown_form", "bad_day", "bad_time") and zone_like and not valid_timezone(last):
        # `daily 18:00 Mars/Base`; after `weekly mon 10:00` it would otherwise read as a day
        return "schedule.bad_timezone", {"given": last[:60]}
    if error.reason in ("bad_timezone", "bad_time", "bad_interval", "bad_month_day") and detail:
        return f"schedule.{error.reason}", {"given": detail}
    if error.reason == "bad_day":
        return ("schedule.bad_day", {"given": detail}) if detail else ("schedule.no_day", {})
    if error.reason == "bad_cron":
        return "schedule.bad_cron", {"given": (detail or given)[:80]}
    return "schedule.unknown_form", {"given": given[:80]}


def shortest_gap(recurrence: Recurrence, after: datetime) -> timedelta | None:
    """The shortest time between two consecutive firings after `after` (None: fires at most
    once in the next year)."""
    fires = recurrence.fires_between(after, after + _HORIZON, limit=_SAMPLES)
    # Measured on the wall clock of the schedule's timezone: "weekly mon 10:00" is a week apart
    # even across a daylight-saving change, when it is an hour more or less in absolute time.
    zone = ZoneInfo(recurrence.timezone)
    local = [fire.astimezone(zone).replace(tzinfo=None) for fire in fires]
    gaps = [later - earlier for earlier, later in zip(local, local[1:], strict=False)]
    return min(gaps) if gaps else None


def duration_parts(span: timedelta) -> tuple[str, int]:
    """("minutes" | "hours" | "days", count) for saying `span` in whole units."""
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return "days", minutes // (24 * 60)
    if minutes % 60 == 0:
        return "hours", minutes // 60
    return "minutes", minutes
