"""Dates, times, lists and plurals come from CLDR in the locale a text is rendered in (issue 18):
never strftime's English, never a hand-joined "and", never one key for 1 and another for many."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.texts.catalog import Catalog, CatalogError
from bot.texts.formats import formats_for

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
MONDAY = datetime(2026, 1, 5, 18, 30, tzinfo=UTC)


def test_dates_times_and_lists_in_english_and_spanish():
    catalog = Catalog(PROMPTS)
    en, es = catalog.formats("en"), catalog.formats("es")
    assert en.day(MONDAY) == "Mon, 5 Jan 2026" and es.day(MONDAY) == "lun, 5 ene 2026"
    assert en.when(MONDAY, "Europe/Madrid") == "Mon, 5 Jan 2026, 19:30"
    assert es.when(MONDAY, "Europe/Madrid") == "lun, 5 ene 2026, 19:30"
    assert en.day(date(2026, 1, 7)) == "Wed, 7 Jan 2026"
    assert (en.weekday(0), es.weekday(0), es.weekday(2, short=True)) == ("Monday", "lunes", "mié")
    assert en.and_list(["alex", "sam", "jo"]) == "alex, sam and jo"
    assert es.and_list(["alex", "sam", "jo"]) == "alex, sam y jo"
    assert es.or_list(["ligera", "mixta", "profunda"]) == "ligera, mixta o profunda"
    assert en.and_list(["alex"]) == "alex" and en.and_list([]) == ""
    assert es.number(12345) == "12.345" and en.number(12345) == "12,345"


def test_plural_categories_follow_cldr():
    es = formats_for("es")
    assert [es.plural(n) for n in (0, 1, 2, 5, 1_000_000)] == ["other", "one", "other", "other", "many"]
    assert es.plural_categories() == {"one", "many", "other"}
    assert formats_for("en_001").plural_categories() == {"one", "other"}


def test_a_plural_message_picks_its_form_by_the_locales_rule():
    catalog = Catalog(PROMPTS)
    assert catalog.text("en", "schedule.days", count=1) == "1 day"
    assert catalog.text("en", "schedule.days", count=2) == "2 days"
    assert catalog.text("es", "schedule.days", count=1) == "1 día"
    assert catalog.text("es", "schedule.days", count=3) == "3 días"
    assert catalog.text("es", "schedule.days", count=1_000_000) == "1000000 de días"
    with pytest.raises(CatalogError):
        catalog.text("en", "schedule.days")  # the counted number is required


def _prompts(tmp_path: Path, english: str, spanish: str) -> Path:
    for locale, text in (("en", english), ("es", spanish)):
        (tmp_path / locale).mkdir()
        (tmp_path / locale / "messages.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_plural_without_other_or_with_a_made_up_category_is_refused(tmp_path):
    bad = _prompts(tmp_path, '[a]\nx = { plural = "n", one = "{n} thing" }\n', "")
    with pytest.raises(CatalogError, match="other"):
        Catalog(bad)
    (bad / "en" / "messages.toml").write_text('[a]\nx = { plural = "n", lots = "{n}", other = "{n}" }\n')
    with pytest.raises(CatalogError, match="lots"):
        Catalog(bad)


def test_the_placeholder_check_knows_plurals(tmp_path):
    english = '[a]\nx = { plural = "n", one = "{n} thing", other = "{n} things" }\n'
    spanish = '[a]\nx = { plural = "n", one = "{n} cosa", other = "{n} cosas {extra}" }\n'
    problems = Catalog(_prompts(tmp_path, english, spanish)).placeholder_problems()
    assert any("a.x: placeholders differ" in p for p in problems), problems
    # Spanish's CLDR rule has a "many" form: a Spanish plural without it is named.
    assert any("a.x: plural needs its many form" in p for p in problems), problems


async def test_a_spanish_space_reads_its_dates_in_spanish(harness):
    await harness.say("alex", "/setup locale es")
    answer = await harness.say("alex", "/questions schedule weekly mon,thu 19:30 Europe/Madrid")
    assert "lun, 5 ene 2026, 19:30 (Europe/Madrid)" in answer, answer
    assert "Mon" not in answer


async def test_an_english_space_reads_cldr_dates(harness):
    answer = await harness.say("alex", "/questions schedule weekly mon,thu 19:30 Europe/Madrid")
    assert "Mon, 5 Jan 2026, 19:30 (Europe/Madrid)" in answer, answer


async def test_one_suggestion_waiting_is_said_in_the_singular_in_spanish(harness):
    await harness.say("alex", "/setup locale es")
    await harness.say("sam", "/questions suggest What does a good week look like for you?")
    answer = await harness.say("alex", "/questions review")
    assert "1 pregunta sugerida en espera:" in answer, answer



async def test_a_pair_welcome_and_preferences_join_words_the_locales_way(harness):
    await harness.say("alex", "/setup locale es")
    for member in ("sam", "jo"):
        await harness.say(member, "/pair join")
        await harness.say(member, "/yes")
    said = await harness.say("sam", "/pair prefs free weekends, weekday evening", channel=None)
    assert "noches entre semana y fines de semana" in said, said
    said = await harness.say("sam", "/pair prefs style deeper", channel=None)
    assert "más profundas" in said, said
    harness.sink.take()
    await harness.say("alex", "/pair now")
    texts = [getattr(intent, "text", "") for intent in harness.sink.take()]
    assert any("sam y jo" in t or "jo y sam" in t for t in texts), texts
    assert not any("sam and jo" in t or "jo and sam" in t for t in texts), texts


def test_the_lint_reads_plural_messages(tmp_path):
    from bot.texts.lint import lint_file

    folder = tmp_path / "es"
    folder.mkdir()
    path = folder / "messages_x.toml"
    path.write_text(
        '[x]\n'
        'a = { plural = "count", one = "{count} cosa", other = "{count} cosas" }\n'
        'b = { plural = "count", one = "{count} cosa", few = "{count} cosas", other = "{count} cosas" }\n'
        'c = { plural = "count", one = "Debes venir {count} vez", many = "{count} de veces", other = "{count} veces" }\n',
        encoding="utf-8",
    )
    found = [(p.line, p.rule, p.text) for p in lint_file(path, locale="en")]
    # As English (one/other), `few` is never picked; `many` neither.
    assert (3, "plural", "x.b: this locale's CLDR plural rule never picks few") in found
    assert (4, "plural", "x.c: this locale's CLDR plural rule never picks many") in found
    # Every form is a text the word rules read, as any message.
    path.write_text(path.read_text().replace("Debes venir", "You should come"), encoding="utf-8")
    found = lint_file(path, locale="en")
    assert any(p.rule != "plural" and "You should come" in p.text for p in found), found
