"""Every word the bot says, looked up by key from `prompts/<locale>/`.

Messages live in `messages*.toml` files (tables flatten to dotted keys: `[questions] posted = ...`
is `questions.posted`); other files (questions, check-ins, agreement sections) are read as data.
A key missing from a locale falls back to English.

A message that depends on a number is a plural message: a table with `plural = "<parameter>"`
and one text per CLDR plural category (`zero one two few many other`, `other` required); the
locale's CLDR rule picks the form for that parameter's value (docs/plurals-and-dates.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Any

from bot.scheduling.words import FILE as SCHEDULE_FILE
from bot.scheduling.words import ScheduleWords
from bot.scheduling.words import install as install_schedule_words
from bot.texts.formats import PLURAL_CATEGORIES, Formats, formats_for, known_cldr

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


PLURAL_KEY = "plural"  # in a message table: which parameter's number picks the form


@dataclass(frozen=True)
class Plural:
    """A message with one text per CLDR plural category, chosen by the number in `param`."""

    param: str
    forms: dict[str, str]

    def pick(self, category: str) -> str:
        return self.forms.get(category, self.forms["other"])


Message = str | Plural


def _plural(table: dict[str, Any], dotted: str) -> Plural:
    param = table[PLURAL_KEY]
    forms = {k: v for k, v in table.items() if k != PLURAL_KEY}
    if not isinstance(param, str) or not param.isidentifier():
        raise CatalogError(f"message {dotted}: plural must name a parameter, e.g. plural = \"count\"")
    unknown = sorted(set(forms) - set(PLURAL_CATEGORIES))
    if unknown:
        raise CatalogError(f"message {dotted}: {', '.join(unknown)} is not a CLDR plural category")
    if "other" not in forms:
        raise CatalogError(f"message {dotted}: a plural message needs its 'other' form")
    if not all(isinstance(text, str) for text in forms.values()):
        raise CatalogError(f"message {dotted}: every plural form must be text")
    return Plural(param, forms)


def message_fields(message: Message) -> set[str]:
    """The {placeholders} a message uses: for a plural, every form's and the counted one."""
    if isinstance(message, Plural):
        return {f for text in message.forms.values() for f in _fields(text)} | {message.param}
    return _fields(message)


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Message]:
    flat: dict[str, Message] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and PLURAL_KEY in value:
            flat[dotted] = _plural(value, dotted)
        elif isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        elif isinstance(value, str):
            flat[dotted] = value
        else:
            raise CatalogError(f"message {dotted} must be text")
    return flat


class LocaleTexts:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.messages: dict[str, Message] = {}
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
        # Which CLDR locale this folder's words follow (formats.toml `cldr`, else its own name).
        cldr = self.files.get("formats", {}).get("cldr", directory.name)
        if not isinstance(cldr, str) or not known_cldr(cldr):
            raise CatalogError(f"{directory}/formats.toml: cldr = {cldr!r} is not a CLDR locale")
        self.formats: Formats = formats_for(cldr)

    def templates(self) -> list[tuple[str, str]]:
        """(key, template) for every text: a plural message gives each form as `key[category]`."""
        found: list[tuple[str, str]] = []
        for key, message in self.messages.items():
            if isinstance(message, Plural):
                found.extend((f"{key}[{category}]", text) for category, text in message.forms.items())
            else:
                found.append((key, message))
        return found


class Catalog:
    """All locales under one prompts directory."""

    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self._locales: dict[str, LocaleTexts] = {}
        if not (prompts_dir / FALLBACK_LOCALE).is_dir():
            raise CatalogError(f"{prompts_dir}: no '{FALLBACK_LOCALE}' folder of prompts")
        for directory in sorted(p for p in prompts_dir.iterdir() if p.is_dir()):
            self._locales[directory.name] = LocaleTexts(directory)
        # Every locale's schedule words (prompts/<locale>/schedule.toml), read as English.
        self.schedule_words = ScheduleWords.from_tables(
            texts.files.get(SCHEDULE_FILE, {}).get("words", {}) for texts in self._locales.values()
        )
        install_schedule_words(self.schedule_words)

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self._locales)

    def has_locale(self, locale: str) -> bool:
        return locale in self._locales

    def locale(self, locale: str) -> LocaleTexts:
        return self._locales.get(locale) or self._locales[FALLBACK_LOCALE]

    def formats(self, locale: str) -> Formats:
        """Dates, times, lists, numbers and plural rules for texts rendered in `locale`."""
        return self.locale(locale).formats

    def text(self, locale: str, key: str, /, **params: Any) -> str:
        texts = self.locale(locale)
        template = texts.messages.get(key)
        if template is None:
            texts = self._locales[FALLBACK_LOCALE]
            template = texts.messages.get(key)
        if template is None:
            raise CatalogError(f"no message with key {key}")
        if isinstance(template, Plural):
            # The plural rule of the locale the words are in (an English fallback counts as English).
            count = params.get(template.param)
            if not isinstance(count, int | float):
                raise CatalogError(f"message {key} needs a number for {template.param}")
            template = template.pick(texts.formats.plural(count))
        return template.format_map(params)

    def has(self, key: str) -> bool:
        return key in self._locales[FALLBACK_LOCALE].messages

    def questions(self, locale: str) -> tuple[Question, ...]:
        return self.locale(locale).questions or self._locales[FALLBACK_LOCALE].questions

    def data(self, locale: str, name: str) -> dict[str, Any]:
        found = self.locale(locale).files.get(name)
        return found if found is not None else self._locales[FALLBACK_LOCALE].files.get(name, {})

    def plural_problems(self) -> list[str]:
        """A plural message lacking a form its locale's CLDR rule can pick (Spanish `many`)."""
        problems = []
        for name, texts in self._locales.items():
            for key, text in texts.messages.items():
                if isinstance(text, Plural):
                    missing = sorted(texts.formats.plural_categories() - set(text.forms))
                    if missing:
                        forms = ", ".join(missing)
                        problems.append(f"{texts.directory}: {key}: plural needs its {forms} form(s) in {name}")
        return problems

    def placeholder_problems(self) -> list[str]:
        """Translations must use the same {placeholders} as English."""
        problems = self.plural_problems()
        english = self._locales[FALLBACK_LOCALE].messages
        for name, texts in self._locales.items():
            for key, text in texts.messages.items():
                if key in english and message_fields(text) != message_fields(english[key]):
                    problems.append(f"{texts.directory}: {key}: placeholders differ from English")
                elif name != FALLBACK_LOCALE and key not in english:
                    problems.append(f"{texts.directory}: {key}: not a known message key")
        return problems


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field}
