"""Reading a schedule a facilitator typed (questions, pairing rounds): a specific answer for the
part that failed, and a lower bound on how often it may fire (configurable, said in the refusal).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.context import Ctx
from bot.errors import Refusal
from bot.scheduling.explain import duration_parts, problem, shortest_gap
from bot.scheduling.recurrence import Recurrence, RecurrenceError, parse_recurrence


def say_duration(ctx: Ctx, span: timedelta, *, after_every: bool = False) -> str:
    """"1 day", "2 hours", "5 minutes": whole units, the plural form chosen by the locale's CLDR
    rule; after "every", a single unit is just "day"."""
    unit, count = duration_parts(span)
    if count == 1 and after_every:
        return ctx.t(f"schedule.{unit}_every")
    return ctx.t(f"schedule.{unit}", count=count)


def say_schedule(ctx: Ctx, recurrence: Recurrence) -> str:
    """A schedule shown back in the reader's words: "every Monday and Thursday at 19:30" /
    "cada lunes y jueves a las 19:30", with CLDR's weekday names and times. A cron expression
    is shown as typed: it has no words to translate."""
    kind, weekdays, minutes, interval, month_day = recurrence.shape
    if kind == "cron":
        return ctx.t("schedule.said_cron", text=recurrence.text)
    formats = ctx.formats
    time = formats.clock(minutes[0] // 60, minutes[0] % 60)
    if kind in ("daily", "weekdays"):
        return ctx.t(f"schedule.said_{kind}", time=time)
    if kind == "weekly":
        days = formats.and_list(formats.weekday(day) for day in weekdays)
        return ctx.t("schedule.said_weekly", days=days, time=time)
    if kind == "every_days":
        return ctx.t("schedule.said_every_days", count=interval, time=time)
    if kind == "every_weeks":
        return ctx.t("schedule.said_every_weeks", count=interval, day=formats.weekday(weekdays[0]), time=time)
    return ctx.t("schedule.said_monthly", day=month_day, time=time)


def read_schedule(
    ctx: Ctx, text: str, timezone: str, anchor: date, *, minimum: timedelta, what: str
) -> Recurrence:
    """`what` is "questions" or "rounds": which lower bound the refusal names."""
    try:
        recurrence = parse_recurrence(text, timezone, anchor)
    except RecurrenceError as error:
        key, params = problem(error, text)
        raise Refusal(key, **params) from None
    gap = shortest_gap(recurrence, ctx.now)
    if gap is not None and gap < minimum:
        raise Refusal(
            f"schedule.too_often_{what}",
            given=recurrence.text,
            gap=say_duration(ctx, gap, after_every=True),
            minimum=say_duration(ctx, minimum),
        )
    return recurrence
