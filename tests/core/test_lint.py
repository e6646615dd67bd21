"""Tests for the prompts linter and for the shipped English question bank."""

from __future__ import annotations

import textwrap
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.texts import lint
from bot.texts.catalog import Catalog
from bot.texts.lint import (
    AVOIDED_TERMS,
    YES_NO_OPENERS,
    LintProblem,
    asks_closed_question,
    avoided_terms_in,
    check_text,
    closed_question_allowance,
    lint_file,
    lint_path,
    locale_of,
    words_for,
)

ROOT = Path(__file__).resolve().parents[2]
PROMPTS_EN = ROOT / "prompts" / "en"
QUESTIONS = PROMPTS_EN / "questions.toml"
TASKS = ("connection", "worldview", "mutuality", "moving_towards")

GOOD_QUESTION = """\
[[question]]
id = "q-001"
text = "What helps you feel at ease when you arrive somewhere new?"
tasks = ["connection"]
audience = "group"
depth = "light"
"""


def write(tmp_path: Path, body: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def rules(problems: list[LintProblem]) -> list[tuple[str, int]]:
    return [(problem.rule, problem.line) for problem in problems]


def question(**fields: str) -> str:
    """A [[question]] table with the good defaults, overridden by raw TOML values."""
    values = {
        "id": '"q-002"',
        "text": '"How do you like to spend a slow morning?"',
        "tasks": '["moving_towards"]',
        "audience": '"group"',
        "depth": '"light"',
    }
    values.update(fields)
    lines = ["[[question]]"] + [f"{key} = {value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The shipped texts
# --------------------------------------------------------------------------------------------


def test_shipped_english_prompts_lint_clean() -> None:
    problems = lint_path(PROMPTS_EN)
    assert problems == [], "\n".join(str(problem) for problem in problems)


def _bank() -> list[dict]:
    with QUESTIONS.open("rb") as handle:
        return tomllib.load(handle)["question"]


def test_question_bank_size_and_coverage() -> None:
    bank = _bank()
    assert len(bank) >= 120
    per_task = Counter(task for entry in bank for task in entry["tasks"])
    for task in TASKS:
        assert per_task[task] >= 25, (task, per_task[task])
    ids = [entry["id"] for entry in bank]
    assert len(ids) == len(set(ids))
    pair_connection = [
        entry for entry in bank if entry["audience"] == "pair" and "connection" in entry["tasks"]
    ]
    assert len(pair_connection) >= 10
    assert any(entry["audience"] == "self" for entry in bank)
    depths = Counter(entry["depth"] for entry in bank)
    assert depths["light"] and depths["medium"] and depths["deep"]
    assert depths["deep"] < depths["light"] + depths["medium"]


def test_deep_questions_carry_a_content_note() -> None:
    for entry in _bank():
        if entry["depth"] == "deep":
            assert entry.get("content_note", "").strip(), entry["id"]


def test_question_texts_are_unique() -> None:
    texts = [" ".join(entry["text"].lower().split()) for entry in _bank()]
    assert len(texts) == len(set(texts))


# --------------------------------------------------------------------------------------------
# One test per rule
# --------------------------------------------------------------------------------------------


def test_good_file_has_no_problems(tmp_path: Path) -> None:
    assert lint_file(write(tmp_path, GOOD_QUESTION)) == []


def test_rule_toml(tmp_path: Path) -> None:
    path = write(tmp_path, 'title = "fine"\nbroken = \nother = "x"\n')
    problems = lint_file(path)
    assert rules(problems) == [("toml", 2)]
    assert problems[0].path == str(path)


def test_rule_schema_missing_field(tmp_path: Path) -> None:
    body = GOOD_QUESTION + "\n" + question().replace('depth = "light"\n', "")
    problems = lint_file(write(tmp_path, body))
    assert rules(problems) == [("schema", 8)]  # the [[question]] header of the second table
    assert "depth" in problems[0].text


def test_rule_schema_unknown_field(tmp_path: Path) -> None:
    body = question(mood='"sunny"')
    assert rules(lint_file(write(tmp_path, body))) == [("schema", 7)]


def test_rule_schema_wrong_type(tmp_path: Path) -> None:
    body = question(tasks='"connection"')
    assert rules(lint_file(write(tmp_path, body))) == [("schema", 4)]


def test_rule_schema_unknown_task_audience_depth(tmp_path: Path) -> None:
    body = question(tasks='["recovery"]', audience='"everyone"', depth='"bottomless"')
    assert rules(lint_file(write(tmp_path, body))) == [("schema", 4), ("schema", 5), ("schema", 6)]


def test_rule_schema_bad_id(tmp_path: Path) -> None:
    body = GOOD_QUESTION + "\n" + question(id='"Question_2"')
    problems = lint_file(write(tmp_path, body))
    assert rules(problems) == [("schema", 9)]
    assert "Question_2" in problems[0].text


def test_rule_duplicate_id(tmp_path: Path) -> None:
    body = GOOD_QUESTION + "\n" + question(id='"q-001"')
    assert rules(lint_file(write(tmp_path, body))) == [("duplicate-id", 9)]


def test_rule_question_mark(tmp_path: Path) -> None:
    body = GOOD_QUESTION + "\n" + question(text='"Tell us about a slow morning."')
    problems = lint_file(write(tmp_path, body))
    assert rules(problems) == [("question-mark", 10)]
    assert problems[0].text == "Tell us about a slow morning."


def test_rule_length(tmp_path: Path) -> None:
    long_text = "What " + "very " * 60 + "slow mornings do you remember?"
    assert len(long_text) > 280
    problems = lint_file(write(tmp_path, question(text=f'"{long_text}"')))
    assert rules(problems) == [("length", 3)]
    assert len(problems[0].text) <= 80


def test_length_limit_is_inclusive(tmp_path: Path) -> None:
    text = "Where did" + " a" * 135 + "?"
    assert len(text) == 280
    assert lint_file(write(tmp_path, question(text=f'"{text}"'))) == []


@pytest.mark.parametrize(
    "text",
    [
        "Do you like slow mornings?",
        "are you someone who likes slow mornings?",
        "Is it easy to rest?",
        "Have you found a way to rest?",
        "Did you rest this week?",
        "Does rest come easily?",
        "Doesn't rest come easily?",
        "Can you describe a slow morning?",
        "Would you share a slow morning?",
        "Will you rest this week?",
        "Could you describe a slow morning?",
        "Is there a morning you remember?",
        "Was it a slow morning?",
        "Were the mornings slow?",
        "  Do we rest enough?",
        "Isn\u2019t rest lovely?",
    ],
)
def test_rule_yes_no(tmp_path: Path, text: str) -> None:
    problems = lint_file(write(tmp_path, GOOD_QUESTION + "\n" + question(text=f'"{text}"')))
    assert rules(problems) == [("yes-no", 10)]


@pytest.mark.parametrize(
    "text",
    [
        "What was a slow morning like for you?",
        "Wasabi or mustard: which one tells a better story about you?",
        "Dogs or cats: which do you relate to more?",
        "Island life or city life: what draws you?",
        "How does rest come to you?",
    ],
)
def test_yes_no_only_at_the_start_and_on_word_boundaries(tmp_path: Path, text: str) -> None:
    assert lint_file(write(tmp_path, question(text=f'"{text}"'))) == []


def test_yes_no_openers_include_the_style_guide_list() -> None:
    lowered = {opener.lower() for opener in YES_NO_OPENERS}
    for opener in (
        "do you",
        "are you",
        "is it",
        "have you",
        "did you",
        "does",
        "can you",
        "would you",
        "will you",
        "could you",
        "is there",
        "was",
        "were",
    ):
        assert opener in lowered


def test_rule_should(tmp_path: Path) -> None:
    body = (
        GOOD_QUESTION + "\n" + question(text='"What do you think a slow morning should feel like?"')
    )
    assert rules(lint_file(write(tmp_path, body))) == [("should", 10)]


def test_rule_should_is_a_whole_word(tmp_path: Path) -> None:
    body = question(text='"What sits on your shoulders on a slow morning?"')
    assert lint_file(write(tmp_path, body)) == []


def test_rule_avoided_word_in_question(tmp_path: Path) -> None:
    body = GOOD_QUESTION + "\n" + question(text='"What do you bring, in case the morning is slow?"')
    problems = lint_file(write(tmp_path, body))
    assert rules(problems) == [("avoided-word", 10)]
    assert problems[0].text == "What do you bring, in case the morning is slow?"


def test_rule_avoided_word_in_content_note(tmp_path: Path) -> None:
    body = question(depth='"deep"', content_note='"touches on illness"')
    assert rules(lint_file(write(tmp_path, body))) == [("avoided-word", 7)]


def test_rule_avoided_word_in_other_files_nested(tmp_path: Path) -> None:
    body = """\
    # messages for the pairing feature
    [pair]
    joined = "You're in. Welcome."
    left = "You've left pairing."

    [pair.consent]
    lines = [
      "We store your preferences.",
      "A facilitator is not a helper.",
    ]

    [[pair.tips]]
    text = "Take your time."

    [[pair.tips]]
    text = "Our monitoring is off."
    """
    problems = lint_file(write(tmp_path, body, "messages.toml"))
    assert rules(problems) == [("avoided-word", 9), ("avoided-word", 16)]
    assert problems[0].text == "A facilitator is not a helper."


def test_avoided_word_line_for_repeated_strings(tmp_path: Path) -> None:
    body = """\
    a = "fine"
    b = "the client"
    c = "fine"
    d = "the client"
    """
    assert rules(lint_file(write(tmp_path, body))) == [("avoided-word", 2), ("avoided-word", 4)]


def test_avoided_word_line_for_multiline_strings(tmp_path: Path) -> None:
    body = '''\
    intro = "hello"
    body = """
    Welcome to the space.
    We avoid words like patients here.
    """
    '''
    assert rules(lint_file(write(tmp_path, body))) == [("avoided-word", 3)]


def test_avoided_word_line_for_literal_and_escaped_strings(tmp_path: Path) -> None:
    body = """\
    a = 'a literal string about compliance'
    b = "an \\"escaped\\" intervention"
    """
    assert rules(lint_file(write(tmp_path, body))) == [("avoided-word", 1), ("avoided-word", 2)]


# --------------------------------------------------------------------------------------------
# Avoided words: inflections and derivations, never innocent words
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bring a coat in case it rains.", ["case"]),
        ("IN CASE of rain", ["case"]),
        ("Cases like this", ["case"]),
        ("a heavy caseload", ["case"]),
        ("She is a client.", ["client"]),
        ("our clients' needs", ["client"]),
        ("No symptoms here", ["symptom"]),
        ("one symptom", ["symptom"]),
        ("it seemed symptomatic", ["symptom"]),
        ("a non-compliant member", ["compliance"]),
        ("noncompliance", ["compliance"]),
        ("they complied", ["compliance"]),
        ("a risk  assessment", ["risk assessment"]),
        ("we risk-assessed it", ["risk assessment"]),
        ("we assess risks", ["risk assessment"]),
        ("Sign a safety contract", ["safety contract"]),
        ("a no-harm contract", ["safety contract"]),
        ("helpers and helpees", ["helper", "helpee"]),
        ("the illness and the disorder", ["illness", "disorder"]),
        ("disordered eating", ["disorder"]),
        ("mentally ill", ["illness"]),
        ("manipulative monitoring intervention", ["manipulative", "monitoring", "intervention"]),
        ("that was manipulation", ["manipulative"]),
        ("you felt manipulated", ["manipulative"]),
        ("we monitored it", ["monitoring"]),
        ("we monitor the space", ["monitoring"]),
        ("nobody will intervene", ["intervention"]),
        ("they intervened", ["intervention"]),
        ("a supporter", ["supporter"]),
        ("your supporters", ["supporter"]),
        ("a mentor", ["mentor"]),
        ("mentoring and mentees", ["mentor"]),
        ("patients", ["patient"]),
        ("the patient said", ["patient"]),
        ("as a patient", ["patient"]),
        ("the patient's notes", ["patient"]),
        ("an outpatient clinic", ["patient"]),
        ("patient-centred care", ["patient"]),
    ],
)
def test_avoided_terms_found(text: str, expected: list[str]) -> None:
    assert avoided_terms_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Be patient with yourself.",
        "How do you stay patient when a day drags?",
        "What makes someone a patient listener?",
        "thank you for your patience",
        "waiting patiently, or impatiently",
        "Let's showcase what the group made.",
        "a suitcase, a bookcase and a staircase",
        "use lowercase ids",
        "a helpful peer",
        "what happened, together",
        "what I do for myself, and other support I use",
        "a supportive word",
        "a compliment, complete and simple",
        "intervals between rounds",
        "a mentality of curiosity",
        "a casual chat",
        "Ill-fitting shoes",
    ],
)
def test_avoided_terms_not_found(text: str) -> None:
    assert avoided_terms_in(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a risk-assessment", "risk assessment"),  # hyphenated
        ("a risk\u2010assessment", "risk assessment"),  # Unicode hyphen
        ("a risk_assessment", "risk assessment"),
        ("a risk\u00a0assessment", "risk assessment"),  # no-break space
        ("mon\u200bitoring", "monitoring"),  # zero-width space inside the word
        ("cli\u200dent", "client"),  # zero-width joiner
        ("pa\u00adtients", "patient"),  # soft hyphen
        ("\u2060symptoms\u2060", "symptom"),  # word joiners
        ("MoNiToRiNg", "monitoring"),  # mixed case
        ("\uff50\uff41\uff54\uff49\uff45\uff4e\uff54\uff53", "patient"),  # full-width letters
        ("m\u043enitoring", "monitoring"),  # a Cyrillic o
        ("\u0441lients", "client"),  # a Cyrillic c
        ("m0nit0ring", "monitoring"),  # digits for letters
        ("p a t i e n t s", "patient"),  # spaced out
        ("moni-toring", "monitoring"),  # a hyphen inside the word
        ("\ufb01ne, then: sympto\u200bms", "symptom"),
        ("s.y.m.p.t.o.m.s", "symptom"),  # dotted out
        ("pa\u0332tients", "patient"),  # a combining mark inside the word
        ("dis\u0301order", "disorder"),
    ],
)
def test_obfuscated_avoided_words_are_caught(text: str, expected: str) -> None:
    assert avoided_terms_in(text) == [expected]


