"""Linter for the human-written texts under ``prompts/``.

Every sentence Alongside says comes from a TOML file under ``prompts/<locale>/``. This module
checks those files against the product's language rules (PRODUCT.md sections 2 and 3), with the
words of each locale read from ``bot/texts/lint_data/<locale>.toml``:

* every file must parse (rule ``toml``), and its locale must have a word list (``locale``);
* every string anywhere in any file is checked for the avoided words and their inflections and
  derivations (``avoided-word``: "monitored", "manipulation", "patients"), for advice ("you
  must", "you need to": ``advice``) and for "are you safe?" in any form (``safety-check``);
* every sentence ending in "?" in every file must be an open question (``yes-no``: "So, do you
  feel...?" is closed) and never ask what someone "should" do (``should``). Only the messages
  declared in ``bot/texts/lint_data/closed_questions.toml`` may ask a closed question, and only
  about an action (an offer or a confirmation); a declared message that no longer asks one is
  reported (``allowance``), so the list cannot hide a fault;
* files holding ``[[question]]`` tables (the reflective question bank) are also checked for
  their schema (``schema``), unique ids (``duplicate-id``), ending with ``?``
  (``question-mark``) and being at most 280 characters (``length``).

Texts are normalised before matching (NFKC, zero-width characters dropped, dashes read as
spaces, look-alike letters from other scripts folded, letter-spaced words joined), so
"risk-assessment", "are you\\u200b safe" or a Cyrillic "о" in "mоnitoring" do not slip by.

Run it with ``alongside prompts lint [path]`` or ``python -m bot.texts.lint [path ...]``.
This module deliberately depends on nothing outside the standard library.
"""

from __future__ import annotations

import re
import sys
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
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
    "Finding",
    "LintProblem",
    "asks_closed_question",
    "avoided_terms_in",
    "check_text",
    "closed_question_allowance",
    "lint_file",
    "lint_path",
    "locale_of",
    "main",
    "words_for",
]

DATA_DIR = Path(__file__).resolve().parent / "lint_data"
DEFAULT_LOCALE = "en"
#: A folder named like this ("en", "es", "pt_BR", "pt-BR") holds one locale's prompts.
LOCALE_DIR_RE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2})?$")


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


@dataclass(frozen=True)
class Finding:
    """One thing the lint noticed in a text: its rule and what it matched ("patient")."""

    rule: str
    detail: str


# --------------------------------------------------------------------------------------------
# Word lists (per locale)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """One word of a phrase: any of ``exact``, or anything starting with one of ``prefixes``."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, token: str) -> bool:
        if not token[:1].isalpha() and not token.startswith("'"):
            return False  # punctuation and {placeholders} are never words
        return token in self.exact or (bool(self.prefixes) and token.startswith(self.prefixes))


_Phrase = tuple[_Word, ...]


def _word(spec: str) -> _Word:
    alternatives = [alt for alt in spec.casefold().split("|") if alt]
    return _Word(
        frozenset(alt for alt in alternatives if not alt.endswith("*")),
        tuple(alt[:-1] for alt in alternatives if alt.endswith("*")),
    )


def _phrase(spec: str) -> _Phrase:
    return tuple(_word(part) for part in spec.split())


def _phrases(specs: Sequence[str]) -> tuple[_Phrase, ...]:
    # Longest first, so that "you all" wins over "you" and "should not" over "should".
    return tuple(sorted((_phrase(spec) for spec in specs), key=len, reverse=True))


@dataclass(frozen=True)
class _Avoided:
    label: str
    forms: tuple[_Phrase, ...]
    after: _Word | None
    unless_before: _Word | None


