"""The schedule grammar: what facilitators type after `... schedule`, and when it fires.

Pure: stdlib `datetime` + `zoneinfo` only, no clock, no I/O beyond reading tz data.

Accepted forms (case-insensitive, extra whitespace tolerated)::

    daily HH:MM
    weekdays HH:MM                      Monday to Friday
    weekly mon[,thu...] HH:MM           3-letter or full day names, no duplicates
    every N days HH:MM                  N in 1..365, fires on anchor, anchor+N, ...
    every N weeks <day> HH:MM           N in 1..52, on <day> of the anchor's (Monday-based)
                                        week and every N weeks after
    monthly D HH:MM                     on day D (1..28, so every month has it) of each month
    <minute> <hour> <dom> <month> <dow> a 5-field cron expression

Decisions worth knowing:

* Canonical text is lowercase, single-spaced, days in week order, HH:MM zero-padded.
  `every 1 days T` canonicalises to `daily T` and `every 1 weeks D T` to `weekly D T`
  (same firing times whatever the anchor). Cron fields are kept as typed, lowercased.
* Anchors: only `every N days/weeks` (N > 1) depends on the anchor; for those callers should
  pass the local date the schedule was created on and store it (see `Recurrence.uses_anchor`).
  When `anchor` is None it defaults to `DEFAULT_ANCHOR` (1970-01-05, a Monday) for every form, so
  a bare `parse_recurrence(text)` still works as a validator and is deterministic.
  The every-N forms are periodic in both directions: dates before the anchor that are a whole
  number of periods away also fire.
* Wall times are local to `timezone` and resolved with fold=0: a time inside a spring-forward
  gap fires once, shifted forward by the gap (01:30 on the Europe/London change day fires at
  02:30 BST); a time that happens twice on a fall-back day fires once, at the first occurrence.
  Several wall times that resolve to the same instant fire once. This applies to cron too, so
  `*/15 * * * *` does not fire during the repeated hour of a fall-back night.
* Cron: `*`, numbers, `a-b`, lists, `*/n`, `a-b/n`, names mon..sun / jan..dec; dow 0 and 7 are
  Sunday (`fri-sun` is allowed). A day-of-month or day-of-week field counts as *restricted* when
  it does not cover its whole range (so `*/2` is restricted, unlike Vixie cron's "starts with
  `*`" quirk); when both are restricted a day matches if either matches. Expressions that can
  never fire (`0 0 31 2 *`) are rejected at parse time with reason "bad_cron".
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "ACCEPTED_FORMS",
    "DEFAULT_ANCHOR",
    "ERROR_REASONS",
    "Recurrence",
    "RecurrenceError",
    "parse_recurrence",
    "split_trailing_timezone",
    "valid_timezone",
]

ACCEPTED_FORMS: tuple[str, ...] = (
    "daily HH:MM",
    "weekdays HH:MM",
    "weekly mon[,thu…] HH:MM",
    "every N days HH:MM",
    "every N weeks <day> HH:MM",
    "monthly D HH:MM (D 1 to 28)",
    "a 5-field cron expression, e.g. 30 18 * * mon",
)

ERROR_REASONS: tuple[str, ...] = (
    "empty",
    "unknown_form",
    "bad_time",
    "bad_day",
    "bad_interval",
    "bad_month_day",
    "bad_cron",
    "bad_timezone",
)

DEFAULT_ANCHOR = date(1970, 1, 5)  # a Monday

MAX_EVERY_DAYS = 365
MAX_EVERY_WEEKS = 52
MAX_MONTH_DAY = 28  # the last day every month has: "monthly 31" would skip months silently

_ONE_DAY = timedelta(days=1)
_SIMPLE_SEARCH_DAYS = 400
# A valid cron expression fires at least every 8 years (Feb 29 across 2100); search a bit more.
_CRON_SEARCH_DAYS = 366 * 8 + 14
# Instants of later local days can precede earlier ones by less than a day around a transition;
# after the first hit, look this many more days for an earlier one.
_LOOKAHEAD_DAYS = 2

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS: dict[str, int] = {name: i for i, name in enumerate(_DAY_NAMES)}
_DAYS.update({name: i for i, name in enumerate(_FULL_DAY_NAMES)})

_MONTH_NAMES = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
_FULL_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_CRON_MONTHS: dict[str, int] = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}
_CRON_MONTHS.update({name: i + 1 for i, name in enumerate(_FULL_MONTH_NAMES)})
# cron numbers days of the week from Sunday = 0
_CRON_DOWS: dict[str, int] = {name: (i + 1) % 7 for name, i in _DAYS.items()}
_MAX_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_TZ_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
_TZ_DENY = frozenset({"localtime", "posixrules", "Factory"})
_TZ_AREAS = frozenset(
    {
        "africa", "america", "antarctica", "arctic", "asia", "atlantic", "australia", "europe",
        "indian", "pacific", "etc", "us", "canada", "brazil", "mexico", "chile",
    }
)  # fmt: skip
_CRON_TOKEN_RE = re.compile(r"[0-9a-z*,/\-]+")


class RecurrenceError(ValueError):
    """User input that is not a schedule. `reason` is one of ERROR_REASONS; `detail` is the
    offending token (possibly empty) for the caller's kind error message."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


