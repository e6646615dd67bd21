"""The rules one text is held to: no avoided word, no advice, no "are you safe?", and every
question open (never a yes/no one, never what someone "should" do), unless it is a declared
confirmation or offer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.texts.lint.normalise import is_word, text_variants
from bot.texts.lint.word_lists import DEFAULT_LOCALE, LocaleWords, Phrase, english_words, words_for

_CLAUSE_BREAKS = frozenset({",", ":", ";", "(", ")", '"', "\u201c", "\u201d", "\u00ab", "\u00bb", "\u00bf", "\u00a1"})
_SENTENCE_ENDS = frozenset({"?", "!", ".", "\n"})


@dataclass(frozen=True)
class Finding:
    """One thing the lint noticed in a text: its rule and what it matched ("patient")."""

    rule: str
    detail: str


def _match(tokens: Sequence[str], start: int, phrase: Phrase) -> int:
    """End index of ``phrase`` matched at ``tokens[start]``, or -1."""
    if start + len(phrase) > len(tokens):
        return -1
    for offset, word in enumerate(phrase):
        if not word.matches(tokens[start + offset]):
            return -1
    return start + len(phrase)


def _match_any(tokens: Sequence[str], start: int, phrases: Sequence[Phrase]) -> tuple[int, Phrase | None]:
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
                if not is_word(tokens[index]):
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
    words = words_for(locale) or english_words()
    findings: dict[Finding, None] = {}
    variants = text_variants(text, words)
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
    words = words_for(locale) or english_words()
    return any(asked.closed for asked in _questions(text_variants(text, words)[0], words))


def avoided_terms_in(text: str, locale: str = DEFAULT_LOCALE) -> list[str]:
    """The avoided words found in ``text`` (their labels: "Patients" -> "patient"), in order of
    first appearance, no repeats."""
    return [finding.detail for finding in check_text(text, locale) if finding.rule == "avoided-word"]
