"""The registry and the one text parser every text adapter shares."""

import pytest

from alongside.settings import load_settings
from bot.app import all_commands
from bot.commands.parser import ParseError, RecurrenceArg, parse_structured, parse_text
from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec
from bot.texts.catalog import Catalog
from tests.harness import mention

REGISTRY = Registry(all_commands())
CATALOG = Catalog(load_settings(None).prompts_dir)


def parse(text):
    return parse_text(REGISTRY, text, mention)


def test_longest_prefix_and_typed_args():
    parsed = parse("questions schedule weekly mon,thu 19:30 Europe/London")
    assert parsed.spec.name == "questions schedule"
    assert parsed.args["recurrence"] == RecurrenceArg("weekly mon,thu 19:30", "Europe/London")
    parsed = parse("QUESTIONS approve 3 worldview")
    assert parsed.args == {"id": 3, "task": "worldview"}
    assert parse("questions approve 3").args == {"id": 3, "task": None}
    assert parse("questions decline 4 thank you  for this").args["note"] == "thank you  for this"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "parse.empty"),
        ("dance", "parse.unknown_command"),
        ("questions fly", "parse.unknown_subcommand"),
        ("questions approve", "parse.missing"),
        ("questions approve three", "parse.not_a_number"),
        ("questions approve 0", "parse.out_of_range"),
        ("questions approve 2 feelings", "parse.bad_choice"),
        ("questions focus everything", "parse.bad_choice"),
        ("questions schedule whenever", "schedule.unknown_form"),
        ("questions schedule daily 25:00", "schedule.bad_time"),
        ("questions schedule daily 18:00 Mars/Base", "schedule.bad_timezone"),
        ("questions suggest short?", "parse.too_short"),
        ("questions suggest " + "why " * 100 + "?", "parse.text_too_long"),
        ("questions now please", "parse.too_many"),
        ("help\x00", "parse.bad_characters"),
        ("x" * 5000, "parse.too_long"),
    ],
)
def test_bad_input_names_a_specific_message(text, key):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.key == key
    assert CATALOG.text("en", key, **caught.value.params, prefix="/")  # every key renders


def test_structured_options_share_validation():
    parsed = parse_structured(REGISTRY, "questions approve", {"id": 2, "task": "mutuality"}, mention)
    assert parsed.args == {"id": 2, "task": "mutuality"}
    with pytest.raises(ParseError) as caught:
        parse_structured(REGISTRY, "questions approve", {"id": True}, mention)
    assert caught.value.key == "parse.bad_type"
    with pytest.raises(ParseError) as caught:
        parse_structured(REGISTRY, "questions approve", {"id": 2, "colour": "red"}, mention)
    assert caught.value.key == "parse.too_many"


def test_every_command_has_a_handler_summary_and_short_description(harness):
    assert harness.app.registry.unbound() == []
    for spec in harness.app.registry.specs():
        summary = CATALOG.text("en", spec.summary_key, prefix="/")
        assert 1 <= len(summary) <= 100, spec.name
        assert CATALOG.has(f"help.group.{spec.group.replace('-', '_')}"), spec.group


def test_spec_rules():
    with pytest.raises(ValueError):
        CommandSpec("x", "k", (Arg("a", ArgType.WORD, required=False), Arg("b", ArgType.WORD)))
    with pytest.raises(ValueError):
        CommandSpec("x", "k", (Arg("a", ArgType.TEXT), Arg("b", ArgType.WORD)))
    assert REGISTRY.get("questions schedule").usage("!") == "!questions schedule <recurrence> [timezone]"
