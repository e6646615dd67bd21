"""Linter for the human-written texts under ``prompts/``.

Every sentence Alongside says comes from a TOML file under ``prompts/<locale>/``. This module
checks those files against the product's language rules (PRODUCT.md sections 2 and 3):

* every file must parse (rule ``toml``);
* every string value anywhere in any file is checked for the avoided words (``avoided-word``);
* files holding ``[[question]]`` tables (the reflective question bank) are also checked for
  their schema (``schema``), unique ids (``duplicate-id``), and for being open, invitational
  questions: ending with ``?`` (``question-mark``), at most 280 characters (``length``), not
  starting with a yes/no opener (``yes-no``) and never containing "should" (``should``).

Run it from the command line with ``python -m bot.texts.lint [path ...]`` (default ``prompts``).
This module deliberately depends on nothing outside the standard library.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AUDIENCES",
    "AVOIDED_TERMS",
    "DEPTHS",
    "MAX_QUESTION_LENGTH",
    "QUESTION_ID_RE",
    "TASKS",
    "YES_NO_OPENERS",
    "LintProblem",
    "avoided_terms_in",
    "lint_file",
    "lint_path",
    "main",
]


@dataclass(frozen=True)
class LintProblem:
    path: str
    line: int
    rule: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.text}"


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

#: Words and phrases the bot never says (PRODUCT.md section 2). Matched case-insensitively on
#: word boundaries, so "in case" is caught but "showcase" is not. A plain plural ("cases",
#: "clients", "illnesses") counts as the same word.
AVOIDED_TERMS: tuple[str, ...] = (
    "helper",
    "helpee",
    "client",
    "patient",
    "case",
    "symptom",
    "symptoms",
    "disorder",
    "illness",
    "compliance",
    "compliant",
    "non-compliant",
    "manipulative",
    "intervention",
    "monitoring",
    "risk assessment",
    "safety contract",
    "are you safe",
    "you should",
)

#: Openers that turn a question into a yes/no question. Matched case-insensitively at the start
#: of the question text, on a word boundary ("Does" catches "Doesn't", but "Wasabi" is fine).
YES_NO_OPENERS: tuple[str, ...] = (
    # the phrases named in the style guide
    "do you",
    "are you",
    "is it",
    "have you",
    "did you",
    "does",
    "can you",
    "would you",
    "will you",
    "could you",
    "is there",
    "was",
    "were",
    # the same auxiliaries with other subjects ("Do we", "Is this", "Has anyone", "Am I" ...)
    "do",
    "did",
    "are",
    "is",
    "am",
    "have",
    "has",
    "had",
    "can",
    "could",
    "would",
    "will",
    "shall",
    "should",
    "must",
    # negated forms ("Don't you", "Isn't it" ...)
    "don't",
    "doesn't",
    "didn't",
    "aren't",
    "isn't",
    "wasn't",
    "weren't",
    "haven't",
    "hasn't",
    "hadn't",
    "can't",
    "couldn't",
    "wouldn't",
    "won't",
    "shouldn't",
)

TASKS: frozenset[str] = frozenset({"connection", "worldview", "mutuality", "moving_towards"})
AUDIENCES: frozenset[str] = frozenset({"group", "pair", "self"})
DEPTHS: frozenset[str] = frozenset({"light", "medium", "deep"})
QUESTION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_QUESTION_LENGTH = 280
MAX_PROBLEM_TEXT = 80

_REQUIRED_FIELDS: dict[str, type] = {
    "id": str,
    "text": str,
    "tasks": list,
    "audience": str,
    "depth": str,
}
_OPTIONAL_FIELDS: dict[str, type] = {"content_note": str}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _term_pattern(term: str) -> str:
    words = [re.escape(word) for word in term.split()]
    # Any run of whitespace between the words of a phrase; an optional plain plural at the end.
    return r"\b" + r"\s+".join(words) + r"(?:s|es)?\b"


# Longest terms first, so that "non-compliant" wins over "compliant" at the same position and
# "symptoms" over "symptom".
_TERMS_BY_LENGTH = sorted(AVOIDED_TERMS, key=len, reverse=True)
_AVOIDED_RE = re.compile(
    "|".join(f"(?P<t{i}>{_term_pattern(term)})" for i, term in enumerate(_TERMS_BY_LENGTH)),
    re.IGNORECASE,
)
_YES_NO_RE = re.compile(
    r"^(?:"
    + "|".join(
        re.escape(opener).replace(r"\ ", r"\s+")
        for opener in sorted(YES_NO_OPENERS, key=len, reverse=True)
    )
    + r")(?![\w'])",
    re.IGNORECASE,
)
_SHOULD_RE = re.compile(r"\bshould\b", re.IGNORECASE)


def avoided_terms_in(text: str) -> list[str]:
    """Return the avoided terms found in ``text``, in order of first appearance, no repeats.

    Each entry is the canonical spelling from :data:`AVOIDED_TERMS` (``"Cases"`` → ``"case"``).
    """
    found: list[str] = []
    for match in _AVOIDED_RE.finditer(text.translate(_APOSTROPHES)):
        assert match.lastgroup is not None
        term = _TERMS_BY_LENGTH[int(match.lastgroup[1:])]
        if term not in found:
            found.append(term)
    return found


def _starts_with_yes_no(text: str) -> bool:
    stripped = text.translate(_APOSTROPHES).lstrip(" \t\r\n\"'\u201c(*_")
    return _YES_NO_RE.match(stripped) is not None


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_PROBLEM_TEXT:
        return text
    return text[: MAX_PROBLEM_TEXT - 3] + "..."


# --------------------------------------------------------------------------------------------
# Locating values in the raw text
# --------------------------------------------------------------------------------------------


def _toml_basic(value: str) -> str:
    """Encode ``value`` as a one-line TOML basic string, the way a person would write it."""
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_HEADER_RE = re.compile(r"^[ \t]*\[", re.MULTILINE)
_QUESTION_HEADER_RE = re.compile(
    r"""^[ \t]*\[\[[ \t]*(?:question|"question"|'question')[ \t]*\]\][ \t]*(?:\#.*)?$""",
    re.MULTILINE,
)