def test_avoided_terms_tuple_covers_the_language_guide() -> None:
    # PRODUCT.md section 2, and the brief's derivations; "are you safe" and "you should" are
    # the rules `safety-check` and `advice`.
    for term in (
        "helper",
        "helpee",
        "client",
        "patient",
        "case",
        "symptom",
        "disorder",
        "illness",
        "compliance",
        "manipulative",
        "intervention",
        "monitoring",
        "risk assessment",
        "safety contract",
        "supporter",
        "mentor",
    ):
        assert term in AVOIDED_TERMS
    assert check_text("Are you safe?") and check_text("You should rest.")


# --------------------------------------------------------------------------------------------
# Advice
# --------------------------------------------------------------------------------------------


def found(text: str, rule: str, locale: str = "en", **options: bool) -> list[str]:
    return [finding.detail for finding in check_text(text, locale, **options) if finding.rule == rule]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You should rest.", "you should"),
        ("You shouldn't worry.", "you shouldn't"),
        ("you should not worry", "you should not"),
        ("You must rest first.", "you must"),
        ("You mustn't.", "you mustn't"),
        ("You need to rest.", "you need to"),
        ("You have to rest.", "you have to"),
        ("You ought to rest.", "you ought to"),
        ("You'd better rest.", "you'd better"),
        ("You\u2019ve got to rest.", "you've got to"),
        ("You really should rest.", "you really should"),
        ("you both need to talk", "you both need to"),
        ("Y\u200bou must", "you must"),
        ("Then you must rest.", "you must"),
    ],
)
def test_rule_advice_found(text: str, expected: str) -> None:
    assert found(text, "advice") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "You don't have to answer.",
        "You do not need to explain.",
        "You needn't answer.",
        "If you need to pause, pair pause is there.",
        "When you have to leave early, say so if you like.",
        "What do you need to rest?",
        "Is there anything you need to feel settled?",
        "Whatever you need to say is welcome.",
        "You can stop at any time.",
        "What makes you feel better?",
    ],
)
def test_rule_advice_not_found(text: str) -> None:
    assert found(text, "advice") == []