# ---------------------------------------------------------------------------------------------
# timezones


def valid_timezone(name: str) -> bool:
    """True for IANA names zoneinfo can load ("Europe/London", "UTC"); False for anything else,
    including "", relative or absolute paths and zoneinfo's non-zone files."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return False
    if not _TZ_RE.fullmatch(name) or name in _TZ_DENY:
        return False
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, IsADirectoryError, ValueError (not TZif), ...
        return False
    return True


def split_trailing_timezone(words: list[str]) -> tuple[list[str], str | None]:
    """Split a trailing timezone off command words: `[..., "18:00", "Europe/Paris"]` ->
    `([..., "18:00"], "Europe/Paris")`. Only a valid IANA name containing "/", or UTC/GMT (any
    case, returned uppercase), is split off; otherwise the words come back unchanged with None.
    Never raises: a misspelt zone stays in the words and `parse_recurrence` reports it."""
    words = list(words)
    if not words:
        return words, None
    last = words[-1]
    if last.upper() in ("UTC", "GMT"):
        return words[:-1], last.upper()
    if "/" in last and valid_timezone(last):
        return words[:-1], last
    return words, None


def _looks_like_timezone(token: str) -> bool:
    if "/" not in token or not _TZ_RE.fullmatch(token):
        return False
    return token.split("/", 1)[0].lower() in _TZ_AREAS


# ---------------------------------------------------------------------------------------------
# parsing


@dataclass(frozen=True)
class _Spec:
    kind: str  # daily | weekdays | weekly | every_days | every_weeks | monthly | cron
    text: str  # canonical
    minutes: tuple[int, ...]  # minutes after local midnight, ascending
    weekdays: frozenset[int] = frozenset(range(7))  # Python weekday(), Monday = 0
    interval: int = 1
    months: frozenset[int] = frozenset()
    doms: frozenset[int] = frozenset()
    dows: frozenset[int] = frozenset()  # cron numbering, Sunday = 0
    dom_restricted: bool = False
    dow_restricted: bool = False


def _parse_time(token: str) -> tuple[int, str]:
    match = _TIME_RE.fullmatch(token)
    if not match:
        raise RecurrenceError("bad_time", token)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise RecurrenceError("bad_time", token)
    return hour * 60 + minute, f"{hour:02d}:{minute:02d}"


def _parse_day(token: str) -> int:
    day = _DAYS.get(token.lower())
    if day is None:
        raise RecurrenceError("bad_day", token)
    return day


def _parse_interval(token: str, maximum: int) -> int:
    if not token.isascii() or not token.isdigit():
        raise RecurrenceError("bad_interval", token)
    value = int(token)
    if not 1 <= value <= maximum:
        raise RecurrenceError("bad_interval", token)
    return value


def _simple(kind: str, minutes: int, text: str, **kwargs: object) -> _Spec:
    return _Spec(kind=kind, text=text, minutes=(minutes,), **kwargs)  # type: ignore[arg-type]


def _weekly(days: list[int], minutes: int, hhmm: str) -> _Spec:
    ordered = sorted(days)
    text = f"weekly {','.join(_DAY_NAMES[d] for d in ordered)} {hhmm}"
    return _simple("weekly", minutes, text, weekdays=frozenset(ordered))


def _compile(text: str) -> _Spec:
    """The schedule `text` names, read form by form (see the module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"recurrence text must be a string, not {type(text).__name__}")
    raw = text.split()
    if not raw:
        raise RecurrenceError("empty")
    if _looks_like_timezone(raw[-1]):
        if not valid_timezone(raw[-1]):  # `weekly mon 18:00 Europe/Pariss`
            raise RecurrenceError("bad_timezone", raw[-1])
        raise RecurrenceError("unknown_form", raw[-1])  # a zone the caller didn't split off
    head = raw[0].lower()
    if head in ("daily", "weekdays"):
        return _compile_daily(head, raw)
    if head == "weekly":
        return _compile_weekly(raw)
    if head == "every":
        return _compile_every(raw)
    if head == "monthly":
        return _compile_monthly(raw)
    lowered = [t.lower() for t in raw]
    if _looks_like_cron(lowered):
        return _compile_cron(lowered)
    raise RecurrenceError("unknown_form", raw[0])


