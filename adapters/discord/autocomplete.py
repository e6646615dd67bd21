"""Suggestions while a member types an option: timezones, schedules, choices, their own
agreement ids, command names. Suggestions only help; whatever is typed is still validated by
the core, and a member can always type something that is not suggested."""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from adapters.discord.personal_data import PLATFORM
from adapters.discord.tree import TIMEZONE_OPTION, Route
from bot.app import App, ArgType, fold_word

log = logging.getLogger(__name__)

MAX_SUGGESTIONS = 25
_COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Sao_Paulo",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def timezones(current: str) -> list[str]:
    typed = current.strip().lower()
    if not typed:
        return list(_COMMON_ZONES[:MAX_SUGGESTIONS])
    starts = [z for z in _zones() if z.lower().startswith(typed)]
    contains = [z for z in _zones() if typed in z.lower() and z not in starts]
    return (starts + contains)[:MAX_SUGGESTIONS]


def _filtered(options: list[str], current: str, *, keep_typed: bool = False) -> list[str]:
    typed = current.strip()
    matching = [o for o in options if typed.lower() in o.lower()] if typed else list(options)
    if keep_typed and typed and typed not in matching:
        matching.insert(0, typed[:100])
    return matching[:MAX_SUGGESTIONS]


def _named(pairs: list[tuple[str, str]], current: str) -> list[tuple[str, str]]:
    """(name, value) pairs whose name or value holds what was typed (without case or accents)."""
    typed = fold_word(current.strip())
    return [(n, v) for n, v in pairs if typed in fold_word(n) or typed in fold_word(v)][:MAX_SUGGESTIONS]


async def suggestions(
    app: App,
    route: Route,
    values: Mapping[str, Any],
    focused: str,
    guild_id: str,
    user_id: str,
    locale: str = "en",
) -> list[tuple[str, str]]:
    """(name shown, value) pairs for the focused option. Choices and command names are shown in
    `locale` (the member's Discord client's, when Alongside has it); the values stay English."""
    current = str(values.get(focused) or "")
    arg = route.arguments.get(focused)
    if (focused == TIMEZONE_OPTION and route.recurrence_arg) or (arg is not None and arg.type is ArgType.TIMEZONE):
        return [(z, z) for z in timezones(current)]
    if arg is None:
        return []
    if arg.type is ArgType.RECURRENCE or arg.name == "recurrence":
        examples = app.catalog.text("en", "discord.recurrence_examples").splitlines()
        return [(e, e) for e in _filtered([e.strip() for e in examples if e.strip()], current, keep_typed=True)]
    if arg.type is ArgType.CHOICE:
        return _named([(app.words.value(locale, c), c) for c in arg.choices], current)
    if route.spec.group == "help" and arg.name == "command":
        names = sorted((app.words.name(locale, spec), spec.name) for spec in app.registry.specs())
        return _named(names, current)
    if route.spec.group == "agreement" and arg.name == "id":
        return [(f"#{i}", i) for i in _filtered(await _agreement_ids(app, guild_id, user_id), current.lstrip("#"))]
    return []


async def _agreement_ids(app: App, guild_id: str, user_id: str) -> list[str]:
    """The short ids of the member's own agreements (nobody else's)."""
    try:
        return await app.agreement_choices(PLATFORM, guild_id, user_id)
    except Exception:  # suggestions are a nicety; never let them break typing
        log.exception("agreement id suggestions failed")
        return []
