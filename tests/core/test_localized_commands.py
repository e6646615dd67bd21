"""Commands in every locale's words (prompts/<locale>/commands.toml): the English words always
work, every locale's words work too (case- and accent-tolerant), everything reaches the features
as the English they know, and help, usage lines and bad-input answers use the reader's words."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.matrix.events import command_text, first_word
from alongside.settings import load_settings
from bot.app import all_commands
from bot.commands.parser import ParseError, PlainName, parse_structured, parse_text
from bot.commands.registry import Registry
from bot.commands.words import CommandWords, LocaleWords, command_words
from bot.texts.catalog import Catalog
from tests.core.agreements.helpers import answers, meet, say, start_pair
from tests.harness import mention

REGISTRY = Registry(all_commands())
CATALOG = Catalog(load_settings(None).prompts_dir)
WORDS = command_words(CATALOG)


def parse(text: str, locale: str = "es") -> tuple[str, dict[str, Any]]:
    parsed = parse_text(REGISTRY, text, mention, WORDS, locale)
    return parsed.spec.name, parsed.args


# (typed, the command the feature gets, its arguments)
SPANISH = [
    ("parejas unirme", "pair join", {}),
    ("PAREJAS Unirme", "pair join", {}),
    ("preguntas enfoque avanzar", "questions focus", {"task": "moving_towards"}),
    ("preguntas enfoque todas", "questions focus", {"task": "all"}),
    ("preguntas profundidad mixta", "questions depth", {"mix": "mixed"}),
    ("preguntas aprobar 3 visión", "questions approve", {"id": 3, "task": "worldview"}),
    ("acuerdo editar abc si-preocupa Me escribes.", "agreement edit", {"id": "abc", "section": "if-worried", "text": "Me escribes."}),
    ("acuerdo editar abc 3 x", "agreement edit", {"id": "abc", "section": "3", "text": "x"}),
    ("acuerdo modificar abc revisar @sam Cada mes", "agreement amend", {"id": "abc", "section": "revisit", "member": "sam", "text": "Cada mes"}),
    ("acuerdo invitaciones sí", "agreement invitations", {"setting": "on"}),
    ("acuerdo invitaciones si", "agreement invitations", {"setting": "on"}),
    ("acuerdo invitaciones no", "agreement invitations", {"setting": "off"}),
    ("acuerdo-espacio proponer propósito Estamos para escuchar.", "space-agreement propose", {"section": "purpose", "text": "Estamos para escuchar."}),
    ("acuerdo-espacio proponer proposito Estamos.", "space-agreement propose", {"section": "purpose", "text": "Estamos."}),
    ("acuerdo-espacio apoyar 2", "space-agreement agree", {"id": 2}),
    ("configurar zona-horaria Europe/Madrid", "setup", {"setting": "timezone", "value": "Europe/Madrid"}),
    ("configurar tamaño 4", "setup", {"setting": "pairing-size", "value": "4"}),
    ("configurar idioma es", "setup", {"setting": "locale", "value": "es"}),
    ("sí 3", "yes", {"id": 3}),
    ("Si", "yes", {"id": None}),
    ("no 3", "no", {"id": 3}),
    ("recursos quitar 2", "resources", {"action": "remove", "details": "2"}),
    ("recursos agregar name=Línea", "resources", {"action": "add", "details": "name=Línea"}),
    ("parejas no-con @sam quitar", "pair not-with", {"member": "sam", "remove": "remove"}),
    ("parejas otra-vez @sam quitar", "pair again", {"member": "sam", "remove": "remove"}),
    ("parejas preferencias estilo más-ligera", "pair prefs", {"setting": "style", "value": "lighter"}),
    ("parejas preferencias borrar idiomas", "pair prefs", {"setting": "clear", "value": "languages"}),
    ("parejas preferencias idiomas es, en", "pair prefs", {"setting": "languages", "value": "es, en"}),
    ("parejas pausar 7", "pair pause", {"days": 7}),
    ("checkin saltar", "checkin", {"answer": "skip"}),
    ("checkin listo", "checkin", {"answer": "done"}),
    ("checkin compartir me fue bien", "checkin", {"answer": "share me fue bien"}),
    # a word that is only the start of an answer stays the member's own words
    ("checkin listo para hablar", "checkin", {"answer": "listo para hablar"}),
    ("saltar", "skip", {}),
    ("atrás", "back", {}),
    ("atras", "back", {}),
    ("listo", "done", {}),
    ("misdatos exportar", "mydata export", {}),
    ("misdatos borrar", "mydata forget", {}),
    ("ayuda parejas", "help", {"command": "parejas"}),
]


@pytest.mark.parametrize(("typed", "name", "args"), SPANISH, ids=[t for t, _, _ in SPANISH])
def test_spanish_words_reach_the_feature_as_english(typed: str, name: str, args: dict[str, Any]) -> None:
    # read the same whatever the reader's locale (a member may type their own language anywhere)
    for locale in ("es", "en"):
        got_name, got_args = parse(typed, locale)
        got_args = {k: (v.text if isinstance(v, PlainName) else v) for k, v in got_args.items()}
        assert (got_name, {k: v for k, v in got_args.items() if v is not None or k in args}) == (name, args)


@pytest.mark.parametrize(
    "typed",
    ["pair join", "questions focus moving_towards", "agreement edit abc if-worried x", "checkin skip",
     "space-agreement propose purpose x", "pair prefs style lighter", "agreement invitations on", "yes 2"],
)
def test_english_words_read_as_before(typed: str) -> None:
    english = parse_text(REGISTRY, typed, mention)
    for locale in ("es", "en"):
        assert parse(typed, locale) == (english.spec.name, english.args)


def test_structured_options_take_localized_choices() -> None:
    # A value typed into a suggested Discord field (not picked) may be the member's own word.
    parsed = parse_structured(REGISTRY, "agreement edit", {"id": "abc", "section": "Importa"}, mention, WORDS, "es")
    assert parsed.args["section"] == "matters"
    parsed = parse_structured(REGISTRY, "space-agreement propose", {"section": "cómo-hablamos", "text": "x"}, mention, WORDS, "es")
    assert parsed.args["section"] == "talk"


@pytest.mark.parametrize(
    ("typed", "key", "locale", "shown"),
    [
        ("parejas volar", "parse.unknown_subcommand", "es", {"group": "parejas", "options": "unirme, salir, pausar"}),
        ("parejas volar", "parse.unknown_subcommand", "en", {"group": "pair", "options": "join, leave, pause"}),
        ("pair fly", "parse.unknown_subcommand", "es", {"group": "parejas", "options": "unirme, salir"}),
        ("preguntas enfoque volar", "parse.bad_choice", "es", {"arg": "tarea", "choices": "conexion, vision, mutualidad, avanzar, todas"}),
        ("questions focus fly", "parse.bad_choice", "en", {"arg": "task", "choices": "connection, worldview, mutuality, moving_towards, all"}),
        ("preguntas enfoque", "parse.missing", "es", {"arg": "tarea"}),
        ("preguntas aprobar tres", "parse.not_a_number", "es", {"arg": "id"}),
        ("volar", "parse.unknown_command", "es", {"word": "volar"}),
    ],
)
def test_unknown_words_keep_their_kind_answers_in_the_readers_words(
    typed: str, key: str, locale: str, shown: dict[str, str]
) -> None:
    with pytest.raises(ParseError) as caught:
        parse(typed, locale)
    assert caught.value.key == key
    for name, value in shown.items():
        assert value in str(caught.value.params[name]), (name, caught.value.params)
    assert CATALOG.text(locale, key, **caught.value.params, prefix="/")


def test_usage_lines_in_the_readers_words() -> None:
    focus = REGISTRY.get("questions focus")
    schedule = REGISTRY.get("questions schedule")
    start = REGISTRY.get("agreement start")
    assert focus and schedule and start
    assert WORDS.usage(focus, "es", "!") == "!preguntas enfoque <conexion|vision|mutualidad|avanzar|todas>"
    assert WORDS.usage(schedule, "es") == "/preguntas horario <frecuencia> [zona-horaria]"
    assert WORDS.usage(start, "es") == "/acuerdo iniciar <integrante> [integrante2] [integrante3]"
    for spec in REGISTRY.specs():  # English reads exactly as the spec's own usage line
        assert WORDS.usage(spec, "en", "!") == spec.usage("!")


def test_every_command_has_its_words_in_every_shipped_locale() -> None:
    assert "es" in WORDS.tables
    assert WORDS.coverage(REGISTRY.specs()) == []
    assert WORDS.clashes(REGISTRY.specs()) == []


def test_the_english_file_is_the_commands_own_words() -> None:
    # prompts/en/commands.toml is the template a new language copies: it must say what the
    # commands are, word for word.
    english = WORDS.tables["en"]
    assert all(word == name.split()[-1] for name, word in english.commands.items())
    assert all(word == name for name, word in {**english.options, **english.values}.items())


def test_the_file_covers_what_the_commands_have() -> None:
    # the coverage check itself sees a missing word and one no command has
    words = CommandWords({"xx": LocaleWords({"pair": "paar"}, {"zzz": "z"}, {})})
    problems = words.coverage(REGISTRY.specs())
    assert "xx: no word for command 'pair join'" in problems
    assert "xx: 'zzz' is not a option any command has" in problems
    assert "xx: no word for value 'moving_towards'" in problems


def test_a_word_meaning_two_things_is_read_as_neither() -> None:
    words = CommandWords(
        {
            "aa": LocaleWords({"pair": "grp", "pair join": "go"}),
            "bb": LocaleWords({"pair": "grp", "pair leave": "go"}),
            # a word that is English for another command: the English meaning wins
            "cc": LocaleWords({"pair": "grp", "pair status": "join"}),
        }
    )
    assert words.canonical_path(["grp", "go"]) == ["pair", "go"]
    assert words.canonical_path(["grp", "join"]) == ["pair", "join"]
    assert any("'go'" in problem for problem in words.problems)
    assert any("'join'" in problem for problem in words.problems)
    with pytest.raises(ParseError) as caught:
        parse_text(REGISTRY, "grp go", mention, words, "aa")
    assert caught.value.key == "parse.unknown_subcommand"


# -- through the App --------------------------------------------------------------------------


async def test_spanish_commands_work_in_an_english_space(harness) -> None:
    h = harness
    outcomes: list[tuple[str, str]] = []
    h.app.observe(lambda outcome, name: outcomes.append((outcome, name)))
    await meet(h, "alex", "sam")
    await say(h, "sam", "parejas unirme")
    assert outcomes[-1] == ("done", "pair join")
    await say(h, "alex", "preguntas enfoque avanzar", private=False)
    assert outcomes[-1] == ("done", "questions focus")
    status = await say(h, "alex", "questions status", private=False)
    assert "moving" in status.lower()


async def test_help_shows_the_readers_words(harness) -> None:
    h = harness
    await meet(h, "alex", "sam")
    english = await say(h, "sam", "help")
    assert "/pair join" in english and "/parejas" not in english
    await say(h, "alex", "setup locale es", private=False)
    spanish = await say(h, "sam", "ayuda")
    assert "/parejas unirme" in spanish and "/preguntas estado" in spanish and "/pair join" not in spanish
    assert "/misdatos exportar" in spanish
    group = await say(h, "sam", "ayuda parejas")
    assert "/parejas unirme" in group and "/parejas no-con <integrante> [quitar]" in group
    detail = await say(h, "sam", "ayuda preguntas enfoque")
    assert "/preguntas enfoque <conexion|vision|mutualidad|avanzar|todas>" in detail
    # the English words still work, and are answered in the space's words
    assert "/parejas unirme" in await say(h, "sam", "help pair join")
    wrong = await say(h, "sam", "preguntas enfoque volar")
    assert "conexion, vision, mutualidad, avanzar, todas" in wrong
    assert "/preguntas enfoque <conexion|vision|mutualidad|avanzar|todas>" in wrong


async def test_a_facilitator_command_names_itself_in_the_readers_words(harness) -> None:
    h = harness
    await meet(h, "alex", "sam")
    await say(h, "alex", "setup locale es", private=False)
    refused = await say(h, "sam", "preguntas ahora", private=False)
    assert "/preguntas ahora" in refused


async def test_plain_lines_take_each_locales_words(harness) -> None:
    h = harness
    await start_pair(h)
    await say(h, "alex", "agreement edit")
    # `saltar` moves on, `atrás` goes back, as `skip` and `back` do
    skipped = answers(await h.app.handle_plain(h.inv("alex", channel=None), "saltar"))
    assert "(2 of 15)" in skipped[0]
    back = answers(await h.app.handle_plain(h.inv("alex", channel=None), "Atrás"))
    assert "(1 of 15)" in back[0]
    done = answers(await h.app.handle_plain(h.inv("alex", channel=None), "listo"))
    assert "Your answers in agreement" in done[0]


def test_adapters_learn_every_locales_words(harness) -> None:
    app = harness.app
    heads = app.command_heads()
    assert {"pair", "parejas", "sí", "si", "ayuda", "acuerdo-espacio", "atras"} <= heads
    # Matrix reads a room line as a command by its first word, without case or accents
    for line in ("!parejas unirme", "!Atrás", "!SI 2", "!pair join"):
        assert command_text(line, "!", private=False, groups=heads) == line[1:]
    assert command_text("!pajaros", "!", private=False, groups=heads) is None
    assert {"parejas unirme", "pair join", "acuerdo-espacio proponer"} <= app.command_names()
    dialog, checkin = app.private_words()
    assert {"skip", "saltar", "back", "atras", "done", "listo"} <= dialog
    assert first_word("Atrás ") == "atras"
    assert {"skip", "saltar", "done", "listo"} <= checkin


async def test_answers_suggest_the_words_the_reader_types(harness) -> None:
    # Where an answer lists what would work, it lists the reader's words (English ones work too).
    h = harness
    await start_pair(h)
    await say(h, "alex", "setup locale es", private=False)
    unknown = await say(h, "alex", "acuerdo editar volar algo")
    assert "si-preocupa" in unknown and "if-worried" not in unknown
    setting = await say(h, "alex", "configurar volar", private=False)
    assert "zona-horaria" in setting and "canal-preguntas" in setting
    await say(h, "alex", "space-agreement draft", private=False)
    section = await say(h, "sam", "acuerdo-espacio proponer volar Algo nuevo.")
    assert "1 proposito" in section and "6 deber-de-cuidado" in section
