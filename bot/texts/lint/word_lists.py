"""Each locale's words for the lint, read from ``bot/texts/lint_data/<locale>.toml``, and the
messages allowed a closed question (``closed_questions.toml``).

A word list is data, not code: adding a language means writing its list, never changing the
matching. A phrase is a sequence of words; a word is any of some exact forms or anything starting
with one of some stems ("monitor*").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

# The word lists ship beside this package, in bot/texts/lint_data/.
DATA_DIR = Path(__file__).resolve().parents[1] / "lint_data"
DEFAULT_LOCALE = "en"
#: A folder named like this ("en", "es", "pt_BR", "pt-BR") holds one locale's prompts.
LOCALE_DIR_RE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2})?$")


@dataclass(frozen=True)
class Word:
    """One word of a phrase: any of ``exact``, or anything starting with one of ``prefixes``."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, token: str) -> bool:
        if not token[:1].isalpha() and not token.startswith("'"):
            return False  # punctuation and {placeholders} are never words
        return token in self.exact or (bool(self.prefixes) and token.startswith(self.prefixes))


Phrase = tuple[Word, ...]


def _word(spec: str) -> Word:
    alternatives = [alt for alt in spec.casefold().split("|") if alt]
    return Word(
        frozenset(alt for alt in alternatives if not alt.endswith("*")),
        tuple(alt[:-1] for alt in alternatives if alt.endswith("*")),
    )


def _phrase(spec: str) -> Phrase:
    return tuple(_word(part) for part in spec.split())


def _phrases(specs: Sequence[str]) -> tuple[Phrase, ...]:
    # Longest first, so that "you all" wins over "you" and "should not" over "should".
    return tuple(sorted((_phrase(spec) for spec in specs), key=len, reverse=True))


@dataclass(frozen=True)
class _Avoided:
    label: str
    forms: tuple[Phrase, ...]
    after: Word | None
    unless_before: Word | None


@dataclass(frozen=True)
class LocaleWords:
    locale: str
    latin: bool
    strip_accents: bool
    avoided: tuple[_Avoided, ...]
    advice_subjects: tuple[Phrase, ...]
    advice_adverbs: Word
    advice_obligations: tuple[Phrase, ...]
    advice_unless_after: Word
    advice_subject_optional: bool
    safety_asks: Word
    safety_subjects: tuple[Phrase, ...]
    safety_words: tuple[Phrase, ...]
    safety_how: Word
    safety_window: int
    open_words: Word
    subordinating: Word
    coordinators: Word
    asking_words: Word
    closed_openers: tuple[Phrase, ...]
    lead_ins: tuple[Phrase, ...]
    offer_openers: tuple[Phrase, ...]
    should: tuple[Phrase, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


def _strings(table: dict[str, Any], name: str) -> list[str]:
    value = table.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{name}' must be a list of strings")
    return value


def _one_word(specs: list[str]) -> Word:
    return _word("|".join(specs))


@cache
def words_for(locale: str) -> LocaleWords | None:
    """The word lists of ``locale`` (``bot/texts/lint_data/<locale>.toml``), or None."""
    if not LOCALE_DIR_RE.match(locale):
        return None
    path = DATA_DIR / f"{locale}.toml"
    if not path.is_file():
        return None
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    avoided = []
    for entry in data.get("avoid", []):
        after = _strings(entry, "after")
        unless = _strings(entry, "unless_before")
        avoided.append(
            _Avoided(
                label=str(entry["label"]),
                forms=_phrases(_strings(entry, "forms")),
                after=_one_word(after) if after else None,
                unless_before=_one_word(unless) if unless else None,
            )
        )
    advice, safety, questions = data["advice"], data["safety"], data["questions"]
    return LocaleWords(
        locale=locale,
        latin=data.get("script", "latin") == "latin",
        strip_accents=bool(data.get("strip_accents", False)),
        avoided=tuple(avoided),
        advice_subjects=_phrases(_strings(advice, "subjects")),
        advice_adverbs=_one_word(_strings(advice, "adverbs")),
        advice_obligations=_phrases(_strings(advice, "obligations")),
        advice_unless_after=_one_word(_strings(advice, "unless_after")),
        advice_subject_optional=bool(advice.get("subject_optional", False)),
        safety_asks=_one_word(_strings(safety, "asks")),
        safety_subjects=_phrases(_strings(safety, "subjects")),
        safety_words=_phrases(_strings(safety, "words")),
        safety_how=_one_word(_strings(safety, "how")),
        safety_window=int(safety.get("window", 3)),
        open_words=_one_word(_strings(questions, "open_words")),
        subordinating=_one_word(_strings(questions, "subordinating")),
        coordinators=_one_word(_strings(questions, "coordinators")),
        asking_words=_one_word(_strings(questions, "asking_words")),
        closed_openers=_phrases(_strings(questions, "closed_openers")),
        lead_ins=_phrases(_strings(questions, "lead_ins")),
        offer_openers=_phrases(_strings(questions, "offer_openers")),
        should=_phrases(_strings(questions, "should")),
        raw=data,
    )


def english_words() -> LocaleWords:
    words = words_for(DEFAULT_LOCALE)
    if words is None:  # pragma: no cover - the English list ships with the package
        raise RuntimeError(f"{DATA_DIR / 'en.toml'} is missing")
    return words


#: The English avoided words, by label (each stands for all its forms in the word list).
AVOIDED_TERMS: tuple[str, ...] = tuple(dict.fromkeys(entry.label for entry in english_words().avoided))
#: The English openers that make a question closed at the start of a clause.
YES_NO_OPENERS: tuple[str, ...] = tuple(english_words().raw["questions"]["closed_openers"])


@cache
def closed_question_allowance() -> dict[str, str]:
    """Message key -> reason, for the messages allowed to ask a closed question."""
    data = tomllib.loads((DATA_DIR / "closed_questions.toml").read_text(encoding="utf-8"))
    allowance = {}
    for key, entry in data.items():
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"closed_questions.toml: '{key}' needs a reason")
        allowance[key] = reason
    return allowance


def locale_of(path: Path) -> str:
    """The locale a prompt file belongs to: its folder's name when that names a locale
    (``prompts/es/x.toml`` -> ``es``), else English (a loose file being tried out)."""
    name = Path(path).resolve().parent.name
    return name if LOCALE_DIR_RE.match(name) else DEFAULT_LOCALE