# --------------------------------------------------------------------------------------------
# "Are you safe?" in any form
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Are you safe?",
        "are you safe right now?",
        "Are you feeling safe?",
        "Do you feel safe?",
        "Do you both feel safe tonight?",
        "So, are you keeping yourself safe?",
        "Are you\u200b safe?",
        "ARE YOU SAFE",
        "Are you safe. Tell me.",
        "How safe are you?",
        "Feeling safe?",
        "You safe?",
        "Is everyone safe?",
        "Are\u00a0you\u00a0s\u0430fe?",
    ],
)
def test_rule_safety_check_found(text: str) -> None:
    assert found(text, "safety-check")


@pytest.mark.parametrize(
    "text",
    [
        "What does feeling safe with each other mean to you?",
        "How do we make this space feel safe for everyone?",
        "Feeling safe with each other",
        "What helps you feel at ease here?",
    ],
)
def test_rule_safety_check_not_found(text: str) -> None:
    assert found(text, "safety-check") == []


# --------------------------------------------------------------------------------------------
# Closed questions, after lead-ins too
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "So, do you feel settled here?",
        "So do you feel settled here?",
        "And are you resting enough?",
        "Tell me: is it hard to ask?",
        "Tell me \u2014 is it hard to ask?",
        "Okay, and is there a morning you remember?",
        "Quick question: did you rest?",
        "Honestly, would you change anything?",
        "When you arrive somewhere new, do you relax?",
        "If you could change one thing, would it be the time or the place?",
        "Looking back, was it worth it?",
        "Coffee or tea?",
        "Feeling better?",
        "Agreement #{id} with {names}: does it still fit?",
        "A week already. Anything new?",
        "What a week. Was it a slow one?",
    ],
)
def test_rule_yes_no_after_a_lead_in(text: str) -> None:
    assert found(text, "yes-no")


