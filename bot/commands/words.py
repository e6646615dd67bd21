"""Command words in every locale, from `prompts/<locale>/commands.toml`.

Commands are declared once, in English (their specs' names, argument names, choices and
`Arg.words`); each locale's file gives its own word for each of them (English's file lists the
English words themselves, the template a new language copies):

    [commands]   "pair" = "parejas", "pair join" = "unirme"   (a group or command, a subcommand)
    [options]    task = "tarea"                               (argument names)
    [values]     moving_towards = "avanzar"                   (choices, and `Arg.words`/`leading`)

Reading: the English words always work, and so does every locale's word, whoever types it (a
member may use their own language in a space that speaks another). Words are compared without
case or accents ("Sí", "si" and "sí" are one word) wherever that is unambiguous; a word that
would mean two things in one place is not read at all (`problems` lists it, and a test keeps the
shipped files free of them). Everything is turned into the English the features know before
they see it, so no feature reads another language's words.

Showing: help, usage lines and Discord's command tree use the reader's locale's words.
"""

from __future__ import annotations

import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.commands.spec import Arg, ArgType, CommandSpec

if TYPE_CHECKING:
    from bot.texts.catalog import Catalog

FILE = "commands"  # prompts/<locale>/commands.toml
ENGLISH = "en"


def fold(word: str) -> str:
    """A word as compared: lowercase, without accents ("Sí" → "si", "atrás" → "atras")."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class LocaleWords:
    commands: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> LocaleWords:
        def table(name: str) -> dict[str, str]:
            found = data.get(name) or {}
            if not isinstance(found, Mapping):
                return {}
            return {str(key): str(value).strip() for key, value in found.items() if isinstance(value, str)}

        return cls(table("commands"), table("options"), table("values"))


class CommandWords:
    """Every locale's command words, for reading commands typed in any of them and for showing
    commands in one."""

    def __init__(self, tables: Mapping[str, LocaleWords]) -> None:
        # English first: where a locale's word is also an English word for something else in
        # the same place, the English meaning wins (English always works).
        self.tables = dict(sorted(tables.items(), key=lambda item: item[0] != ENGLISH))
        self.problems: list[str] = []
        # parent path → folded word → the English word at that place
        self._paths: dict[tuple[str, ...], dict[str, str]] = {}
        # folded word → every English value it may stand for (an argument's choices pick one)
        self._values: dict[str, set[str]] = {}
        for locale, table in self.tables.items():
            for name, word in table.commands.items():
                path = tuple(name.split())
                if path:
                    self._learn(self._paths.setdefault(path[:-1], {}), word, path[-1], locale, name)
            for value, word in table.values.items():
                self._values.setdefault(fold(word), set()).add(value)
                self._values.setdefault(fold(value), set()).add(value)
        for places in self._paths.values():
            for key in [key for key, english in places.items() if english is _AMBIGUOUS]:
                del places[key]

    def _learn(self, place: dict[str, str], word: str, english: str, locale: str, name: str) -> None:
        for key in {fold(word), fold(english)}:
            known = place.get(key)
            if known is None or known == english:
                place[key] = english
            elif known is not _AMBIGUOUS:
                self.problems.append(f"{locale}: '{word}' ({name}) is already a word for '{known}' there")
                if locale != ENGLISH and key != fold(known):
                    place[key] = _AMBIGUOUS  # two locales' words collide: read neither

    # -- reading ---------------------------------------------------------------------------------

    def canonical_path(self, words: list[str]) -> list[str]:
        """The typed words with a command's path read as English (`parejas unirme x` →
        `pair join x`); the words after the path (its arguments) are left as typed."""
        out = list(words)
        parent: tuple[str, ...] = ()
        for index, word in enumerate(words):
            place = self._paths.get(parent)
            if not place:
                break
            out[index] = place.get(fold(word), word.lower())
            parent = (*parent, out[index])
        return out

    def choice(self, arg: Arg, given: str) -> str | None:
        """The English choice `given` stands for in any locale, or None."""
        lowered = given.strip().lower()
        if lowered in arg.choices:
            return lowered
        found = self._values.get(fold(given.strip()), set()) & set(arg.choices)
        return next(iter(found)) if len(found) == 1 else None

    def argument(self, arg: Arg, given: str) -> str:
        """A word or free text read as English where the whole of it (`Arg.words`) or its first
        word (`Arg.leading`) is a locale's word for one the feature reads; else as typed."""
        if arg.type not in (ArgType.WORD, ArgType.TEXT) or not (arg.words or arg.leading):
            return given
        stripped = given.strip()
        whole = self._values.get(fold(stripped), set()) & set(arg.words)
        if len(whole) == 1 and fold(stripped) != fold(next(iter(whole))):
            return next(iter(whole))
        first, _, rest = stripped.partition(" ")
        lead = self._values.get(fold(first), set()) & set(arg.leading)
        if rest.strip() and len(lead) == 1:
            return f"{next(iter(lead))} {rest.strip()}"
        return given

    def english_word(self, word: str, candidates: Iterable[str]) -> str | None:
        """Which of `candidates` (English command or value words) `word` is, in any locale."""
        wanted = set(candidates)
        lowered = word.strip().lower()
        if lowered in wanted:
            return lowered
        top = self._paths.get((), {}).get(fold(word.strip()))
        if top in wanted:
            return top
        found = self._values.get(fold(word.strip()), set()) & wanted
        return next(iter(found)) if len(found) == 1 else None

    # -- showing ---------------------------------------------------------------------------------

    def _table(self, locale: str) -> LocaleWords:
        return self.tables.get(locale) or _NONE

    def command(self, locale: str, path: tuple[str, ...]) -> str:
        """The last word of `path` in `locale` (`("pair", "join")` → "unirme")."""
        return self._table(locale).commands.get(" ".join(path)) or path[-1]

    def name(self, locale: str, spec: CommandSpec) -> str:
        """The command's words in `locale`: "parejas unirme"."""
        return " ".join(self.command(locale, spec.path[: index + 1]) for index in range(len(spec.path)))

    def option(self, locale: str, name: str) -> str:
        return self._table(locale).options.get(name) or name

    def value(self, locale: str, value: str) -> str:
        return self._table(locale).values.get(value) or value

    def usage(self, spec: CommandSpec, locale: str, prefix: str = "/") -> str:
        """`spec.usage` in `locale`'s words."""
        return " ".join([prefix + self.name(locale, spec), *(self._arg_usage(arg, locale) for arg in spec.args)])

    def _arg_usage(self, arg: Arg, locale: str) -> str:
        name = self.option(locale, arg.name)
        if arg.type is ArgType.RECURRENCE:
            return f"<{name}> [{self.option(locale, 'timezone')}]"
        if arg.choices and len(arg.choices) <= 5:
            name = "|".join(self.value(locale, choice) for choice in arg.choices)
        return f"<{name}>" if arg.required else f"[{name}]"

    def choices(self, locale: str, arg: Arg) -> str:
        return ", ".join(self.value(locale, choice) for choice in arg.choices)

    def spellings(self, paths: Iterable[tuple[str, ...]]) -> frozenset[str]:
        """Every way the last word of each path may be typed (English and every locale's word,
        with and without accents), lowercase."""
        found: set[str] = set()
        for path in paths:
            for word in (path[-1], *(self.command(locale, path) for locale in self.tables)):
                found |= {word.lower(), fold(word)}
        return frozenset(found)

    def names(self, spec: CommandSpec) -> tuple[str, ...]:
        """The command's name in each locale that has words for it."""
        return tuple(sorted({self.name(locale, spec) for locale in self.tables} - {spec.name}))

    # -- checking --------------------------------------------------------------------------------

    def coverage(self, specs: Iterable[CommandSpec]) -> list[str]:
        """What a locale's file misses, or has that no command uses."""
        specs = list(specs)
        names = {" ".join(spec.path[: i + 1]) for spec in specs for i in range(len(spec.path))}
        options = {arg.name for spec in specs for arg in spec.args}
        if any(arg.type is ArgType.RECURRENCE for spec in specs for arg in spec.args):
            options.add("timezone")  # Discord's separate timezone option, and usage lines
        values = {
            word
            for spec in specs
            for arg in spec.args
            for word in (*arg.choices, *arg.words, *arg.leading)
            if not word.isdigit()
        }
        problems: list[str] = []
        for locale, table in self.tables.items():
            for what, wanted, have in (
                ("command", names, set(table.commands)),
                ("option", options, set(table.options)),
                ("value", values, set(table.values)),
            ):
                problems += [f"{locale}: no word for {what} '{key}'" for key in sorted(wanted - have)]
                problems += [f"{locale}: '{key}' is not a {what} any command has" for key in sorted(have - wanted)]
        return problems

    def clashes(self, specs: Iterable[CommandSpec]) -> list[str]:
        """Words that would not be read as meant: two commands' or two choices' words the same
        in one place (without case and accents), in any locale or across locales."""
        problems = list(self.problems)
        for spec in specs:
            for arg in spec.args:
                pool = (*arg.choices, *arg.words)
                for value in pool:
                    for locale, table in self.tables.items():
                        word = table.values.get(value)
                        if word is None:
                            continue
                        meant = {v for v in self._values.get(fold(word), set()) if v in pool}
                        if len(meant) > 1:
                            problems.append(
                                f"{spec.name} {arg.name}: '{word}' ({locale}) could be {', '.join(sorted(meant))}"
                            )
        return sorted(set(problems))


class _Ambiguous(str):
    pass


_AMBIGUOUS = _Ambiguous("")
_NONE = LocaleWords()
ENGLISH_ONLY = CommandWords({})
_BY_CATALOG: weakref.WeakKeyDictionary[Catalog, CommandWords] = weakref.WeakKeyDictionary()


def command_words(catalog: Catalog) -> CommandWords:
    """The command words of every locale in `catalog` (read once per catalog: prompts do not
    change while the bot runs)."""
    found = _BY_CATALOG.get(catalog)
    if found is None:
        tables = {}
        for locale in catalog.locales:
            data = catalog.locale(locale).files.get(FILE)
            if data is not None:
                tables[locale] = LocaleWords.from_data(data)
        found = _BY_CATALOG[catalog] = CommandWords(tables)
    return found
