"""One parser for text commands (console, Matrix) and structured ones (Discord options).

Both paths end in the same per-argument validation, so every platform refuses bad input with the
same short, specific message and the command's usage line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec
from bot.commands.words import ENGLISH_ONLY, CommandWords
from bot.scheduling.explain import problem
from bot.scheduling.recurrence import (
    RecurrenceError,
    parse_recurrence,
    split_trailing_timezone,
    valid_timezone,
)
from bot.scheduling.words import installed as installed_schedule_words

# Turns a mention as typed ("@sam", "@sam:example.org", "<@123>") into a platform user id.
MentionResolver = Callable[[str], str | None]

MAX_LINE = 4000
INT_LIMIT = 1_000_000_000

# Dates a member gives are bounded: a review date up to MAX_YEARS_AHEAD years ahead, the first
# date of a schedule up to SCHEDULE_YEARS_AHEAD. Beyond such bounds a date means nothing to a
# peer space, and near year 9999 time arithmetic overflows (a UTC+13 view of 9999-12-31 did).
# Durations are bounded in their specs (e.g. `pair pause` 1-365 days).
MAX_YEARS_AHEAD = 5
SCHEDULE_YEARS_AHEAD = 1


@dataclass(frozen=True)
class RecurrenceArg:
    text: str  # the recurrence words, canonicalised
    timezone: str | None  # None: use the community's


@dataclass(frozen=True)
class PlainName:
    """A member named plainly ("sam", not "@sam"): the core looks it up among the community's
    known members after parsing (the parser has no storage), see `App._resolve_names`."""

    text: str


# A name as people type one: letters, digits and . _ - (no spaces, no markup).
_PLAIN_NAME = re.compile(r"^[^\W_][\w.\-]{0,63}$")


@dataclass
class ParseError(Exception):
    """Bad input. `key`/`params` name the message; `spec` (if known) adds its usage line."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    spec: CommandSpec | None = None

    def __str__(self) -> str:
        return f"{self.key} {self.params}"


@dataclass(frozen=True)
class ParsedCommand:
    spec: CommandSpec
    args: dict[str, Any]


def years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for a 29 February that does not recur)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def latest_review_date(today: date) -> date:
    return years_after(today, MAX_YEARS_AHEAD)


def latest_schedule_start(today: date) -> date:
    return years_after(today, SCHEDULE_YEARS_AHEAD)


def _bad_characters(text: str) -> bool:
    return any(
        unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n\t" for ch in text
    )


def find_command(
    registry: Registry, words: list[str], vocabulary: CommandWords = ENGLISH_ONLY, locale: str = "en"
) -> tuple[CommandSpec, int]:
    """The spec whose name is the longest prefix of `words` (in English or any locale's words),
    and how many words it used. An unknown subcommand is answered in `locale`'s words."""
    lowered = [word.lower() for word in vocabulary.canonical_path(words)]
    best: tuple[CommandSpec, int] | None = None
    for spec in registry.specs():
        size = len(spec.path)
        if tuple(lowered[:size]) == spec.path and (best is None or size > best[1]):
            best = (spec, size)
    if best is not None:
        return best
    if not lowered:
        raise ParseError("parse.empty")
    group = [spec for spec in registry.specs() if spec.group == lowered[0]]
    if group:
        raise ParseError(
            "parse.unknown_subcommand",
            {
                "group": vocabulary.command(locale, (lowered[0],)),
                "options": ", ".join(vocabulary.command(locale, spec.path) for spec in group),
            },
        )
    raise ParseError("parse.unknown_command", {"word": words[0][:40]})


def parse_text(
    registry: Registry,
    text: str,
    resolve_mention: MentionResolver,
    vocabulary: CommandWords = ENGLISH_ONLY,
    locale: str = "en",
) -> ParsedCommand:
    """Parse `questions schedule weekly mon 18:00` (no prefix) into a spec and typed arguments.
    Any locale's command words are read as English (`preguntas enfoque avanzar` is `questions
    focus moving_towards`); bad input is answered in `locale`'s words."""
    if len(text) > MAX_LINE:
        raise ParseError("parse.too_long", {"max": MAX_LINE})
    if _bad_characters(text):
        raise ParseError("parse.bad_characters")
    stripped = text.strip()
    words = stripped.split()
    spec, used = find_command(registry, words, vocabulary, locale)
    # Keep the raw remainder so free text keeps its own spacing and line breaks.
    rest = stripped
    for _ in range(used):
        rest = rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
    raw: dict[str, str] = {}
    for index, arg in enumerate(spec.args):
        if not rest:
            break
        if arg.consumes_rest:
            raw[arg.name] = rest.strip()
            rest = ""
            break
        # A member argument is a mention; an optional one must not swallow the next argument.
        token, _, rest = rest.partition(" ")
        rest = rest.strip()
        remaining = spec.args[index + 1 :]
        if not arg.required and not _looks_like(arg, token, remaining, vocabulary) and remaining:
            rest = f"{token} {rest}".strip()
            continue
        raw[arg.name] = token
    if rest:
        if spec.too_many_key:
            raise ParseError(spec.too_many_key, {"extra": rest[:40]})
        raise ParseError("parse.too_many", {"extra": rest[:40]}, spec)
    return ParsedCommand(spec, validate_args(spec, raw, resolve_mention, vocabulary, locale))