class _Locator:
    """Finds the 1-based line on which a string value (or a key) appears in the raw file."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._line_starts = [0]
        for index, char in enumerate(raw):
            if char == "\n":
                self._line_starts.append(index + 1)
        self._seen: Counter[str] = Counter()

    def line_of(self, offset: int) -> int:
        low, high = 0, len(self._line_starts) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self._line_starts[mid] <= offset:
                low = mid
            else:
                high = mid - 1
        return low + 1

    @staticmethod
    def _candidates(value: str) -> list[str]:
        candidates = [_toml_basic(value)]
        if "'" not in value and "\n" not in value:
            candidates.append(f"'{value}'")
        first_line = next((line.strip() for line in value.splitlines() if line.strip()), "")
        if first_line:
            candidates.append(first_line)
        return candidates

    def _find_nth(self, needle: str, start: int, end: int, nth: int) -> int:
        position = start
        found = -1
        for _ in range(nth + 1):
            found = self.raw.find(needle, position, end)
            if found < 0:
                return -1
            position = found + 1
        return found

    def find_key(self, key: str, start: int = 0, end: int | None = None) -> int:
        """Offset of ``key = ...`` at or after ``start`` (before ``end``), or -1."""
        name = re.escape(key)
        pattern = re.compile(rf"""^[ \t]*(?:{name}|"{name}"|'{name}')[ \t]*=""", re.MULTILINE)
        match = pattern.search(self.raw, start, len(self.raw) if end is None else end)
        return match.start() if match else -1

    def find_value(
        self, value: str, *, key: str | None, start: int = 0, end: int | None = None
    ) -> int:
        """Line of ``value`` inside ``[start, end)``; the document order of repeats is kept by
        counting how many times the same value was looked up (outside any block)."""
        stop = len(self.raw) if end is None else end
        in_block = start > 0 or end is not None
        nth = 0 if in_block else self._seen[value]
        if not in_block:
            self._seen[value] += 1
        for candidate in self._candidates(value):
            offset = self._find_nth(candidate, start, stop, nth)
            if offset < 0 and nth:
                offset = self._find_nth(candidate, start, stop, 0)
            if offset >= 0:
                return self.line_of(offset)
        if key is not None:
            offset = self.find_key(key, start, stop)
            if offset >= 0:
                return self.line_of(offset)
        return self.line_of(start)


# --------------------------------------------------------------------------------------------
# Linting
# --------------------------------------------------------------------------------------------


def _walk_strings(value: Any, key: str | None) -> Iterator[tuple[str | None, str]]:
    """Yield (nearest key, string) for every string in a parsed TOML value, in order."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from _walk_strings(child, str(child_key))
    elif isinstance(value, list):
        for item in value:
            yield from _walk_strings(item, key)


