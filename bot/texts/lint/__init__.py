"""Linter for the human-written texts under ``prompts/``.

Every sentence Alongside says comes from a TOML file under ``prompts/<locale>/``. This package
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
This package deliberately depends on nothing outside the standard library (the plural check asks
Babel, Alongside's CLDR library, which categories a locale uses, and needs only `other` without
it). Plural messages (``plural = "count"`` tables) are checked for their shape (``plural``).
Its rooms, by what each one checks:

* ``word_lists``: each locale's words, and the messages allowed a closed question;
* ``normalise``: a text normalised and split into words (disguised words still read);
* ``text_rules``: the rules any one text is held to (``check_text``);
* ``question_bank``: the ``[[question]]`` tables' own checks;
* ``locate``: the line of the file a value was written on;
* ``problems`` and ``files``: what is reported, for a file, a folder and the command line.
"""

from bot.texts.lint.files import lint_file, lint_path, main
from bot.texts.lint.problems import LintProblem
from bot.texts.lint.question_bank import (
    AUDIENCES,
    DEPTHS,
    MAX_QUESTION_LENGTH,
    QUESTION_ID_RE,
    TASKS,
)
from bot.texts.lint.text_rules import Finding, asks_closed_question, avoided_terms_in, check_text
from bot.texts.lint.word_lists import (
    AVOIDED_TERMS,
    YES_NO_OPENERS,
    LocaleWords,
    closed_question_allowance,
    locale_of,
    words_for,
)

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
    "LocaleWords",
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