def _compile_daily(head: str, raw: list[str]) -> _Spec:
    """`daily HH:MM` or `weekdays HH:MM`."""
    if len(raw) != 2:
        raise RecurrenceError("unknown_form", " ".join(raw))
    minutes, hhmm = _parse_time(raw[1])
    if head == "daily":
        return _simple("daily", minutes, f"daily {hhmm}")
    return _simple("weekdays", minutes, f"weekdays {hhmm}", weekdays=frozenset(range(5)))


def _compile_weekly(raw: list[str]) -> _Spec:
    """`weekly mon[,thu...] HH:MM`: days by name, each at most once."""
    if len(raw) < 3:
        raise RecurrenceError("unknown_form", " ".join(raw))
    names = [n for n in re.split(r"[,\s]+", " ".join(raw[1:-1])) if n]
    if not names:
        raise RecurrenceError("bad_day", "")
    days: list[int] = []
    for name in names:
        day = _parse_day(name)
        if day in days:
            raise RecurrenceError("bad_day", name)
        days.append(day)
    minutes, hhmm = _parse_time(raw[-1])
    return _weekly(days, minutes, hhmm)


def _compile_every(raw: list[str]) -> _Spec:
    """`every N days HH:MM` or `every N weeks <day> HH:MM`."""
    if len(raw) < 4:
        raise RecurrenceError("unknown_form", " ".join(raw))
    unit = raw[2].lower()
    if unit in ("day", "days"):
        return _compile_every_days(raw)
    if unit in ("week", "weeks"):
        return _compile_every_weeks(raw)
    raise RecurrenceError("unknown_form", raw[2])


def _compile_every_days(raw: list[str]) -> _Spec:
    if len(raw) != 4:
        raise RecurrenceError("unknown_form", " ".join(raw))
    interval = _parse_interval(raw[1], MAX_EVERY_DAYS)
    minutes, hhmm = _parse_time(raw[3])
    if interval == 1:
        return _simple("daily", minutes, f"daily {hhmm}")
    return _simple("every_days", minutes, f"every {interval} days {hhmm}", interval=interval)


def _compile_every_weeks(raw: list[str]) -> _Spec:
    if len(raw) != 5:
        raise RecurrenceError("unknown_form", " ".join(raw))
    interval = _parse_interval(raw[1], MAX_EVERY_WEEKS)
    day = _parse_day(raw[3])
    minutes, hhmm = _parse_time(raw[4])
    if interval == 1:
        return _weekly([day], minutes, hhmm)
    return _simple(
        "every_weeks",
        minutes,
        f"every {interval} weeks {_DAY_NAMES[day]} {hhmm}",
        weekdays=frozenset({day}),
        interval=interval,
    )


def _compile_monthly(raw: list[str]) -> _Spec:
    """`monthly D HH:MM`: on day D of every month."""
    if len(raw) != 3:  # `monthly 10:00`: which day is missing
        raise RecurrenceError("unknown_form", raw[0])
    token = raw[1]
    if not (token.isascii() and token.isdigit() and 1 <= int(token) <= MAX_MONTH_DAY):
        raise RecurrenceError("bad_month_day", token)
    minutes, hhmm = _parse_time(raw[2])
    day = int(token)
    return _simple("monthly", minutes, f"monthly {day} {hhmm}", doms=frozenset({day}))


def _looks_like_cron(lowered: list[str]) -> bool:
    """Five fields of cron characters, the first a number or `*`."""
    return (
        len(lowered) == 5
        and (lowered[0][0].isdigit() or lowered[0][0] == "*")
        and all(_CRON_TOKEN_RE.fullmatch(t) for t in lowered)
    )


def _cron_value(token: str, lo: int, hi: int, names: dict[str, int] | None, raw: str) -> int:
    if token.isascii() and token.isdigit():
        value = int(token)
    elif names is not None and token in names:
        value = names[token]
    else:
        raise RecurrenceError("bad_cron", raw)
    if not lo <= value <= hi:
        raise RecurrenceError("bad_cron", raw)
    return value