@pytest.mark.parametrize(
    "text",
    [
        "So, what helps you rest?",
        "And how did that land with you?",
        "Tell me: what brought you here?",
        "Tell me what brought you here?",
        "Who, if anyone, would you want involved, and in what way?",
        "When you arrive somewhere new, what helps?",
        "When and how would you like us to come back to this together?",
        "What helps, e.g. a walk or a chat?",
        "What can you offer, and where are your limits (time, topics)?",
        "If you could change one thing, what would it be?",
        "Where do you go when you need quiet?",
        "Thanks. That's saved.",
    ],
)
def test_open_questions_and_statements_pass(text: str) -> None:
    assert found(text, "yes-no") == []


def test_a_bank_question_without_its_mark_is_still_read(tmp_path: Path) -> None:
    problems = lint_file(write(tmp_path, question(text='"Are you safe tonight"')))
    assert sorted(rules(problems)) == [("question-mark", 3), ("safety-check", 3), ("yes-no", 3)]


def test_should_in_any_question(tmp_path: Path) -> None:
    body = 'a = "What should we do when we disagree?"\nb = "It should take a minute."\n'
    problems = lint_file(write(tmp_path, body, "en/messages.toml"))
    assert rules(problems) == [("should", 1)]


# --------------------------------------------------------------------------------------------
# Every question-shaped string in every file, and the declared confirmations
# --------------------------------------------------------------------------------------------

