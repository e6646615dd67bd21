"""Every word the bot says, looked up by key from `prompts/<locale>/`.

Messages live in `messages*.toml` files (tables flatten to dotted keys: `[questions] posted = ...`
is `questions.posted`); other files (questions, check-ins, agreement sections) are read as data.
A key missing from a locale falls back to English.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Any

FALLBACK_LOCALE = "en"
TASKS = ("connection", "worldview", "mutuality", "moving_towards")
AUDIENCES = ("group", "pair", "self")
DEPTHS = ("light", "medium", "deep")


class CatalogError(Exception):
    pass


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    tasks: tuple[str, ...]
    audience: str
    depth: str
    content_note: str = ""


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        elif isinstance(value, str):
            flat[dotted] = value
        else:
            raise CatalogError(f"message {dotted} must be text")
    return flat


class LocaleTexts:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.messages: dict[str, str] = {}
        self.files: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as error:
                raise CatalogError(f"{path}: {error}") from None
            if path.stem.startswith("messages"):
                for key, text in _flatten(data).items():
                    if key in self.messages:
                        raise CatalogError(f"{path}: message key {key} is defined twice")
                    self.messages[key] = text
            else:
                self.files[path.stem] = data
        self.questions = tuple(
            Question(
                id=item["id"],
                text=item["text"],
                tasks=tuple(item["tasks"]),
                audience=item["audience"],
                depth=item["depth"],
                content_note=item.get("content_note", ""),
            )
            for item in self.files.get("questions", {}).get("question", [])
        )


class Catalog:
    """All locales under one prompts directory."""

    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self._locales: dict[str, LocaleTexts] = {}
        if not (prompts_dir / FALLBACK_LOCALE).is_dir():
            raise CatalogError(f"{prompts_dir}: no '{FALLBACK_LOCALE}' folder of prompts")
        for directory in sorted(p for p in prompts_dir.iterdir() if p.is_dir()):
            self._locales[directory.name] = LocaleTexts(directory)

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self._locales)

    def has_locale(self, locale: str) -> bool:
        return locale in self._locales

    def locale(self, locale: str) -> LocaleTexts:
        return self._locales.get(locale) or self._locales[FALLBACK_LOCALE]

    def text(self, locale: str, key: str, /, **params: Any) -> str:
        template = self.locale(locale).messages.get(key)
        if template is None:
            template = self._locales[FALLBACK_LOCALE].messages.get(key)
        if template is None:
            raise CatalogError(f"no message with key {key}")
        return template.format_map(params)

    def has(self, key: str) -> bool:
        return key in self._locales[FALLBACK_LOCALE].messages

    def questions(self, locale: str) -> tuple[Question, ...]:
        return self.locale(locale).questions or self._locales[FALLBACK_LOCALE].questions

    def data(self, locale: str, name: str) -> dict[str, Any]:
        found = self.locale(locale).files.get(name)
        return found if found is not None else self._locales[FALLBACK_LOCALE].files.get(name, {})

    def placeholder_problems(self) -> list[str]:
        """Translations must use the same {placeholders} as English."""
        problems = []
        english = self._locales[FALLBACK_LOCALE].messages
        for name, texts in self._locales.items():
            for key, text in texts.messages.items():
                if key in english and _fields(text) != _fields(english[key]):
                    problems.append(f"{texts.directory}: {key}: placeholders differ from English")
                elif name != FALLBACK_LOCALE and key not in english:
                    problems.append(f"{texts.directory}: {key}: not a known message key")
        return problems


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field}
