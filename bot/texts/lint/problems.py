"""What the lint reports: one problem (file, line, rule, the text, what was found), and how the
findings in one text become problems."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.texts.lint.text_rules import check_text

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
    items share the list's key)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from walk_strings(child, f"{key}.{child_key}" if key else str(child_key))
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item, key)


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