CHECKINS = """\
[pair]
mid_intro = "Halfway through round {number}: a short check-in."

[[pair.step]]
key = "connection"
kind = "text"
text = "So, do you feel connected with each other?"

[[pair.step]]
key = "working"
kind = "text"
text = "What has been working between you?"
"""

AGREEMENT = """\
[[section]]
number = 1
key = "safe"
title = "Feeling safe with each other"
question = "What does feeling safe with each other mean to you?"

[[section]]
number = 2
key = "limits"
title = "Limits"
question = "Are you okay with sharing your limits?"
"""


def test_closed_questions_are_caught_in_check_ins_and_agreement_sections(tmp_path: Path) -> None:
    assert rules(lint_file(write(tmp_path, CHECKINS, "en/checkins.toml"))) == [("yes-no", 7)]
    assert rules(lint_file(write(tmp_path, AGREEMENT, "en/agreement.toml"))) == [("yes-no", 11)]


def test_closed_questions_are_caught_in_messages_and_dialogs(tmp_path: Path) -> None:
    body = """\
    [agreement]
    checkin_question = "Agreement #{id}: does it still fit how you want to be with each other?"
    [dialog]
    intro = "Hello. Ready to begin?"
    step = "Step {n}. What comes to mind?"
    """
    problems = lint_file(write(tmp_path, body, "en/messages_more.toml"))
    assert rules(problems) == [("yes-no", 2), ("yes-no", 4)]
    assert problems[0].detail == "closed question: does it still..."


def test_a_declared_confirmation_may_ask_about_an_action(tmp_path: Path) -> None:
    allowance = closed_question_allowance()
    assert "mydata.forget_confirm" in allowance and "pairing.consent" in allowance
    body = """\
    [mydata]
    forget_confirm = "This erases everything. Go ahead?"
    [pairing]
    consent = "Here is what pairing means. Would you like to join?"
    """
    assert lint_file(write(tmp_path, body, "en/messages.toml")) == []