@dataclass(frozen=True)
class LocaleWords:
    locale: str
    latin: bool
    strip_accents: bool
    avoided: tuple[_Avoided, ...]
    advice_subjects: tuple[_Phrase, ...]
    advice_adverbs: _Word
    advice_obligations: tuple[_Phrase, ...]
    advice_unless_after: _Word
    advice_subject_optional: bool
    safety_asks: _Word
    safety_subjects: tuple[_Phrase, ...]
    safety_words: tuple[_Phrase, ...]
    safety_how: _Word
    safety_window: int
    open_words: _Word
    subordinating: _Word
    coordinators: _Word
    asking_words: _Word
    closed_openers: tuple[_Phrase, ...]
    lead_ins: tuple[_Phrase, ...]
    offer_openers: tuple[_Phrase, ...]
    should: tuple[_Phrase, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


def _strings(table: dict[str, Any], name: str) -> list[str]:
    value = table.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{name}' must be a list of strings")
    return value


def _one_word(specs: list[str]) -> _Word:
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


def _english() -> LocaleWords:
    words = words_for(DEFAULT_LOCALE)
    if words is None:  # pragma: no cover - the English list ships with the package
        raise RuntimeError(f"{DATA_DIR / 'en.toml'} is missing")
    return words


#: The English avoided words, by label (each stands for all its forms in the word list).
AVOIDED_TERMS: tuple[str, ...] = tuple(dict.fromkeys(entry.label for entry in _english().avoided))
#: The English openers that make a question closed at the start of a clause.
YES_NO_OPENERS: tuple[str, ...] = tuple(_english().raw["questions"]["closed_openers"])


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


# --------------------------------------------------------------------------------------------
# Normalising and splitting a text into words
# --------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'", "\u00b4": "'"})
# Hyphens, dashes and underscores join words that are still words: read them as spaces.
_DASHES_RE = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d_]+")
_DASH_IN_WORD_RE = re.compile(r"(?<=[^\W\d_])[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212_](?=[^\W\d_])")
# Letters from other scripts that look like Latin ones, for Latin-script locales only (NFKC
# leaves them alone): Cyrillic and Greek look-alikes and the dotless i.
_CONFUSABLES = str.maketrans(
    {
        "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y",
        "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s", "\u0501": "d", "\u04cf": "l",
        "\u043a": "k", "\u043c": "m", "\u043d": "h", "\u0442": "t", "\u0432": "b", "\u0454": "e",
        "\u03bf": "o", "\u03b1": "a", "\u03b9": "i", "\u03bd": "v", "\u03c1": "p", "\u03ba": "k",
        "\u03c4": "t", "\u03c5": "u", "\u03b5": "e", "\u0131": "i",
        "\u0410": "a", "\u0415": "e", "\u041e": "o", "\u0420": "p", "\u0421": "c", "\u0425": "x",
        "\u0406": "i", "\u039f": "o", "\u0391": "a", "\u0399": "i", "\u039d": "n", "\u03a1": "p",
        "\u0392": "b", "\u0395": "e", "\u039a": "k", "\u039c": "m", "\u03a4": "t", "\u03a7": "x",
    }
)
# Digits and signs written for letters inside a word ("m0nit0ring", "p@tient").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_WORD_RE = re.compile(r"[^\W_]*[\d@$][\w@$]*")
_URL_RE = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_TOKEN_RE = re.compile(
    r"\{[^{}\s]*\}"  # a {placeholder}
    r"|[^\W\d_]+(?:'[^\W\d_]+)*"  # a word, with inner apostrophes
    r"|'(?:d|ll|ve|re|s|m)\b"  # a contraction standing alone
    r"|\n|[?!.,:;()\"\u201c\u201d\u00ab\u00bb\u00bf\u00a1]"
)
# "you'd better", "you've got to", "what's": the pronoun and the verb are two words.
_CONTRACTION_RE = re.compile(r"^([^\W\d_]+)('(?:d|ll|ve|re|m|s))$")
_SPLIT_PRONOUNS = frozenset(
    "you we they i he she it that there who what where when how why which".split()
)
_CLAUSE_BREAKS = frozenset({",", ":", ";", "(", ")", '"', "\u201c", "\u201d", "\u00ab", "\u00bb", "\u00bf", "\u00a1"})
_SENTENCE_ENDS = frozenset({"?", "!", ".", "\n"})


