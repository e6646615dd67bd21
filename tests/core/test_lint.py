"""Tests for the prompts linter and for the shipped English question bank."""

from __future__ import annotations

import textwrap
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from bot.texts.lint import (
    AVOIDED_TERMS,
    YES_NO_OPENERS,
    LintProblem,
    avoided_terms_in,
    lint_file,
    lint_path,
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
    text = "Where" + " a" * 137 + "?"
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
    We avoid words like patient here.
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
# avoided_terms_in
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bring a coat in case it rains.", ["case"]),
        ("IN CASE of rain", ["case"]),
        ("Cases like this", ["case"]),
        ("She is a client.", ["client"]),
        ("No symptoms here", ["symptoms"]),
        ("one symptom", ["symptom"]),
        ("a non-compliant member", ["non-compliant"]),
        ("a risk  assessment", ["risk assessment"]),
        ("Sign a safety contract", ["safety contract"]),
        ("Are you safe?", ["are you safe"]),
        ("You should rest.", ["you should"]),
        ("helpers and helpees", ["helper", "helpee"]),
        ("the illness and the disorder", ["illness", "disorder"]),
        ("manipulative monitoring intervention", ["manipulative", "monitoring", "intervention"]),
        ("patients", ["patient"]),
    ],
)
def test_avoided_terms_found(text: str, expected: list[str]) -> None:
    assert avoided_terms_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Let's showcase what the group made.",
        "a suitcase, a bookcase and a staircase",
        "use lowercase ids",
        "thank you for your patience",
        "a helpful peer",
        "what happened, together",
    ],
)
def test_avoided_terms_not_found(text: str) -> None:
    assert avoided_terms_in(text) == []


def test_avoided_terms_tuple_covers_the_language_guide() -> None:
    for term in (
        "helper",
        "helpee",
        "client",
        "patient",
        "case",
        "symptom",
        "symptoms",
        "disorder",
        "illness",
        "compliance",
        "non-compliant",
        "manipulative",
        "intervention",
        "monitoring",
        "risk assessment",
        "safety contract",
        "are you safe",
        "you should",
    ):
        assert term in AVOIDED_TERMS


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
