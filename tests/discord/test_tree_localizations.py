"""Every command, subcommand, option and choice on Discord carries each shipped locale's words
(our "es" as Discord's "es-ES" and "es-419"), within Discord's limits per locale; the synced tree
keeps them; and a member whose Discord speaks Spanish, typing the Spanish words their client
shows, reaches the same commands (Discord sends the default names)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import payload_limits as limits
from adapters.discord.tree import build_tree, discord_locales, our_locale
from bot.app import all_commands
from bot.commands.registry import Registry
from bot.commands.words import command_words
from bot.config import DEFAULT_PROMPTS_DIR
from bot.texts.catalog import Catalog
from tests.discord.conftest import Bot, texts
from tests.discord_loopback.payloads import validate_command

CATALOG = Catalog(DEFAULT_PROMPTS_DIR)
SPECS = Registry(all_commands()).specs()
WORDS = command_words(CATALOG)
SPANISH = ("es-ES", "es-419")


@pytest.fixture(scope="module")
def tree():
    return build_tree(SPECS, CATALOG)


def nodes(payload: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every command, subcommand group, subcommand and option in the tree."""
    stack = list(payload)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("options") or [])


def test_our_locales_are_discords() -> None:
    assert discord_locales("es") == SPANISH
    assert discord_locales("fr") == ("fr",)  # a folder named as Discord names it needs no entry
    assert discord_locales("xx") == ()  # Discord has no such locale: nothing is sent for it
    assert our_locale("es-419", CATALOG.locales) == "es"
    assert our_locale("es-ES", CATALOG.locales) == "es"
    assert our_locale("en-US", ["es"]) is None
    assert our_locale(None, CATALOG.locales) is None


def test_every_node_carries_every_shipped_locale_within_discords_limits(tree) -> None:
    assert tree.problems() == []
    counted = 0
    for node in nodes(tree.payload):
        counted += 1
        assert set(node["name_localizations"]) == set(SPANISH), node["name"]
        assert set(node["description_localizations"]) == set(SPANISH), node["name"]
        for locale in SPANISH:
            name = node["name_localizations"][locale]
            assert limits.valid_name(name) and name == name.lower(), (node["name"], name)
            assert 1 <= len(node["description_localizations"][locale]) <= limits.MAX_DESCRIPTION
        for choice in node.get("choices") or []:
            assert set(choice["name_localizations"]) == set(SPANISH)
            assert all(1 <= len(n) <= limits.MAX_CHOICE_NAME for n in choice["name_localizations"].values())
    assert counted > 100
    for command in tree.payload:
        # the loopback's own check (Discord's rules, as its tests show it rejects them) agrees
        assert validate_command(command) == {}, command["name"]


def test_the_spanish_words_are_the_command_files(tree) -> None:
    by_name = {command["name"]: command for command in tree.payload}
    pair = by_name["pair"]
    assert pair["name_localizations"]["es-ES"] == "parejas"
    join = next(o for o in pair["options"] if o["name"] == "join")
    assert join["name_localizations"] == {"es-ES": "unirme", "es-419": "unirme"}
    assert join["description_localizations"]["es-419"] == CATALOG.text("es", "commands.pair_join", prefix="/")
    focus = next(o for o in by_name["questions"]["options"] if o["name"] == "focus")
    task = focus["options"][0]
    assert task["name_localizations"]["es-ES"] == "tarea"
    moving = next(c for c in task["choices"] if c["value"] == "moving_towards")
    assert moving["name_localizations"]["es-419"] == "avanzar"
    assert by_name["yes"]["name_localizations"]["es-ES"] == "sí"
    for spec in SPECS:  # every command's words, as the Spanish file has them
        node: dict[str, Any] = by_name[spec.path[0]]
        for word in spec.path[1:]:
            node = next(o for o in node["options"] if o["name"] == word)
        assert node["name_localizations"]["es-ES"] == WORDS.command("es", spec.path)