def _cron_field(
    raw: str, lo: int, hi: int, names: dict[str, int] | None = None, *, dow: bool = False
) -> frozenset[int]:
    values: set[int] = set()
    for item in raw.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()):
                raise RecurrenceError("bad_cron", raw)
            step = int(step_text)
            if not 1 <= step <= hi - lo + 1:
                raise RecurrenceError("bad_cron", raw)
        if base == "*":
            first, last = lo, (6 if dow else hi)
        elif "-" in base:
            a, _, b = base.partition("-")
            first = _cron_value(a, lo, hi, names, raw)
            last = _cron_value(b, lo, hi, names, raw)
            if dow and last == 0 and first > 0:
                last = 7  # fri-sun
            if first > last:
                raise RecurrenceError("bad_cron", raw)
        else:
            if slash:  # `5/10`: not standard cron
                raise RecurrenceError("bad_cron", raw)
            first = last = _cron_value(base, lo, hi, names, raw)
        values.update(range(first, last + 1, step))
    if dow:
        values = {v % 7 for v in values}
    return frozenset(values)


def _compile_cron(fields: list[str]) -> _Spec:
    minute_f, hour_f, dom_f, month_f, dow_f = fields
    minutes = _cron_field(minute_f, 0, 59)
    hours = _cron_field(hour_f, 0, 23)
    doms = _cron_field(dom_f, 1, 31)
    months = _cron_field(month_f, 1, 12, _CRON_MONTHS)
    dows = _cron_field(dow_f, 0, 7, _CRON_DOWS, dow=True)
    dom_restricted = len(doms) < 31
    dow_restricted = len(dows) < 7
    text = " ".join(fields)
    if dom_restricted and not dow_restricted:
        # only day-of-month decides: make sure some chosen month has some chosen day
        if not any(d <= _MAX_MONTH_DAYS[m - 1] for m in months for d in doms):
            raise RecurrenceError("bad_cron", text)
    return _Spec(
        kind="cron",
        text=text,
        minutes=tuple(sorted(h * 60 + m for h in hours for m in minutes)),
        months=months,
        doms=doms,
        dows=dows,
        dom_restricted=dom_restricted,
        dow_restricted=dow_restricted,
    )