def _is_question_bank(data: dict[str, Any]) -> bool:
    questions = data.get("question")
    return isinstance(questions, list) and any(isinstance(item, dict) for item in questions)


def _decode_error_line(error: tomllib.TOMLDecodeError) -> int:
    lineno = getattr(error, "lineno", None)
    if isinstance(lineno, int) and lineno > 0:
        return lineno
    match = re.search(r"\bline (\d+)", str(error))
    return int(match.group(1)) if match else 1


def lint_file(path: Path) -> list[LintProblem]:
    """Lint one TOML file; return its problems in line order."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [LintProblem(shown, 1, "toml", _short(f"not UTF-8: {error}"))]
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        return [LintProblem(shown, _decode_error_line(error), "toml", _short(str(error)))]

    locator = _Locator(raw)
    problems: list[LintProblem] = []

    for key, value in data.items():
        if key == "question" and _is_question_bank(data):
            problems.extend(_lint_questions(shown, value, locator))
            continue
        for nearest_key, text in _walk_strings(value, str(key)):
            line = locator.find_value(text, key=nearest_key)
            if avoided_terms_in(text):
                problems.append(LintProblem(shown, line, "avoided-word", _short(text)))

    problems.sort(key=lambda problem: problem.line)
    return problems


def _question_blocks(locator: _Locator, count: int) -> list[tuple[int, int]]:
    """(start, end) offsets of each ``[[question]]`` table, or whole-file spans if the tables
    cannot be matched one-to-one with the headers (e.g. written as an inline array)."""
    headers = [match.start() for match in _QUESTION_HEADER_RE.finditer(locator.raw)]
    if len(headers) != count:
        return [(0, len(locator.raw))] * count
    blocks = []
    for start in headers:
        line_end = locator.raw.find("\n", start)
        next_header = _HEADER_RE.search(locator.raw, line_end + 1) if line_end >= 0 else None
        end = next_header.start() if next_header else len(locator.raw)
        blocks.append((start, end))
    return blocks


def _lint_questions(shown: str, questions: list[Any], locator: _Locator) -> list[LintProblem]:
    problems: list[LintProblem] = []
    seen_ids: dict[str, int] = {}
    blocks = _question_blocks(locator, len(questions))

    for index, (question, (start, end)) in enumerate(zip(questions, blocks, strict=True)):
        header_line = locator.line_of(start)

        def add(rule: str, line: int, text: str) -> None:
            problems.append(LintProblem(shown, line, rule, text))

        def key_line(
            field: str, default: int = header_line, *, s: int = start, e: int = end
        ) -> int:
            offset = locator.find_key(field, s, e)
            return locator.line_of(offset) if offset >= 0 else default

        def value_line(value: str, field: str, *, s: int = start, e: int = end) -> int:
            return locator.find_value(value, key=field, start=s, end=e)

        if not isinstance(question, dict):
            add("schema", header_line, f"question #{index + 1} is not a table")
            for nearest_key, text in _walk_strings(question, "question"):
                if avoided_terms_in(text):
                    add("avoided-word", locator.find_value(text, key=nearest_key), _short(text))
            continue

        label = question.get("id") if isinstance(question.get("id"), str) else f"#{index + 1}"

        # --- schema -------------------------------------------------------------------------
        for field, expected in _REQUIRED_FIELDS.items():
            if field not in question:
                add("schema", header_line, f"question {label}: missing field '{field}'")
            elif not isinstance(question[field], expected):
                add(
                    "schema",
                    key_line(field),
                    f"question {label}: '{field}' must be a {_type_name(expected)}",
                )
        for field, expected in _OPTIONAL_FIELDS.items():
            if field in question and not isinstance(question[field], expected):
                add(
                    "schema",
                    key_line(field),
                    f"question {label}: '{field}' must be a {_type_name(expected)}",
                )
        for field in question:
            if field not in _REQUIRED_FIELDS and field not in _OPTIONAL_FIELDS:
                add("schema", key_line(field), f"question {label}: unknown field '{field}'")

        qid = question.get("id")
        if isinstance(qid, str):
            id_line = value_line(qid, "id")
            if not QUESTION_ID_RE.match(qid):
                add("schema", id_line, f"question id '{_short(qid)}' must match [a-z0-9][a-z0-9-]*")
            if qid in seen_ids:
                add(
                    "duplicate-id",
                    id_line,
                    f"id '{_short(qid)}' already used on line {seen_ids[qid]}",
                )
            else:
                seen_ids[qid] = id_line

        tasks = question.get("tasks")
        if isinstance(tasks, list):
            if not tasks:
                add("schema", key_line("tasks"), f"question {label}: 'tasks' is empty")
            seen_tasks: set[str] = set()
            for task in tasks:
                if not isinstance(task, str):
                    add("schema", key_line("tasks"), f"question {label}: tasks must be strings")
                elif task not in TASKS:
                    add(
                        "schema",
                        key_line("tasks"),
                        f"question {label}: unknown task '{_short(task)}'",
                    )
                elif task in seen_tasks:
                    add("schema", key_line("tasks"), f"question {label}: task '{task}' repeated")
                else:
                    seen_tasks.add(task)

        for field, allowed in (("audience", AUDIENCES), ("depth", DEPTHS)):
            value = question.get(field)
            if isinstance(value, str) and value not in allowed:
                add(
                    "schema",
                    value_line(value, field),
                    f"question {label}: unknown {field} '{_short(value)}'"
                    f" (one of {', '.join(sorted(allowed))})",
                )

        # --- the text itself ----------------------------------------------------------------
        text = question.get("text")
        if isinstance(text, str):
            text_line = value_line(text, "text")
            if not text.strip():
                add("schema", text_line, f"question {label}: 'text' is empty")
            if not text.rstrip().endswith("?"):
                add("question-mark", text_line, _short(text))
            if len(text) > MAX_QUESTION_LENGTH:
                add(
                    "length",
                    text_line,
                    _short(f"{len(text)} characters (max {MAX_QUESTION_LENGTH}): {text}"),
                )
            if _starts_with_yes_no(text):
                add("yes-no", text_line, _short(text))
            if _SHOULD_RE.search(text):
                add("should", text_line, _short(text))

        # --- avoided words in every string of the table -------------------------------------
        for nearest_key, string in _walk_strings(question, None):
            if avoided_terms_in(string):
                add("avoided-word", value_line(string, nearest_key or "text"), _short(string))

    return problems


def _type_name(expected: type) -> str:
    return {str: "string", list: "list of strings"}.get(expected, expected.__name__)


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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