def _is_word(token: str) -> bool:
    return token[:1].isalpha() or (token.startswith("'") and len(token) > 1)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN_RE.findall(text):
        match = _CONTRACTION_RE.match(token)
        if match and match.group(1) in _SPLIT_PRONOUNS:
            tokens.extend(match.groups())
        else:
            tokens.append(token)
    return tokens


def _join_spaced_letters(tokens: list[str]) -> list[str]:
    """"r i s k" or "r.i.s.k" -> "risk": three or more one-letter words in a row (dots between
    them allowed) are one word spelled out."""
    out: list[str] = []
    run: list[str] = []
    padded = [*tokens, ""]
    for index, token in enumerate(padded):
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if token == "." and run and len(padded[index + 1]) == 1 and padded[index + 1].isalpha():
            continue
        out.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if token:
            out.append(token)
    return out


def _normal(text: str, words: LocaleWords) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    if words.latin:
        text = text.translate(_CONFUSABLES)
    # A combining mark left over inside a word ("pa\u0332tients") splits it for the tokeniser;
    # where the locale says accents never tell words apart (English), every accent goes.
    decomposed = unicodedata.normalize("NFD", text) if words.strip_accents else text
    text = unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me")))
    text = _URL_RE.sub(" ", text.casefold())
    return _LEET_WORD_RE.sub(lambda m: m.group(0).translate(_LEET) if re.search(r"[^\W\d_]", m.group(0)) else m.group(0), text)


def _strip_format(text: str, replacement: str) -> str:
    # Zero-width spaces and joiners, soft hyphens, word joiners, BOMs: format characters.
    return "".join(replacement if unicodedata.category(char) == "Cf" else char for char in text)


def _variants(text: str, words: LocaleWords) -> list[list[str]]:
    """The token lists a text is matched as; anything found in one of them counts. The first
    keeps the sentence structure and is the one questions are read from."""
    normal = _normal(text, words)
    dropped = _strip_format(normal, "")
    first = _tokens(_DASHES_RE.sub(" ", dropped))
    variants = [
        first,
        _tokens(_DASHES_RE.sub(" ", _strip_format(normal, " "))),  # "are\u200byou\u200bsafe"
        _tokens(_DASHES_RE.sub(" ", _DASH_IN_WORD_RE.sub("", dropped))),  # "moni-toring"
        _join_spaced_letters(first),  # "r i s k assessment"
    ]
    unique: list[list[str]] = []
    for variant in variants:
        if variant not in unique:
            unique.append(variant)
    return unique


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


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _match(tokens: Sequence[str], start: int, phrase: _Phrase) -> int:
    """End index of ``phrase`` matched at ``tokens[start]``, or -1."""
    if start + len(phrase) > len(tokens):
        return -1
    for offset, word in enumerate(phrase):
        if not word.matches(tokens[start + offset]):
            return -1
    return start + len(phrase)


def _match_any(tokens: Sequence[str], start: int, phrases: Sequence[_Phrase]) -> tuple[int, _Phrase | None]:
    for phrase in phrases:
        end = _match(tokens, start, phrase)
        if end >= 0:
            return end, phrase
    return -1, None


def _at(tokens: Sequence[str], index: int) -> str:
    return tokens[index] if 0 <= index < len(tokens) else ""


def _avoided(tokens: Sequence[str], words: LocaleWords) -> list[str]:
    found: list[str] = []
    for start in range(len(tokens)):
        for entry in words.avoided:
            end, _ = _match_any(tokens, start, entry.forms)
            if end < 0:
                continue
            if entry.after is not None and not entry.after.matches(_at(tokens, start - 1) or "."):
                continue
            if entry.unless_before is not None and entry.unless_before.matches(_at(tokens, end) or "."):
                continue
            found.append(entry.label)
    return found