def _looks_like(
    arg: Arg, token: str, remaining: tuple[Arg, ...] = (), vocabulary: CommandWords = ENGLISH_ONLY
) -> bool:
    if arg.type is ArgType.INT:
        return token.isascii() and token.lstrip("-").isdigit()
    if arg.type is ArgType.CHOICE:
        return vocabulary.choice(arg, token) is not None
    if arg.type is ArgType.MEMBER:
        # A plain name is a member only where nothing but members can follow: before free text
        # (`agreement amend 3 my words`) the first word is the text's.
        plain = all(later.type is ArgType.MEMBER for later in remaining) and bool(_PLAIN_NAME.match(token))
        return token.startswith(("@", "<@")) or plain
    return True


def parse_structured(
    registry: Registry,
    name: str,
    options: Mapping[str, Any],
    resolve_mention: MentionResolver,
    vocabulary: CommandWords = ENGLISH_ONLY,
    locale: str = "en",
) -> ParsedCommand:
    """Validate options a platform delivered already split (e.g. Discord slash-command options:
    their names arrive in English whatever the member's client shows; a value typed into a
    suggested field may be any locale's word)."""
    spec = registry.get(name)
    if spec is None:
        raise ParseError("parse.unknown_command", {"word": name[:40]})
    known = {arg.name for arg in spec.args}
    unknown = [key for key in options if key not in known]
    if unknown:
        raise ParseError("parse.too_many", {"extra": unknown[0][:40]}, spec)
    raw = {key: value for key, value in options.items() if value is not None}
    return ParsedCommand(spec, validate_args(spec, raw, resolve_mention, vocabulary, locale))


def validate_args(
    spec: CommandSpec,
    raw: Mapping[str, Any],
    resolve_mention: MentionResolver,
    vocabulary: CommandWords = ENGLISH_ONLY,
    locale: str = "en",
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for arg in spec.args:
        given = raw.get(arg.name)
        if given is None or (isinstance(given, str) and not given.strip()):
            if arg.required:
                raise ParseError("parse.missing", {"arg": vocabulary.option(locale, arg.name)}, spec)
            values[arg.name] = None
            continue
        if isinstance(given, str):
            given = vocabulary.argument(arg, given)
        values[arg.name] = _convert(spec, arg, given, resolve_mention, vocabulary, locale)
    return values


def _choice(spec: CommandSpec, arg: Arg, text: str, vocabulary: CommandWords, locale: str) -> str:
    """The English choice for `text` (typed in any locale's words), or a refusal listing the
    choices in the reader's words."""
    chosen = vocabulary.choice(arg, text)
    if chosen is None:
        choices = vocabulary.choices(locale, arg)
        params = {"arg": vocabulary.option(locale, arg.name), "given": text[:40], "choices": choices}
        raise ParseError("parse.bad_choice", params, spec)
    return chosen


def _convert(
    spec: CommandSpec,
    arg: Arg,
    given: Any,
    resolve_mention: MentionResolver,
    vocabulary: CommandWords = ENGLISH_ONLY,
    locale: str = "en",
) -> Any:
    name = vocabulary.option(locale, arg.name)  # the argument as the reader knows it
    if isinstance(given, bool) or not isinstance(given, str | int):
        raise ParseError("parse.bad_type", {"arg": name}, spec)
    text = str(given).strip()
    if _bad_characters(text):
        raise ParseError("parse.bad_characters", {}, spec)
    match arg.type:
        case ArgType.INT:
            try:
                number = int(text)
            except ValueError:
                raise ParseError("parse.not_a_number", {"arg": name, "given": text[:20]}, spec) from None
            # Unbounded in the spec still means bounded in storage (SQLite integers are 64-bit).
            low = arg.min if arg.min is not None else -INT_LIMIT
            high = arg.max if arg.max is not None else INT_LIMIT
            if not low <= number <= high:
                raise ParseError("parse.out_of_range", {"arg": name, "min": low, "max": high}, spec)
            return number
        case ArgType.CHOICE:
            return _choice(spec, arg, text, vocabulary, locale)
        case ArgType.MEMBER:
            user_id = resolve_mention(text)
            if user_id:
                return user_id
            if _PLAIN_NAME.match(text):
                return PlainName(text)
            raise ParseError("parse.bad_mention", {"given": text[:60]}, spec)
        case ArgType.TIMEZONE:
            if not valid_timezone(text):
                raise ParseError("parse.bad_timezone", {"given": text[:60]}, spec)
            return text
        case ArgType.RECURRENCE:
            # Any locale's schedule words (`semanal lun 10:00`) are read as the English form.
            words, timezone = split_trailing_timezone(installed_schedule_words().english(text).split())
            try:
                recurrence = parse_recurrence(" ".join(words), timezone or "UTC")
            except RecurrenceError as error:
                # Name the part that failed (which timezone, which time), not just "the schedule".
                key, params = problem(error, " ".join(words))
                raise ParseError(key, params, spec) from None
            return RecurrenceArg(recurrence.text, timezone)
        case _:
            if arg.min is not None and len(text) < arg.min:
                raise ParseError("parse.too_short", {"arg": name, "min": arg.min}, spec)
            if arg.max is not None and len(text) > arg.max:
                raise ParseError(
                    "parse.text_too_long", {"arg": name, "max": arg.max, "given_length": len(text)}, spec
                )
            return text
