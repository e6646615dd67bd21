"""No raw identifiers reach people (issue 18): task tags (`moving_towards`), section keys,
settings, states and depth words are always the locale's words. A scripted month of every flow is
driven through the console world with the community's locale English and then Spanish, and every
message anyone receives is searched for a `snake_case` identifier or an internal value; every
template of every locale is checked the same way without running anything."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.texts.catalog import Catalog
from tests.journeys.console_world import ConsoleWorld

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
PEOPLE = ["alex", "sam", "jo", "rin"]
# A snake_case word (not part of a path or a timezone such as America/New_York).
SNAKE = re.compile(r"(?<![\w/.-])[a-z]+(?:_[a-z0-9]+)+(?![\w/-])")
# Internal values that are words in no locale: task tags, dialog and agreement states.
INTERNAL = ("moving_towards", "in_force", "not_with", "pair_again", "question_depth", "question_focus")
DAY = timedelta(days=1)

SCRIPT: list[tuple[str, str, bool]] = [
    # (who, line, private)
    ("alex", "help", False),
    ("alex", "setup", False),
    ("alex", "questions focus moving_towards", False),
    ("alex", "questions depth deep", False),
    ("alex", "questions schedule weekly mon,thu 19:30", False),
    ("alex", "questions status", False),
    ("alex", "questions now", False),
    ("sam", "questions suggest moving_towards What are you moving towards this season?", False),
    ("alex", "questions review", False),
    ("alex", "questions approve 1", False),
    ("sam", "questions reflect", True),
    ("sam", "pair join", False),
    ("sam", "yes", False),
    ("jo", "pair join", False),
    ("jo", "yes", False),
    ("rin", "pair join", False),
    ("rin", "yes", False),
    ("sam", "pair prefs style deeper", True),
    ("sam", "pair prefs", True),
    ("alex", "pair schedule weekly mon 10:00", False),
    ("sam", "pair status", True),
    ("alex", "pair now", False),
    ("sam", "pair status", True),
    ("sam", "agreement start @jo", False),
    ("sam", "agreement view", True),
    ("sam", "agreement edit matters Being listened to.", True),
    ("sam", "agreement propose", True),
    ("sam", "agreement history", True),
    ("sam", "space-agreement show", False),
    ("sam", "space-agreement propose talk We listen first.", False),
    ("jo", "space-agreement changes", False),
    ("jo", "space-agreement agree 1", False),
    ("sam", "resources", False),
    ("alex", "pair stats", False),
    ("sam", "mydata export", True),
]


async def _drive(tmp_path: Path, locale: str) -> list[str]:
    world = await ConsoleWorld.open(tmp_path, PEOPLE)
    try:
        if locale != "en":
            await world.type("alex", f"setup locale {locale}")
        for who, line, private in SCRIPT:
            await world.type(who, line, private=private)
        for _ in range(8):  # check-ins, the round's end, scheduled questions, reminders
            await world.clock(DAY)
        await world.type("sam", "checkin", private=True)
        await world.answer("sam", "4")
        await world.type("alex", "questions status")
        return [seen.text for name in PEOPLE for seen in world.inbox(name).items]
    finally:
        await world.close()


# A usage line lists the words a command takes, exactly as they are typed: `<light|mixed|deep>`,
# `[connection|worldview|mutuality|moving_towards]`. Those are command words, not names.
USAGE = re.compile(r"<[^<>\n]*>|\[[^\[\]\n]*\]")


def _leaks(text: str) -> list[str]:
    text = USAGE.sub(" ", text)
    return SNAKE.findall(text) + [value for value in INTERNAL if value in text]


def _typed_choices() -> set[str]:
    """Every choice a command takes: words people type, which help may list as such."""
    from bot.app import all_commands

    return {choice for spec in all_commands() for arg in spec.args for choice in arg.choices}


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_no_identifier_reaches_anyone(locale: str, tmp_path) -> None:
    seen = await _drive(tmp_path, locale)
    assert len(seen) > 60, "the script reached too little to show anything"
    leaks = {word: text for text in seen for word in _leaks(text)}
    assert not leaks, "\n\n".join(f"{word}: {text}" for word, text in leaks.items())
    # The focus is shown in the locale's words (the tag is `moving_towards` in every locale).
    shown = {"en": "Focus: moving towards.", "es": "avanzar hacia lo que queremos"}[locale]
    assert any(shown in text for text in seen), [t for t in seen if "Focus" in t or "Enfoque" in t]


def test_no_template_writes_an_identifier() -> None:
    catalog = Catalog(PROMPTS)
    typed = _typed_choices()
    found = []
    for locale in catalog.locales:
        for key, template in catalog.locale(locale).templates():
            words = re.sub(r"\{[^{}]*\}", " ", template)  # placeholders are filled with words
            leaks = _leaks(words)
            if key.startswith("help."):  # help lists the words a command takes, as typed
                leaks = [word for word in leaks if word not in typed]
            found += [f"{locale}: {key}: {word}" for word in leaks]
    assert not found, "\n".join(found)