def _advice(tokens: Sequence[str], words: LocaleWords) -> list[str]:
    found: list[str] = []
    for start in range(len(tokens)):
        end, _ = _match_any(tokens, start, words.advice_subjects)
        if end < 0 and words.advice_subject_optional:
            end = start  # a language whose verb carries the person ("tienes que")
        if end < 0 or words.advice_unless_after.matches(_at(tokens, start - 1) or "."):
            continue
        adverbs = 0
        while adverbs < 2 and words.advice_adverbs.matches(_at(tokens, end) or "."):
            end, adverbs = end + 1, adverbs + 1
        stop, _ = _match_any(tokens, end, words.advice_obligations)
        if stop >= 0:
            found.append(" ".join(tokens[start:stop]).replace(" '", "'"))
    return found


def _safety(tokens: Sequence[str], words: LocaleWords) -> list[str]:
    found: list[str] = []
    for start, token in enumerate(tokens):
        if words.safety_asks.matches(token):
            end, _ = _match_any(tokens, start + 1, words.safety_subjects)
            if end < 0:
                continue
            for index in range(end, min(end + words.safety_window + 1, len(tokens))):
                if not _is_word(tokens[index]):
                    break
                stop, _ = _match_any(tokens, index, words.safety_words)
                if stop >= 0:
                    found.append(" ".join(tokens[start:stop]))
                    break
        elif words.safety_how.matches(token):
            stop, _ = _match_any(tokens, start + 1, words.safety_words)
            if stop >= 0 and words.safety_asks.matches(_at(tokens, stop) or "."):
                found.append(" ".join(tokens[start : stop + 1]))
    return found


@dataclass(frozen=True)
class _Question:
    tokens: tuple[str, ...]
    closed: bool
    opening: tuple[str, ...]  # the closed clause's words from its opener on, or () if none