def test_a_declared_confirmation_still_may_not_ask_how_someone_is(tmp_path: Path) -> None:
    body = """\
    [pairing]
    consent = "Here is what pairing means. Are you feeling up to it?"
    """
    assert rules(lint_file(write(tmp_path, body, "en/messages.toml"))) == [("yes-no", 2)]


def test_the_allowance_is_for_messages_only(tmp_path: Path) -> None:
    # The same key in a data file (a check-in, an agreement) is a reflective prompt.
    body = '[pairing]\nconsent = "Would you like to join?"\n'
    assert rules(lint_file(write(tmp_path, body, "en/checkins.toml"))) == [("yes-no", 2)]
    # And an undeclared message key gets no allowance.
    body = '[pairing]\nconsent_again = "Would you like to join?"\n'
    assert rules(lint_file(write(tmp_path, body, "en/messages.toml"))) == [("yes-no", 2)]


def test_a_declared_key_that_asks_nothing_closed_is_reported(tmp_path: Path) -> None:
    body = '[mydata]\nforget_confirm = "This erases everything. {prefix}mydata forget yes does it."\n'
    problems = lint_file(write(tmp_path, body, "en/messages.toml"))
    assert rules(problems) == [("allowance", 2)]
    assert "mydata.forget_confirm" in problems[0].detail


def test_every_declared_key_exists_and_asks_a_closed_question() -> None:
    messages = Catalog(PROMPTS_EN.parent).locale("en").messages
    for key, reason in closed_question_allowance().items():
        assert reason.strip()
        assert key in messages, f"{key} is declared in closed_questions.toml but no message has it"
        assert asks_closed_question(messages[key]), key


# --------------------------------------------------------------------------------------------
# Word lists per locale
# --------------------------------------------------------------------------------------------


def test_every_shipped_locale_has_a_word_list() -> None:
    for folder in sorted(p for p in PROMPTS_EN.parent.iterdir() if p.is_dir()):
        assert words_for(folder.name) is not None, folder.name


def test_a_locale_without_a_word_list_is_reported(tmp_path: Path) -> None:
    # A locale with no list yet (French here): its files are reported (and still read with the
    # English list, so nothing slips by meanwhile).
    assert words_for("fr") is None
    problems = lint_file(write(tmp_path, 'a = "Bonjour."\nb = "the patients"\n', "fr/messages.toml"))
    assert rules(problems) == [("locale", 1), ("avoided-word", 2)]
    assert "lint_data/fr.toml" in problems[0].text


def test_the_shipped_spanish_word_list() -> None:
    # bot/texts/lint_data/es.toml: accents kept ("qué" asks, "que" joins), the subject is
    # optional for advice, and stems stop short of innocent words.
    words = words_for("es")
    assert words is not None and words.latin and not words.strip_accents
    assert found("¿Te sientes parte de este espacio?", "yes-no", locale="es")
    assert found("Gracias, ¿qué te trae por aquí?", "yes-no", locale="es") == []
    assert found("¿Estás a salvo?", "safety-check", locale="es")
    assert found("Dime si estás a salvo.", "safety-check", locale="es")
    assert found("¿Qué te ayuda a sentirte a salvo?", "safety-check", locale="es") == []
    assert found("Tienes que descansar.", "advice", locale="es") == ["tienes que"]
    assert found("No debes irte.", "advice", locale="es") == ["no debes"]
    assert found("No tienes que explicar nada.", "advice", locale="es") == []
    assert avoided_terms_in("Los pacientes", "es") == ["patient"]
    assert avoided_terms_in("Sé paciente contigo. Lo que me ha ayudado.", "es") == []
    assert avoided_terms_in("lo vigilamos; el contrato", "es") == ["monitoring", "safety contract"]
    assert avoided_terms_in("tu cumpleaños, el intervalo, nombre de usuario", "es") == []


def test_locale_of_a_file() -> None:
    assert locale_of(PROMPTS_EN / "messages.toml") == "en"
    assert locale_of(Path("/x/prompts/pt_BR/messages.toml")) == "pt_BR"
    assert locale_of(Path("/tmp/scratch/messages.toml")) == "en"


def test_the_english_word_list_loads_every_section() -> None:
    words = words_for("en")
    assert words is not None and words.latin
    assert len(words.avoided) >= 16 and words.closed_openers and words.lead_ins


# --------------------------------------------------------------------------------------------
# lint_path and LintProblem
# --------------------------------------------------------------------------------------------