def test_the_limits_check_catches_bad_localizations(tree) -> None:
    command = copy.deepcopy(next(c for c in tree.payload if c["name"] == "pair"))
    assert limits.command_problems(command) == []
    bad = copy.deepcopy(command)
    bad["name_localizations"]["es-ES"] = "Parejas"
    assert any("lowercase" in p for p in limits.command_problems(bad))
    bad = copy.deepcopy(command)
    bad["name_localizations"]["es"] = "parejas"
    assert any("not one of Discord's locales" in p for p in limits.command_problems(bad))
    bad = copy.deepcopy(command)
    bad["options"][0]["description_localizations"]["es-419"] = "d" * 101
    assert any("description must be" in p for p in limits.command_problems(bad))
    bad = copy.deepcopy(command)
    bad["options"][1]["name_localizations"]["es-ES"] = bad["options"][0]["name_localizations"]["es-ES"]
    assert any("names two of these in es-ES" in p for p in limits.command_problems(bad))
    bad = copy.deepcopy(command)
    bad["options"][0]["name_localizations"]["es-ES"] = "mis datos"
    assert limits.command_problems(bad)
    # the 8000 characters count each field's longest version
    long = copy.deepcopy(command)
    for node in nodes([long]):
        node["description_localizations"]["es-ES"] = "d" * 100
    assert limits._chars(long) > limits._chars(command)


def test_a_third_locale_only_adds_files(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, prompts)
    shutil.copytree(prompts / "es", prompts / "fr")  # a stand-in French folder
    text = (prompts / "fr" / "commands.toml").read_text(encoding="utf-8")
    (prompts / "fr" / "commands.toml").write_text(text.replace('"parejas"', '"paires"'), encoding="utf-8")
    tree = build_tree(SPECS, Catalog(prompts))
    assert tree.problems() == []
    pair = next(c for c in tree.payload if c["name"] == "pair")
    assert pair["name_localizations"] == {"es-ES": "parejas", "es-419": "parejas", "fr": "paires"}


async def test_the_synced_tree_keeps_its_localizations(bot: Bot) -> None:
    stored = bot.server.commands[bot.guild.id]
    assert stored, "the tree was synced to the loopback"
    assert [c["name"] for c in stored] == [c["name"] for c in bot.adapter.tree.payload]
    for sent, kept in zip(bot.adapter.tree.payload, stored, strict=True):
        assert kept["name_localizations"] == sent["name_localizations"]
        assert kept["description_localizations"] == sent["description_localizations"]
        assert list(nodes(kept.get("options") or [])) == list(nodes(sent.get("options") or []))
    pair = next(c for c in stored if c["name"] == "pair")
    assert pair["name_localizations"]["es-419"] == "parejas"


async def test_a_spanish_client_types_the_spanish_words(bot: Bot) -> None:
    # The client shows /parejas unirme; Discord sends "pair join", which the core runs.
    seen: list[tuple[str, str]] = []
    bot.app.observe(lambda outcome, name: seen.append((outcome, name)))
    for locale in SPANISH:
        handle = await bot.server.send_slash_command(
            bot.guild.id, bot.circle.id, bot.uid("alice"), "parejas unirme", locale=locale
        )
        assert handle.payload["data"]["name"] == "pair"
        assert handle.payload["data"]["options"][0]["name"] == "join"
        await handle.response()
        await bot.settle()
        assert texts(handle)
        assert seen[-1] == ("done", "pair join")
    # an option and a choice as the client shows them arrive as the English name and value
    handle = await bot.server.send_slash_command(
        bot.guild.id, bot.circle.id, bot.uid("fay"), "preguntas enfoque", {"tarea": "avanzar"}, locale="es-ES"
    )
    option = handle.payload["data"]["options"][0]["options"][0]
    assert option == {"type": 3, "name": "task", "value": "moving_towards"}
    await handle.response()
    await bot.settle()
    assert seen[-1] == ("done", "questions focus")


async def test_suggestions_in_the_clients_words(bot: Bot) -> None:
    async def suggest(name: str, options: dict[str, Any], focused: str, locale: str) -> list[tuple[str, str]]:
        handle = await bot.server.send_autocomplete(
            bot.guild.id, bot.circle.id, bot.uid("alice"), name, options, focused=focused, locale=locale
        )
        assert (await handle.response()).json["type"] == 8
        return [(c["name"], c["value"]) for c in handle.choices or []]

    # agreement edit's 29 sections are suggested (not a fixed list): shown in Spanish, English values
    spanish = await suggest("acuerdo editar", {"id": "abc", "seccion": "preocu"}, "seccion", "es-ES")
    assert spanish == [("si-preocupa", "if-worried")]
    english = await suggest("agreement edit", {"id": "abc", "section": "worr"}, "section", "en-US")
    assert english == [("if-worried", "if-worried")]
    commands = await suggest("ayuda", {"comando": "parejas un"}, "comando", "es-419")
    assert commands == [("parejas unirme", "pair join")]
