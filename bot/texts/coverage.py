"""How complete each locale is against English: message keys, data-file entries, question-bank
ids and placeholders, as figures (`alongside prompts stats`) and as one line per gap
(`alongside check`). A shipped locale is every folder under prompts/, and each must be 100 %.

Data files (questions, check-ins, agreement sections, circles…) are compared entry by entry: an
item of a list is known by its `id`, `key` or `number`, so a translation may not reorder or renumber
what is an identifier; identifier fields (ids, keys, numbers, tasks, audience, depth) must be
identical to English, and every text must carry English's {placeholders}. Files that are a locale's
own vocabulary rather than a translation (formats, schedule words, command words) are not compared.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any

from bot.texts.catalog import FALLBACK_LOCALE, LocaleTexts, message_fields

OWN_VOCABULARY = frozenset({"formats", "schedule", "commands"})
IDENTIFIERS = frozenset({"id", "key", "number", "tasks", "audience", "depth"})
QUESTIONS = "questions"


def _fields(text: str) -> set[str]:
    try:
        return {f for _, f, _, _ in Formatter().parse(text) if f}
    except ValueError:
        return {"<unbalanced braces>"}


def _entries(value: Any, path: str, out: dict[str, Any]) -> dict[str, Any]:
    """Every leaf of a data file by a path that survives translation: `section[matters].title`."""
    if isinstance(value, dict):
        for key, child in value.items():
            _entries(child, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            name = next((item[k] for k in ("id", "key", "number") if k in item), index)
            _entries(item, f"{path}[{name}]", out)
    else:
        out[path] = value
    return out


def _item(path: str) -> str:
    """The list item a path is in (`section[matters]`), or the path itself."""
    end = path.find("]")
    return path[: end + 1] if end >= 0 else path


def _first(entries: dict[str, Any], item: str) -> str:
    return next(p for p in entries if _item(p) == item)


@dataclass
class Coverage:
    locale: str
    messages: int = 0
    messages_total: int = 0
    placeholders_ok: int = 0
    entries: int = 0
    entries_total: int = 0
    ids: int = 0
    ids_total: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems

    def percent(self, have: int, total: int) -> str:
        return f"{100 * have / total:.1f} %" if total else "100.0 %"

    def render(self) -> str:
        return (
            f"  {self.locale}: messages {self.messages}/{self.messages_total} "
            f"({self.percent(self.messages, self.messages_total)}), "
            f"placeholders matching {self.placeholders_ok}/{self.messages} , "
            f"data-file entries {self.entries}/{self.entries_total} "
            f"({self.percent(self.entries, self.entries_total)}), "
            f"question ids {self.ids}/{self.ids_total} ({self.percent(self.ids, self.ids_total)})"
            f" — {'complete' if self.complete else f'{len(self.problems)} gap(s)'}"
        ).replace(" , ", ", ")


def _data(directory: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(directory.glob("*.toml")):
        if path.stem.startswith("messages") or path.stem in OWN_VOCABULARY:
            continue
        found[path.stem] = tomllib.loads(path.read_text(encoding="utf-8"))
    return found


def _compare_messages(result: Coverage, english: LocaleTexts, here: LocaleTexts, where: str) -> None:
    result.messages_total = len(english.messages)
    for key, message in sorted(english.messages.items()):
        theirs = here.messages.get(key)
        if theirs is None:
            result.problems.append(f"{where}: message {key} is missing")
            continue
        result.messages += 1
        if message_fields(theirs) == message_fields(message):
            result.placeholders_ok += 1
        else:
            result.problems.append(f"{where}: message {key} has other placeholders than English")
    for key in sorted(set(here.messages) - set(english.messages)):
        result.problems.append(f"{where}: message {key} is not in English (a key left over or misspelt?)")


def _entry_problem(path: str, value: Any, other: Any) -> str | None:
    """What is wrong with one translated entry, or None."""
    field_name = path.rsplit(".", 1)[-1]
    if field_name in IDENTIFIERS or not isinstance(value, str | list):
        return None if other == value else f"{path} is {other!r}, English has {value!r}"
    if isinstance(value, list):  # a list of words, like a check-in's scale labels
        ok = isinstance(other, list) and len(other) == len(value)
        return None if ok else f"{path} has {len(value)} items in English"
    ok = isinstance(other, str) and _fields(other) == _fields(value)
    return None if ok else f"{path} has other placeholders than English"


def _compare_file(result: Coverage, name: str, data: dict[str, Any], theirs_file: dict[str, Any] | None, where: str) -> None:
    mine = _entries(data, "", {})
    result.entries_total += len(mine)
    if theirs_file is None:
        result.problems.append(f"{where}/{name}.toml is missing")
        return
    theirs = _entries(theirs_file, "", {})
    their_items, my_items = {_item(p) for p in theirs}, {_item(p) for p in mine}
    said = f"{where}/{name}.toml"
    for path, value in mine.items():
        if path not in theirs:
            if _item(path) in their_items:
                result.problems.append(f"{said}: {path} is missing")
            elif _item(path) != path and path == _first(mine, _item(path)) and name != QUESTIONS:
                result.problems.append(f"{said}: {_item(path)} is missing")  # one line per item
            continue
        problem = _entry_problem(path, value, theirs[path])
        if problem:
            result.problems.append(f"{said}: {problem}")
        else:
            result.entries += 1
    if name != QUESTIONS:  # a question's id line says it
        result.problems += [f"{said}: {item} is not in English" for item in sorted(their_items - my_items)]
    result.problems += [f"{said}: {p} is not in English" for p in sorted(set(theirs) - set(mine)) if _item(p) in my_items]


def _compare_ids(result: Coverage, data: dict[str, Any], theirs_file: dict[str, Any] | None, where: str) -> None:
    mine_ids = {q.get("id") for q in data.get("question", [])}
    their_ids = {q.get("id") for q in (theirs_file or {}).get("question", [])}
    result.ids_total, result.ids = len(mine_ids), len(mine_ids & their_ids)
    for missing in sorted(mine_ids - their_ids, key=str):
        result.problems.append(f"{where}/questions.toml: question id {missing} is missing")
    for extra in sorted(their_ids - mine_ids, key=str):
        result.problems.append(f"{where}/questions.toml: question id {extra} is not in English")


def locale_coverage(prompts_dir: Path, locale: str) -> Coverage:
    """One locale against English. Raises CatalogError/TOMLDecodeError on an unreadable file."""
    english_dir, here_dir = prompts_dir / FALLBACK_LOCALE, prompts_dir / locale
    result = Coverage(locale)
    where = f"prompts/{locale}"
    _compare_messages(result, LocaleTexts(english_dir), LocaleTexts(here_dir), where)
    english_data, here_data = _data(english_dir), _data(here_dir)
    for name in sorted(set(here_data) - set(english_data)):
        result.problems.append(f"{where}/{name}.toml: English has no such file")
    for name, data in sorted(english_data.items()):
        _compare_file(result, name, data, here_data.get(name), where)
        if name == QUESTIONS:
            _compare_ids(result, data, here_data.get(name), where)
    return result


def coverage(prompts_dir: Path) -> list[Coverage]:
    """Every locale folder but English's, against English."""
    return [
        locale_coverage(prompts_dir, d.name)
        for d in sorted(prompts_dir.iterdir())
        if d.is_dir() and d.name != FALLBACK_LOCALE
    ]


def render(found: list[Coverage]) -> str:
    lines = ["coverage against English (100 % needed for every shipped locale):"]
    lines += [c.render() for c in found] or ["  (English is the only locale)"]
    return "\n".join(lines)
