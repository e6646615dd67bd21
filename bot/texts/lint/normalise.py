"""Normalising a text and splitting it into words, so that disguised words are still read:
NFKC, zero-width characters dropped, dashes read as spaces, look-alike letters from other scripts
folded, digits for letters read as letters, letter-spaced words joined.
"""

from __future__ import annotations

import re
import unicodedata

from bot.texts.lint.word_lists import LocaleWords

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


def is_word(token: str) -> bool:
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


def text_variants(text: str, words: LocaleWords) -> list[list[str]]:
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
