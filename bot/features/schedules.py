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