def _sentences(tokens: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """(words and clause marks of a sentence, the mark that ended it)."""
    current: list[str] = []
    for index, token in enumerate(tokens):
        if token in _SENTENCE_ENDS:
            # "e.g." and "etc." are not the end of a sentence.
            if token == "." and (len(_at(tokens, index - 1)) == 1 or _at(tokens, index - 1) in ("etc", "vs")):
                continue
            if current:
                yield current, token
            current = []
        else:
            current.append(token)
    if current:
        yield current, ""


def _clauses(sentence: Sequence[str]) -> Iterator[list[str]]:
    clause: list[str] = []
    for token in sentence:
        if token in _CLAUSE_BREAKS:
            if clause:
                yield clause
            clause = []
        else:
            clause.append(token)
    if clause:
        yield clause


def _without_lead_ins(clause: list[str], words: LocaleWords) -> list[str]:
    start = 0
    while True:
        end, _ = _match_any(clause, start, words.lead_ins)
        if end < 0 or end == start:
            return clause[start:]
        start = end


def _read_question(sentence: Sequence[str], words: LocaleWords) -> _Question:
    """Open when an interrogative word heads a clause (or stands in one) before any clause
    opens with a closed opener; closed otherwise, including when nothing asks at all."""
    for raw_clause in _clauses(sentence):
        clause = _without_lead_ins(raw_clause, words)
        if not clause:
            continue
        if words.open_words.matches(clause[0]):
            # "When and how ...": the interrogative words heading the clause, and what follows.
            head = 0
            while head < len(clause) and (
                words.open_words.matches(clause[head]) or words.coordinators.matches(clause[head])
            ):
                head += 1
            heads = [token for token in clause[:head] if words.open_words.matches(token)]
            if not all(words.subordinating.matches(token) for token in heads) or words.asking_words.matches(
                _at(clause, head) or "."
            ):
                return _Question(tuple(sentence), False, ())
            continue  # "When you arrive somewhere new, ...": a condition, read on
        end, _ = _match_any(clause, 0, words.closed_openers)
        if end >= 0:
            return _Question(tuple(sentence), True, tuple(clause))
        if any(words.open_words.matches(token) for token in clause[1:]):
            return _Question(tuple(sentence), False, ())  # "Tell me what ...?"
    return _Question(tuple(sentence), True, ())


def _questions(tokens: Sequence[str], words: LocaleWords) -> list[_Question]:
    return [_read_question(sentence, words) for sentence, end in _sentences(tokens) if end == "?"]


def check_text(
    text: str,
    locale: str = DEFAULT_LOCALE,
    *,
    question: bool = False,
    closed_ok: bool = False,
) -> list[Finding]:
    """What the lint notices in one text, in a stable order, no repeats.

    ``question``: the text is a reflective question (the bank, a member's suggestion), so
    "should" anywhere counts. ``closed_ok``: the text is a declared confirmation or offer,
    whose closed questions are fine when they ask about an action.
    """
    words = words_for(locale) or _english()
    findings: dict[Finding, None] = {}
    variants = _variants(text, words)
    for tokens in variants:
        for label in _avoided(tokens, words):
            findings[Finding("avoided-word", label)] = None
        for phrase in _advice(tokens, words):
            findings[Finding("advice", phrase)] = None
        for phrase in _safety(tokens, words):
            findings[Finding("safety-check", phrase)] = None
    structure = variants[0]
    if question and "?" not in structure:
        structure = [*structure, "?"]  # a question without its mark (rule question-mark) is still read
    for asked in _questions(structure, words):
        if asked.closed:
            # "Feeling safe?", "Still safe?": a closed question about safety, however short.
            already = any(finding.rule == "safety-check" for finding in findings)
            mentions = any(_match_any(asked.tokens, i, words.safety_words)[0] >= 0 for i in range(len(asked.tokens)))
            if not already and mentions:
                findings[Finding("safety-check", " ".join(asked.tokens))] = None
            is_offer = not asked.opening or _match_any(asked.opening, 0, words.offer_openers)[0] >= 0
            if not (closed_ok and is_offer):
                opener = " ".join(asked.opening[:3]) or " ".join(asked.tokens[:3])
                findings[Finding("yes-no", f"closed question: {opener}...")] = None
        if not question:
            for index in range(len(asked.tokens)):
                if _match_any(asked.tokens, index, words.should)[0] >= 0:
                    findings[Finding("should", asked.tokens[index])] = None
    if question:
        for index in range(len(variants[0])):
            if _match_any(variants[0], index, words.should)[0] >= 0:
                findings[Finding("should", variants[0][index])] = None
    return list(findings)


def asks_closed_question(text: str, locale: str = DEFAULT_LOCALE) -> bool:
    words = words_for(locale) or _english()
    return any(asked.closed for asked in _questions(_variants(text, words)[0], words))


def avoided_terms_in(text: str, locale: str = DEFAULT_LOCALE) -> list[str]:
    """The avoided words found in ``text`` (their labels: "Patients" -> "patient"), in order of
    first appearance, no repeats."""
    return [finding.detail for finding in check_text(text, locale) if finding.rule == "avoided-word"]


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
    """Yield (dotted key, string) for every string in a parsed TOML value, in order (a list's
    items share the list's key)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from _walk_strings(child, f"{key}.{child_key}" if key else str(child_key))
    elif isinstance(value, list):
        for item in value:
            yield from _walk_strings(item, key)


def _last_key(key: str | None) -> str | None:
    return key.rsplit(".", 1)[-1] if key else None


def _is_question_bank(data: dict[str, Any]) -> bool:
    questions = data.get("question")
    return isinstance(questions, list) and any(isinstance(item, dict) for item in questions)


def _decode_error_line(error: tomllib.TOMLDecodeError) -> int:
    lineno = getattr(error, "lineno", None)
    if isinstance(lineno, int) and lineno > 0:
        return lineno
    match = re.search(r"\bline (\d+)", str(error))
    return int(match.group(1)) if match else 1


def _text_problems(
    shown: str, line: int, text: str, locale: str, *, question: bool = False, closed_ok: bool = False
) -> list[LintProblem]:
    """One problem per rule the text breaks, naming what was found."""
    by_rule: dict[str, list[str]] = {}
    for finding in check_text(text, locale, question=question, closed_ok=closed_ok):
        by_rule.setdefault(finding.rule, []).append(finding.detail)
    return [
        LintProblem(shown, line, rule, _short(text), "; ".join(dict.fromkeys(details)))
        for rule, details in by_rule.items()
    ]


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
        return [LintProblem(shown, 1, "toml", _short(f"not UTF-8: {error}"))]
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        return [LintProblem(shown, _decode_error_line(error), "toml", _short(str(error)))]

    locator = _Locator(raw)
    # Message keys (as the catalogue flattens them) may be declared confirmations or offers.
    allowance = closed_question_allowance() if path.stem.startswith("messages") else {}

    for key, value in data.items():
        if key == "question" and _is_question_bank(data):
            problems.extend(_lint_questions(shown, value, locator, locale))
            continue
        for dotted, text in _walk_strings(value, str(key)):
            line = locator.find_value(text, key=_last_key(dotted))
            allowed = dotted in allowance
            problems.extend(_text_problems(shown, line, text, locale, closed_ok=allowed))
            if allowed and not asks_closed_question(text, locale):
                problems.append(
                    LintProblem(
                        shown,
                        line,
                        "allowance",
                        _short(text),
                        f"{dotted} asks no closed question now: take it out of closed_questions.toml",
                    )
                )

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


def _lint_questions(shown: str, questions: list[Any], locator: _Locator, locale: str) -> list[LintProblem]:
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
                line = locator.find_value(text, key=_last_key(nearest_key))
                problems.extend(_text_problems(shown, line, text, locale))
            continue

        label = question.get("id") if isinstance(question.get("id"), str) else f"#{index + 1}"

        # --- schema -------------------------------------------------------------------------
        for field_name, expected in _REQUIRED_FIELDS.items():
            if field_name not in question:
                add("schema", header_line, f"question {label}: missing field '{field_name}'")
            elif not isinstance(question[field_name], expected):
                add(
                    "schema",
                    key_line(field_name),
                    f"question {label}: '{field_name}' must be a {_type_name(expected)}",
                )
        for field_name, expected in _OPTIONAL_FIELDS.items():
            if field_name in question and not isinstance(question[field_name], expected):
                add(
                    "schema",
                    key_line(field_name),
                    f"question {label}: '{field_name}' must be a {_type_name(expected)}",
                )
        for field_name in question:
            if field_name not in _REQUIRED_FIELDS and field_name not in _OPTIONAL_FIELDS:
                add("schema", key_line(field_name), f"question {label}: unknown field '{field_name}'")

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

        for field_name, allowed in (("audience", AUDIENCES), ("depth", DEPTHS)):
            value = question.get(field_name)
            if isinstance(value, str) and value not in allowed:
                add(
                    "schema",
                    value_line(value, field_name),
                    f"question {label}: unknown {field_name} '{_short(value)}'"
                    f" (one of {', '.join(sorted(allowed))})",
                )

        # --- the text itself: a reflective question, open and never "should" ---------------
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
            problems.extend(_text_problems(shown, text_line, text, locale, question=True))

        # --- every other string of the table (a content note, ...) ------------------------
        for nearest_key, string in _walk_strings({k: v for k, v in question.items() if k != "text"}, None):
            line = value_line(string, _last_key(nearest_key) or "text")
            problems.extend(_text_problems(shown, line, string, locale))

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
