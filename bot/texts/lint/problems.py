"""What the lint reports: one problem (file, line, rule, the text, what was found), and how the
findings in one text become problems."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.texts.lint.text_rules import check_text

PLURAL_KEY = "plural"  # as bot.texts.catalog reads it: a table with it is one plural message
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")

MAX_PROBLEM_TEXT = 80


@dataclass(frozen=True)
class LintProblem:
    path: str
    line: int
    rule: str
    text: str
    detail: str = ""

    def __str__(self) -> str:
        shown = f"{self.path}:{self.line}: {self.rule}: {self.text}"
        return f"{shown} [{self.detail}]" if self.detail else shown


def short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_PROBLEM_TEXT:
        return text
    return text[: MAX_PROBLEM_TEXT - 3] + "..."


def walk_strings(value: Any, key: str | None) -> Iterator[tuple[str | None, str]]:
    """Yield (dotted key, string) for every string in a parsed TOML value, in order (a list's
    items share the list's key, and so do a plural message's forms; its `plural` selector names
    a parameter and is no text)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict) and PLURAL_KEY in value:
        for child_key, child in value.items():
            if child_key != PLURAL_KEY:
                yield from walk_strings(child, key)
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from walk_strings(child, f"{key}.{child_key}" if key else str(child_key))
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item, key)


def plural_tables(value: Any, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted key, table) for every plural message in a parsed messages file."""
    if isinstance(value, dict) and PLURAL_KEY in value:
        yield key, value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from plural_tables(child, f"{key}.{child_key}")


def plural_problems(key: str, table: dict[str, Any], needed: frozenset[str]) -> list[str]:
    """What is wrong with one plural message's shape, for a locale whose CLDR rule gives the
    categories `needed` ("other" is always needed; a category the rule never gives is dead)."""
    forms = {k for k in table if k != PLURAL_KEY}
    found = []
    if not isinstance(table[PLURAL_KEY], str) or not table[PLURAL_KEY].isidentifier():
        found.append(f"{key}: plural must name the counted parameter, e.g. plural = \"count\"")
    unknown = sorted(forms - set(PLURAL_CATEGORIES))
    if unknown:
        found.append(f"{key}: {', '.join(unknown)} is not a CLDR plural category")
    missing = [c for c in PLURAL_CATEGORIES if c in needed | {"other"} and c not in forms]
    if missing:
        found.append(f"{key}: needs its {', '.join(missing)} form (this locale's CLDR plural rule uses it)")
    unused = sorted(forms & set(PLURAL_CATEGORIES) - needed - {"other"})
    if unused:
        found.append(f"{key}: this locale's CLDR plural rule never picks {', '.join(unused)}")
    return found


def last_key(key: str | None) -> str | None:
    return key.rsplit(".", 1)[-1] if key else None


def text_problems(
    shown: str, line: int, text: str, locale: str, *, question: bool = False, closed_ok: bool = False
) -> list[LintProblem]:
    """One problem per rule the text breaks, naming what was found."""
    by_rule: dict[str, list[str]] = {}
    for finding in check_text(text, locale, question=question, closed_ok=closed_ok):
        by_rule.setdefault(finding.rule, []).append(finding.detail)
    return [
        LintProblem(shown, line, rule, short(text), "; ".join(dict.fromkeys(details)))
        for rule, details in by_rule.items()
    ]

