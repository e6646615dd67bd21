"""The question bank's own checks: a file of ``[[question]]`` tables is read for its schema
(``schema``), unique ids (``duplicate-id``), each text ending with ``?`` (``question-mark``) and
being at most 280 characters (``length``), and every string in it for the rules of any text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.texts.lint.locate import Locator
from bot.texts.lint.problems import LintProblem, last_key, short, text_problems, walk_strings

TASKS: frozenset[str] = frozenset({"connection", "worldview", "mutuality", "moving_towards"})
AUDIENCES: frozenset[str] = frozenset({"group", "pair", "self"})
DEPTHS: frozenset[str] = frozenset({"light", "medium", "deep"})
QUESTION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_QUESTION_LENGTH = 280

_REQUIRED_FIELDS: dict[str, type] = {
    "id": str,
    "text": str,
    "tasks": list,
    "audience": str,
    "depth": str,
}
_OPTIONAL_FIELDS: dict[str, type] = {"content_note": str}

_HEADER_RE = re.compile(r"^[ \t]*\[", re.MULTILINE)
_QUESTION_HEADER_RE = re.compile(
    r"""^[ \t]*\[\[[ \t]*(?:question|"question"|'question')[ \t]*\]\][ \t]*(?:\#.*)?$""",
    re.MULTILINE,
)


def is_question_bank(data: dict[str, Any]) -> bool:
    questions = data.get("question")
    return isinstance(questions, list) and any(isinstance(item, dict) for item in questions)


def lint_questions(shown: str, questions: list[Any], locator: Locator, locale: str) -> list[LintProblem]:
    """The problems of every ``[[question]]`` table, table by table, in the order found."""
    problems: list[LintProblem] = []
    seen_ids: dict[str, int] = {}
    blocks = _question_blocks(locator, len(questions))

    for index, (question, (start, end)) in enumerate(zip(questions, blocks, strict=True)):
        table = _Table(shown, locale, locator, start, end, _label(question, index), problems)
        if not isinstance(question, dict):
            _not_a_table(table, question, index)
            continue
        _check_fields(table, question)
        _check_id(table, question.get("id"), seen_ids)
        _check_tasks(table, question.get("tasks"))
        _check_choices(table, question)
        _check_question_text(table, question.get("text"))
        _check_other_strings(table, question)

    return problems


@dataclass
class _Table:
    """One ``[[question]]`` table being checked: where in the file it was written (so a problem
    names the line of its field), and the list its problems go to."""

    shown: str
    locale: str
    locator: Locator
    start: int
    end: int
    label: str
    problems: list[LintProblem]

    @property
    def header_line(self) -> int:
        return self.locator.line_of(self.start)

    def add(self, rule: str, line: int, text: str) -> None:
        self.problems.append(LintProblem(self.shown, line, rule, text))

    def key_line(self, field: str) -> int:
        offset = self.locator.find_key(field, self.start, self.end)
        return self.locator.line_of(offset) if offset >= 0 else self.header_line

    def value_line(self, value: str, field: str) -> int:
        return self.locator.find_value(value, key=field, start=self.start, end=self.end)

    def add_text_problems(self, line: int, text: str, *, question: bool = False) -> None:
        self.problems.extend(text_problems(self.shown, line, text, self.locale, question=question))


def _question_blocks(locator: Locator, count: int) -> list[tuple[int, int]]:
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


def _label(question: Any, index: int) -> str:
    """How a problem names the question: its id, or its place in the file."""
    if isinstance(question, dict) and isinstance(question.get("id"), str):
        return str(question["id"])
    return f"#{index + 1}"


def _not_a_table(table: _Table, question: Any, index: int) -> None:
    table.add("schema", table.header_line, f"question #{index + 1} is not a table")
    for nearest_key, text in walk_strings(question, "question"):
        line = table.locator.find_value(text, key=last_key(nearest_key))
        table.add_text_problems(line, text)