# ---------------------------------------------------------------------------------------------
# the schedule


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Recurrence:
    """A parsed schedule. Construct with `parse_recurrence`, or directly from stored fields
    (`Recurrence(text, timezone, anchor)` re-validates and canonicalises `text`)."""

    text: str
    timezone: str
    anchor: date
    _spec: _Spec = field(init=False, repr=False, compare=False, hash=False)
    _tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _week_start: date = field(init=False, repr=False, compare=False, hash=False)
    _deltas: tuple[timedelta, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        spec = _compile(self.text)
        if not valid_timezone(self.timezone):
            raise RecurrenceError("bad_timezone", str(self.timezone))
        tz = ZoneInfo(self.timezone)
        anchor = self.anchor
        if isinstance(anchor, datetime):
            anchor = anchor.astimezone(tz).date() if anchor.tzinfo else anchor.date()
        if not isinstance(anchor, date):
            raise TypeError("anchor must be a date")
        object.__setattr__(self, "text", spec.text)
        object.__setattr__(self, "anchor", anchor)
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_week_start", anchor - timedelta(days=anchor.weekday()))
        object.__setattr__(self, "_deltas", tuple(timedelta(minutes=m) for m in spec.minutes))

    # -- public ---------------------------------------------------------------------------------

    @property
    def uses_anchor(self) -> bool:
        """True when the firing days depend on `anchor` (every N days / every N weeks, N > 1)."""
        return self._spec.kind in ("every_days", "every_weeks")

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after `after` (aware, any zone), as an aware UTC
        datetime."""
        after_utc = _require_aware(after, "after")
        day = after_utc.astimezone(self._tz).date() - _ONE_DAY
        best: datetime | None = None
        stop: date | None = None
        for _ in range(self._search_days() + _LOOKAHEAD_DAYS + 2):
            if self._day_matches(day):
                instants = self._day_instants(day)
                i = bisect_right(instants, after_utc)
                if i < len(instants) and (best is None or instants[i] < best):
                    best = instants[i]
                if best is not None and stop is None:
                    stop = day + timedelta(days=_LOOKAHEAD_DAYS)
            if stop is not None and day >= stop:
                break
            day += _ONE_DAY
        if best is None:
            raise RecurrenceError("bad_cron", self.text)
        return best

    def fires_between(self, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
        """Every fire time t with start < t <= end (aware UTC), ascending, at most `limit`."""
        start_utc = _require_aware(start, "start")
        end_utc = _require_aware(end, "end")
        if limit <= 0 or end_utc <= start_utc:
            return []
        day = start_utc.astimezone(self._tz).date() - _ONE_DAY
        try:
            last_day = end_utc.astimezone(self._tz).date() + _ONE_DAY
        except OverflowError:
            last_day = date.max
        found: set[datetime] = set()
        stop: date | None = None
        idle = 0
        while day <= last_day:
            if self._day_matches(day):
                for instant in self._day_instants(day):
                    if start_utc < instant <= end_utc:
                        found.add(instant)
                        idle = 0
                if stop is None and len(found) >= limit:
                    stop = day + timedelta(days=_LOOKAHEAD_DAYS)
            idle += 1
            if (stop is not None and day >= stop) or idle > self._search_days():
                break
            if day >= date.max - _ONE_DAY:
                break
            day += _ONE_DAY
        return sorted(found)[:limit]

    def typical_interval(self) -> timedelta:
        """Roughly how far apart fires are: for sizing look-ahead windows and rate limits."""
        spec = self._spec
        if spec.kind in ("daily", "weekdays"):
            return timedelta(days=1)
        if spec.kind == "weekly":
            return timedelta(days=7) / len(spec.weekdays)
        if spec.kind == "every_days":
            return timedelta(days=spec.interval)
        if spec.kind == "every_weeks":
            return timedelta(weeks=spec.interval)
        if spec.kind == "monthly":
            return timedelta(days=28)  # the shortest month: windows sized by it never miss one
        start = datetime.combine(self.anchor, time(0), self._tz) - timedelta(microseconds=1)
        first = self.next_after(start)
        return self.next_after(first) - first

    @property
    def shape(self) -> tuple[str, tuple[int, ...], tuple[int, ...], int, int]:
        """What a reader is told: (kind, weekdays Monday = 0, minutes after midnight, interval,
        day of the month or 0). For cron only the kind means anything: it is shown as typed."""
        spec = self._spec
        day = min(spec.doms) if spec.kind == "monthly" else 0
        return spec.kind, tuple(sorted(spec.weekdays)), spec.minutes, spec.interval, day

    # -- internals ------------------------------------------------------------------------------

    def _search_days(self) -> int:
        return _CRON_SEARCH_DAYS if self._spec.kind == "cron" else _SIMPLE_SEARCH_DAYS

    def _day_matches(self, day: date) -> bool:
        spec = self._spec
        if spec.kind == "cron":
            if day.month not in spec.months:
                return False
            dom_ok = day.day in spec.doms
            dow_ok = (day.weekday() + 1) % 7 in spec.dows
            if spec.dom_restricted and spec.dow_restricted:
                return dom_ok or dow_ok
            return dom_ok and dow_ok
        if spec.kind == "monthly":
            return day.day in spec.doms
        if day.weekday() not in spec.weekdays:
            return False
        if spec.kind == "every_days":
            return (day - self.anchor).days % spec.interval == 0
        if spec.kind == "every_weeks":
            return ((day - self._week_start).days // 7) % spec.interval == 0
        return True

    def _day_instants(self, day: date) -> list[datetime]:
        """The UTC instants of this local day's wall times (fold=0), ascending, deduplicated."""
        tz = self._tz
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        following = day + _ONE_DAY
        offset = midnight.utcoffset()
        if (
            offset is not None
            and midnight.replace(hour=12).utcoffset() == offset
            and datetime(following.year, following.month, following.day, tzinfo=tz).utcoffset()
            == offset
        ):
            # no transition today: plain arithmetic
            base = midnight.replace(tzinfo=UTC) - offset
            return [base + delta for delta in self._deltas]
        instants = {
            datetime(day.year, day.month, day.day, m // 60, m % 60, tzinfo=tz).astimezone(UTC)
            for m in self._spec.minutes
        }
        return sorted(instants)


def parse_recurrence(text: str, timezone: str = "UTC", anchor: date | None = None) -> Recurrence:
    """Parse what a facilitator typed. Raises RecurrenceError (a ValueError) with a `reason`
    from ERROR_REASONS and the offending token in `detail`.

    `anchor` is the local date `every N days/weeks` counts from; pass (and store) the date the
    schedule was made. None means DEFAULT_ANCHOR (1970-01-05, a Monday) - fine for validation
    and for every other form, which ignore it.
    """
    return Recurrence(text, timezone, DEFAULT_ANCHOR if anchor is None else anchor)
