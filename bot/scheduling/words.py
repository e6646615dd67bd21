"""Schedule words in every locale: `diario 18:00`, `semanal lun,jue 19:30`, `cada 2 semanas lun
10:00`, `tamano 4 juntos 3` read as the English the recurrence parser and the pairing grouping
know. Pure and data-driven: each locale's words come from `prompts/<locale>/schedule.toml`
(`[words]`, a local word = the English word it stands for), so a third locale only adds a file.

Like command words, every locale's schedule words are read whoever types them, and English always
works. Words are compared without case or accents ("miércoles" and "miercoles" are one word). A
cron expression (its first field a number or `*`) is left exactly as typed: cron's own names
(`mar` is March there) are English-only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Compared as command words are: without case or accents (one rule for every word typed).
from bot.commands.words import fold

FILE = "schedule"  # prompts/<locale>/schedule.toml
# Every English word a locale may give a word for (what the parsers read).
ENGLISH_WORDS = frozenset(
    {
        "daily", "weekdays", "weekly", "every", "day", "days", "week", "weeks", "monthly",
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "size", "together", "from",
    }
)  # fmt: skip
_TOKEN = re.compile(r"[^\s,]+")
_AFTER_CRON = frozenset({"size", "together", "from"})


@dataclass(frozen=True)
class ScheduleWords:
    """Local schedule words (folded) -> English, from every locale's schedule.toml."""

    english_for: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_tables(cls, tables: Iterable[Mapping[str, object]]) -> ScheduleWords:
        """From each locale's `[words]` table. A word two locales read differently is dropped
        (`problems` names it) rather than read one way for everybody."""
        found: dict[str, str] = {}
        clashes: set[str] = set()
        for table in tables:
            for local, english in table.items():
                if not isinstance(english, str) or english not in ENGLISH_WORDS:
                    continue
                key = fold(local)
                if found.get(key, english) != english:
                    clashes.add(key)
                found[key] = english
        return cls({k: v for k, v in found.items() if k not in clashes and fold(k) not in ENGLISH_WORDS})

    @staticmethod
    def problems(locale: str, table: Mapping[str, object]) -> list[str]:
        """What is wrong in one locale's `[words]`: an English word the parser doesn't know."""
        return [
            f"prompts/{locale}/schedule.toml: {local} = {english!r} is not a schedule word "
            f"({', '.join(sorted(ENGLISH_WORDS))})"
            for local, english in table.items()
            if not isinstance(english, str) or english not in ENGLISH_WORDS
        ]

    def english(self, text: str) -> str:
        """`semanal lun,jue 19:30` -> `weekly mon,thu 19:30`; anything else is kept as typed."""
        stripped = text.strip()
        cron = bool(stripped) and (stripped[0].isdigit() or stripped[0] == "*")
        # In cron only pairing's own words are read (`0 10 * * mon tamano 4`); its fields stay.
        allowed = _AFTER_CRON if cron else None

        def read(match: re.Match[str]) -> str:
            english = self.english_for.get(fold(match.group(0)))
            return english if english and (allowed is None or english in allowed) else match.group(0)

        return _TOKEN.sub(read, text)

    def english_words(self, words: list[str]) -> list[str]:
        return self.english(" ".join(words)).split() if words else words


_installed = ScheduleWords()


def install(words: ScheduleWords) -> None:
    """Make these words the ones read everywhere in this process (the catalog does, when it
    loads): the command parser reads a schedule before any feature, with no catalog at hand."""
    global _installed
    _installed = ScheduleWords({**_installed.english_for, **words.english_for})


def installed() -> ScheduleWords:
    return _installed
