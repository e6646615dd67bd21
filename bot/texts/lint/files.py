"""Linting prompt files: one file (in its folder's locale), every file under a folder, and the
command line (``alongside prompts lint [path]`` or ``python -m bot.texts.lint [path ...]``)."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from bot.texts.lint.locate import Locator
from bot.texts.lint.problems import (
    LintProblem,
    last_key,
    plural_problems,
    plural_tables,
    short,
    text_problems,
    walk_strings,
)
from bot.texts.lint.question_bank import is_question_bank, lint_questions
from bot.texts.lint.text_rules import asks_closed_question
from bot.texts.lint.word_lists import (
    DEFAULT_LOCALE,
    closed_question_allowance,
    locale_of,
    words_for,
)


def lint_file(path: Path, locale: str | None = None) -> list[LintProblem]:
    """Lint one TOML file; return its problems in line order. The locale is the file's folder
    (``prompts/en/``) unless given."""
    path = Path(path)
    shown = str(path)
    locale = locale or locale_of(path)
    problems: list[LintProblem] = []
    if words_for(locale) is None:
        problems.append(
            LintProblem(
                shown, 1, "locale", f"no word list for locale '{locale}': add bot/texts/lint_data/{locale}.toml"
            )
        )
        locale = DEFAULT_LOCALE  # still read it for everything the English list can catch
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [LintProblem(shown, 1, "toml", short(f"not UTF-8: {error}"))]
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        return [LintProblem(shown, _decode_error_line(error), "toml", short(str(error)))]

    locator = Locator(raw)
    # Message keys (as the catalogue flattens them) may be declared confirmations or offers.
    allowance = closed_question_allowance() if path.stem.startswith("messages") else {}

    if path.stem.startswith("messages"):
        needed = _plural_categories(locale)
        for key, value in data.items():
            for dotted, table in plural_tables(value, str(key)):
                line = locator.line_of(max(locator.find_key(dotted.rsplit(".", 1)[-1]), 0))
                problems.extend(LintProblem(shown, line, "plural", text) for text in plural_problems(dotted, table, needed))

    for key, value in data.items():
        if key == "question" and is_question_bank(data):
            problems.extend(lint_questions(shown, value, locator, locale))
            continue
        for dotted, text in walk_strings(value, str(key)):
            line = locator.find_value(text, key=last_key(dotted))
            allowed = dotted in allowance
            problems.extend(text_problems(shown, line, text, locale, closed_ok=allowed))
            if allowed and not asks_closed_question(text, locale):
                problems.append(
                    LintProblem(
                        shown,
                        line,
                        "allowance",
                        short(text),
                        f"{dotted} asks no closed question now: take it out of closed_questions.toml",
                    )
                )

    problems.sort(key=lambda problem: problem.line)
    return problems


def _plural_categories(locale: str) -> frozenset[str]:
    """The CLDR plural categories `locale` uses. Babel (Alongside's CLDR library) is imported
    here only, so the rest of the lint runs on the standard library alone; without it, only
    `other` is required."""
    try:
        from bot.texts.formats import formats_for
    except ImportError:  # pragma: no cover - Babel is a dependency; the lint can run without it
        return frozenset({"other"})
    return formats_for(locale).plural_categories()


def _decode_error_line(error: tomllib.TOMLDecodeError) -> int:
    lineno = getattr(error, "lineno", None)
    if isinstance(lineno, int) and lineno > 0:
        return lineno
    match = re.search(r"\bline (\d+)", str(error))
    return int(match.group(1)) if match else 1


def lint_path(path: Path) -> list[LintProblem]:
    """Lint a single file, or every ``*.toml`` under a directory (recursively, sorted)."""
    path = Path(path)
    if path.is_dir():
        problems: list[LintProblem] = []
        for file in sorted(p for p in path.rglob("*.toml") if p.is_file()):
            problems.extend(lint_file(file))
        return problems
    if not path.exists():
        raise FileNotFoundError(path)
    return lint_file(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: lint the given paths (default ``prompts``); exit 1 if anything is found."""
    args = list(sys.argv[1:] if argv is None else argv) or ["prompts"]
    problems: list[LintProblem] = []
    for arg in args:
        try:
            problems.extend(lint_path(Path(arg)))
        except FileNotFoundError:
            print(f"{arg}: no such file or directory", file=sys.stderr)
            return 2
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    return 0