def _check_fields(table: _Table, question: dict[str, Any]) -> None:
    """Required fields present, every field of its type, no unknown field."""
    label = table.label
    for field_name, expected in _REQUIRED_FIELDS.items():
        if field_name not in question:
            table.add("schema", table.header_line, f"question {label}: missing field '{field_name}'")
        elif not isinstance(question[field_name], expected):
            table.add(
                "schema",
                table.key_line(field_name),
                f"question {label}: '{field_name}' must be a {_type_name(expected)}",
            )
    for field_name, expected in _OPTIONAL_FIELDS.items():
        if field_name in question and not isinstance(question[field_name], expected):
            table.add(
                "schema",
                table.key_line(field_name),
                f"question {label}: '{field_name}' must be a {_type_name(expected)}",
            )
    for field_name in question:
        if field_name not in _REQUIRED_FIELDS and field_name not in _OPTIONAL_FIELDS:
            table.add("schema", table.key_line(field_name), f"question {label}: unknown field '{field_name}'")


def _check_id(table: _Table, qid: Any, seen_ids: dict[str, int]) -> None:
    """An id of the allowed form, used once in the file (``seen_ids``: id -> its first line)."""
    if not isinstance(qid, str):
        return
    id_line = table.value_line(qid, "id")
    if not QUESTION_ID_RE.match(qid):
        table.add("schema", id_line, f"question id '{short(qid)}' must match [a-z0-9][a-z0-9-]*")
    if qid in seen_ids:
        table.add(
            "duplicate-id",
            id_line,
            f"id '{short(qid)}' already used on line {seen_ids[qid]}",
        )
    else:
        seen_ids[qid] = id_line


def _check_tasks(table: _Table, tasks: Any) -> None:
    """At least one task, each a known one, none twice."""
    if not isinstance(tasks, list):
        return
    label, line = table.label, table.key_line
    if not tasks:
        table.add("schema", line("tasks"), f"question {label}: 'tasks' is empty")
    seen_tasks: set[str] = set()
    for task in tasks:
        if not isinstance(task, str):
            table.add("schema", line("tasks"), f"question {label}: tasks must be strings")
        elif task not in TASKS:
            table.add(
                "schema",
                line("tasks"),
                f"question {label}: unknown task '{short(task)}'",
            )
        elif task in seen_tasks:
            table.add("schema", line("tasks"), f"question {label}: task '{task}' repeated")
        else:
            seen_tasks.add(task)


def _check_choices(table: _Table, question: dict[str, Any]) -> None:
    """An audience and a depth from their short lists."""
    for field_name, allowed in (("audience", AUDIENCES), ("depth", DEPTHS)):
        value = question.get(field_name)
        if isinstance(value, str) and value not in allowed:
            table.add(
                "schema",
                table.value_line(value, field_name),
                f"question {table.label}: unknown {field_name} '{short(value)}'"
                f" (one of {', '.join(sorted(allowed))})",
            )


def _check_question_text(table: _Table, text: Any) -> None:
    """The text itself: a reflective question, open and never "should", ending in "?" and short."""
    if not isinstance(text, str):
        return
    text_line = table.value_line(text, "text")
    if not text.strip():
        table.add("schema", text_line, f"question {table.label}: 'text' is empty")
    if not text.rstrip().endswith("?"):
        table.add("question-mark", text_line, short(text))
    if len(text) > MAX_QUESTION_LENGTH:
        table.add(
            "length",
            text_line,
            short(f"{len(text)} characters (max {MAX_QUESTION_LENGTH}): {text}"),
        )
    table.add_text_problems(text_line, text, question=True)


def _check_other_strings(table: _Table, question: dict[str, Any]) -> None:
    """Every other string of the table (a content note, ...) is held to the rules of any text."""
    for nearest_key, string in walk_strings({k: v for k, v in question.items() if k != "text"}, None):
        line = table.value_line(string, last_key(nearest_key) or "text")
        table.add_text_problems(line, string)


def _type_name(expected: type) -> str:
    return {str: "string", list: "list of strings"}.get(expected, expected.__name__)
