"""Dates, times, weekday names, lists, numbers and plural categories from CLDR (through Babel),
for the locale a text is rendered in.

Never strftime or a hand-joined list in text people read: "Mon 05 Jan" and "alex, sam and jo"
are English, and a Spanish reader gets "lun, 5 ene" and "alex, sam y jo" from the same call.
A locale folder may name the CLDR locale its words follow in `formats.toml` (`cldr = "en_001"`:
Alongside's English is international English, "Monday 5 January", not the US "Monday, January 5");
otherwise the folder's own name is used, and a name Babel does not know falls back to English.
Times are always 24-hour ("18:30"), the same form schedules are typed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, get_datetime_format, get_day_names
from babel.lists import format_list
from babel.numbers import format_decimal

FALLBACK_CLDR = "en_001"
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")

# CLDR skeletons (which fields, not their order or punctuation: the locale decides those).
_DAY = "yMMMEd"  # Mon, 5 Jan 2026 / lun, 5 ene 2026
_LONG_DAY = "MMMMEEEEd"  # Monday 5 January / lun, 5 de enero
_TIME = "Hm"  # 18:30


@cache
def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(FALLBACK_CLDR)


@dataclass(frozen=True)
class Formats:
    """How one locale writes dates, times, lists, numbers and plurals."""

    cldr: str = FALLBACK_CLDR
    _babel: Locale = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_babel", _locale(self.cldr))

    # -- dates and times -------------------------------------------------------------------------

    @staticmethod
    def _local(moment: datetime | date, timezone: str | None) -> datetime | date:
        if isinstance(moment, datetime) and timezone:
            try:
                return moment.astimezone(ZoneInfo(timezone))
            except OverflowError:  # a far date stored before dates were bounded
                return moment
        return moment

    def day(self, moment: datetime | date, timezone: str | None = None) -> str:
        """"Mon, 5 Jan 2026" / "lun, 5 ene 2026"."""
        return format_skeleton(_DAY, self._local(moment, timezone), locale=self._babel)

    def long_day(self, moment: datetime | date, timezone: str | None = None) -> str:
        """"Monday 5 January" / "lun, 5 de enero" (no year: for dates within the coming months)."""
        return format_skeleton(_LONG_DAY, self._local(moment, timezone), locale=self._babel)

    def time(self, moment: datetime, timezone: str | None = None) -> str:
        """"18:30": 24-hour in every locale."""
        return format_skeleton(_TIME, self._local(moment, timezone), locale=self._babel)

    def clock(self, hour: int, minute: int) -> str:
        """A wall time with no day, as schedules hold them."""
        return self.time(datetime(2000, 1, 3, hour, minute))

    def when(self, moment: datetime, timezone: str | None = None) -> str:
        """Day and time in the locale's own order: "Mon, 5 Jan 2026, 18:30"."""
        local = self._local(moment, timezone)
        pattern = str(get_datetime_format("medium", locale=self._babel))
        return pattern.replace("{1}", self.day(local)).replace("{0}", self.time(local))  # type: ignore[arg-type]

    def weekday(self, index: int, *, short: bool = False) -> str:
        """Python numbering (Monday = 0): "Monday"/"lunes", or "Mon"/"lun" when short."""
        width = "abbreviated" if short else "wide"
        return str(get_day_names(width, context="format", locale=self._babel)[index])

    # -- lists, numbers, plurals -----------------------------------------------------------------

    def and_list(self, items: Iterable[str]) -> str:
        """"alex, sam and jo" / "alex, sam y jo"; one item alone; "" for none."""
        words = [str(item) for item in items]
        return format_list(words, style="standard", locale=self._babel) if words else ""

    def or_list(self, items: Iterable[str]) -> str:
        """"light, mixed or deep" / "ligera, mixta o profunda"."""
        words = [str(item) for item in items]
        return format_list(words, style="or", locale=self._babel) if words else ""

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self._babel)

    def plural(self, value: int | float | Decimal) -> str:
        """The CLDR plural category of a count: "one", "many", "other"…"""
        return str(self._babel.plural_form(abs(value)))

    def plural_categories(self) -> frozenset[str]:
        """The categories this locale's plural rule can give (always with "other")."""
        return frozenset(self._babel.plural_form.tags) | {"other"}


@cache
def formats_for(cldr: str) -> Formats:
    return Formats(cldr)


def known_cldr(name: str) -> bool:
    try:
        Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True