def test_lint_path_walks_directories_recursively_and_sorted(tmp_path: Path) -> None:
    write(tmp_path, 'x = "a client"\n', "b.toml")
    write(tmp_path, 'x = "fine"\ny = "a patient"\n', "a.toml")
    write(tmp_path, 'x = "a disorder"\n', "sub/c.toml")
    write(tmp_path, "not toml, not linted: client\n", "notes.txt")
    problems = lint_path(tmp_path)
    assert [(Path(p.path).relative_to(tmp_path).as_posix(), p.line) for p in problems] == [
        ("a.toml", 2),
        ("b.toml", 1),
        ("sub/c.toml", 1),
    ]
    assert lint_path(tmp_path / "b.toml") == lint_file(tmp_path / "b.toml")


def test_lint_problem_str() -> None:
    problem = LintProblem("prompts/en/x.toml", 3, "should", "What should we do?")
    assert str(problem) == "prompts/en/x.toml:3: should: What should we do?"


def test_long_offending_strings_are_truncated(tmp_path: Path) -> None:
    text = "A client " + "and more words " * 20
    problems = lint_file(write(tmp_path, f'x = "{text}"\n'))
    assert rules(problems) == [("avoided-word", 1)]
    assert len(problems[0].text) <= 80


SPANISH = """\
# A sketch of a Spanish list: the same rules, Spanish words.
script = "latin"

[[avoid]]
label = "paciente"
forms = ["pacientes"]

[[avoid]]
label = "paciente"
forms = ["paciente"]
after = ["el", "la", "un", "una", "los", "las", "mi", "tu", "su"]

[[avoid]]
label = "monitorizar"
forms = ["monitoriz*", "monitore*"]

[advice]
subjects = ["tú", "usted", "ustedes"]
subject_optional = true
adverbs = ["realmente"]
obligations = ["debes", "debe", "tienes que", "tiene que", "necesitas"]
unless_after = ["si", "qué"]

[safety]
asks = ["estás", "está", "te", "se"]
subjects = ["segura", "seguro", "sientes", "siente"]
words = ["segura", "seguro", "seguros", "seguras", "a salvo"]
how = ["qué"]

[questions]
open_words = ["qué", "cómo", "quién", "quiénes", "dónde", "cuándo", "cuál", "cuáles", "cuánto", "por qué"]
subordinating = ["cuando", "donde"]
coordinators = ["y", "o"]
asking_words = []
closed_openers = []
lead_ins = ["y", "entonces", "pues", "dime"]
offer_openers = ["quieres", "te gustaría"]
should = ["deberías", "debería"]
"""


@pytest.fixture
def spanish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    data = tmp_path / "lint_data"
    data.mkdir()
    for name in ("en.toml", "closed_questions.toml"):
        (data / name).write_text((lint.word_lists.DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (data / "es.toml").write_text(SPANISH, encoding="utf-8")
    monkeypatch.setattr(lint.word_lists, "DATA_DIR", data)
    lint.words_for.cache_clear()
    yield
    monkeypatch.undo()
    lint.words_for.cache_clear()


def test_a_locale_brings_its_own_words(spanish: None, tmp_path: Path) -> None:
    # Spanish asks yes/no without an auxiliary: a question is closed unless a question word
    # (with its accent: "qué", not "que") heads it.
    assert found("¿Te sientes parte de este espacio?", "yes-no", locale="es")
    assert found("Entonces, ¿estás bien?", "yes-no", locale="es")
    assert found("¿Qué te ayuda a descansar?", "yes-no", locale="es") == []
    assert found("Cuando llegas a un sitio nuevo, ¿qué te ayuda?", "yes-no", locale="es") == []
    assert found("¿Te sientes segura?", "safety-check", locale="es")
    assert found("Tienes que descansar.", "advice", locale="es") == ["tienes que"]
    assert avoided_terms_in("Los pacientes y la paciente", "es") == ["paciente"]
    assert avoided_terms_in("Sé paciente contigo.", "es") == []
    assert avoided_terms_in("lo monitorizamos", "es") == ["monitorizar"]
    # English words are not Spanish ones, and a Spanish prompt file is read with its own list.
    assert avoided_terms_in("the patients", "es") == []
    body = 'a = "¿Qué te trae por aquí?"\nb = "¿Estás a salvo ahora?"\n'
    problems = lint_file(write(tmp_path, body, "es/messages.toml"))
    assert [problem.rule for problem in problems] == ["safety-check", "yes-no"]
