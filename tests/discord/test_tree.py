"""The slash-command tree comes from the registry, and fits Discord's documented limits."""

from __future__ import annotations

import copy

import pytest

from adapters.discord import payload_limits as limits
from adapters.discord.tree import TIMEZONE_OPTION, TreeError, build_tree, tree_hash
from bot.app import all_commands
from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Who
from bot.config import DEFAULT_PROMPTS_DIR
from bot.texts.catalog import Catalog
from tests.discord_loopback.payloads import validate_command

CATALOG = Catalog(DEFAULT_PROMPTS_DIR)


@pytest.fixture(scope="module")
def tree():
    return build_tree(Registry(all_commands()).specs(), CATALOG)


def test_every_payload_fits_discords_limits(tree):
    assert tree.problems() == []
    assert len(tree.payload) <= limits.MAX_COMMANDS
    for command in tree.payload:
        # An independent check: the loopback Discord's own validator accepts each one.
        assert validate_command(command) == {}, command["name"]
        assert limits._chars(command) <= limits.MAX_COMMAND_CHARS


def test_descriptions_come_from_the_catalog_and_none_is_generic(tree):
    assert tree.generic_descriptions == [], "add discord.options.<command>.<arg> to messages_discord.toml"

    def walk(node):
        assert 1 <= len(node["description"]) <= 100
        for option in node.get("options", []):
            walk(option)

    for command in tree.payload:
        walk(command)


def test_every_registry_command_has_a_route_with_its_arguments(tree):
    specs = Registry(all_commands()).specs()
    assert {route.spec.name for route in tree.routes.values()} == {spec.name for spec in specs}
    for spec in specs:
        route = tree.routes[spec.path]
        assert route.spec is spec
        assert [arg.name for arg in route.arguments.values()] == [arg.name for arg in spec.args]
        node = _node(tree.payload, spec.path)
        names = [o["name"] for o in node.get("options", [])]
        expected = [arg.name for arg in spec.args]
        if any(arg.type is ArgType.RECURRENCE for arg in spec.args):
            expected.append(TIMEZONE_OPTION)
        assert names == expected, spec.name


def _node(payload, path):
    node = next(c for c in payload if c["name"] == path[0])
    for part in path[1:]:
        node = next(o for o in node["options"] if o["name"] == part)
    return node


def test_groups_and_top_level_commands(tree):
    top = {c["name"]: c for c in tree.payload}
    assert {"help", "setup", "resources", "checkin", "yes", "no"} <= set(top)
    assert [o["name"] for o in top["questions"]["options"]][:2] == ["now", "schedule"]
    assert all(o["type"] == limits.SUB_COMMAND for o in top["pair"]["options"])
    assert top["agreement"]["description"] == CATALOG.text("en", "help.group.agreement")
    for command in tree.payload:
        assert command["contexts"] == [0], "a server is a community: commands live in servers"


def test_argument_types_become_typed_options(tree):
    def option(path, name):
        return next(o for o in _node(tree.payload, path)["options"] if o["name"] == name)

    pause = option(("pair", "pause"), "days")
    assert (pause["type"], pause["min_value"], pause["max_value"], pause["required"]) == (4, 1, 365, False)
    assert option(("agreement", "start"), "member")["type"] == 6
    focus = option(("questions", "focus"), "task")
    assert focus["type"] == 3 and [c["value"] for c in focus["choices"]][:2] == ["connection", "worldview"]
    suggest = option(("questions", "suggest"), "text")
    assert (suggest["min_length"], suggest["max_length"]) == (10, 280)
    # a long text may be left out of the command and written in a form instead
    assert suggest["required"] is False and tree.routes[("questions", "suggest")].form_arg.name == "text"
    assert option(("pair", "schedule"), "recurrence")["required"] is True  # picked from suggestions
    schedule = _node(tree.payload, ("questions", "schedule"))["options"]
    assert schedule[0]["autocomplete"] is True and schedule[0]["required"] is True
    assert schedule[1]["name"] == TIMEZONE_OPTION and schedule[1]["autocomplete"] is True
    assert option(("agreement", "view"), "id")["autocomplete"] is True
    # 14 numbers, 14 short names and revisit-date: more than Discord's 25 choices, so suggested.
    section = option(("agreement", "edit"), "section")
    assert section["autocomplete"] is True and "choices" not in section


def test_facilitator_hint_only_where_every_command_is_for_facilitators(tree):
    top = {c["name"]: c for c in tree.payload}
    assert top["setup"]["default_member_permissions"] == str(1 << 5)
    assert "default_member_permissions" not in top["questions"]  # status is for anyone
    plain = build_tree(Registry(all_commands()).specs(), CATALOG, facilitator_hint=False)
    assert all("default_member_permissions" not in c for c in plain.payload)


def test_hash_is_stable_and_changes_with_the_tree(tree):
    again = build_tree(Registry(all_commands()).specs(), CATALOG)
    assert again.digest == tree.digest == tree_hash(copy.deepcopy(tree.payload))
    extra = (*all_commands(), CommandSpec("pair wave", "commands.pair_join"))
    assert build_tree(Registry(extra).specs(), CATALOG).digest != tree.digest


def test_route_maps_interaction_data_back(tree):
    route, values, focused = tree.route(
        {
            "name": "questions",
            "options": [
                {
                    "type": 1,
                    "name": "schedule",
                    "options": [
                        {"type": 3, "name": "recurrence", "value": "daily 18:00"},
                        {"type": 3, "name": "timezone", "value": "Europe/London", "focused": True},
                    ],
                }
            ],
        }
    )
    assert route is not None and route.spec.name == "questions schedule" and focused == "timezone"
    assert tree.core_options(route, values) == {"recurrence": "daily 18:00 Europe/London"}
    setup, values, _ = tree.route(
        {"name": "setup", "options": [{"name": "setting", "value": "question-channel"}, {"name": "value", "value": "<#42424242>"}]}
    )
    assert tree.core_options(setup, values) == {"setting": "question-channel", "value": "42424242"}
    assert tree.route({"name": "nothing-like-this"})[0] is None


# -- the validator catches what Discord would refuse ---------------------------------------------


def _command(**changes):
    command = {
        "name": "demo",
        "description": "A demo command.",
        "type": 1,
        "options": [{"type": 3, "name": "text", "description": "Some text.", "required": True}],
    }
    command.update(changes)
    return command


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": "Demo"}, "lowercase"),
        ({"name": "x" * 33}, "name"),
        ({"name": "two words"}, "name"),
        ({"description": ""}, "description"),
        ({"description": "d" * 101}, "description"),
        (
            {"options": [{"type": 3, "name": f"o{i}", "description": "d", "required": False} for i in range(26)]},
            "26 options",
        ),
        (
            {
                "options": [
                    {"type": 3, "name": "a", "description": "d", "required": False},
                    {"type": 3, "name": "b", "description": "d", "required": True},
                ]
            },
            "required options must come before",
        ),
        (
            {
                "options": [
                    {
                        "type": 3,
                        "name": "a",
                        "description": "d",
                        "choices": [{"name": str(i), "value": str(i)} for i in range(26)],
                    }
                ]
            },
            "26 choices",
        ),
        ({"options": [{"type": 3, "name": "a", "description": "d", "max_length": 7000}]}, "max_length"),
        ({"options": [{"type": 4, "name": "a", "description": "d", "min_value": 5, "max_value": 1}]}, "min_value"),
        (
            {
                "options": [
                    {"type": 1, "name": f"s{i}", "description": "d" * 100, "options": [
                        {"type": 3, "name": f"o{j}", "description": "d" * 100} for j in range(5)
                    ]}
                    for i in range(15)
                ]
            },
            "characters",
        ),
        (
            {"options": [{"type": 2, "name": "g", "description": "d", "options": [
                {"type": 2, "name": "h", "description": "d", "options": []}
            ]}]},
            "nested",
        ),
    ],
)
def test_validator_refuses_what_discord_refuses(changes, fragment):
    problems = limits.command_problems(_command(**changes))
    assert any(fragment in p for p in problems), problems


def test_tree_problems_catch_duplicates_and_too_many():
    many = [_command(name=f"c{i}") for i in range(101)]
    assert any("101 commands" in p for p in limits.tree_problems(many))
    assert any("defined twice" in p for p in limits.tree_problems([_command(), _command()]))


def test_a_command_that_is_also_a_group_cannot_be_built():
    specs = (CommandSpec("pair", "commands.pair_join"), CommandSpec("pair join", "commands.pair_join"))
    with pytest.raises(TreeError):
        build_tree(specs, CATALOG)


def test_options_of_a_new_command_get_a_generic_description():
    specs = (CommandSpec("pair wave", "commands.pair_join", (Arg("whom", ArgType.MEMBER),), who=Who.ANYONE),)
    tree = build_tree(specs, CATALOG)
    assert tree.generic_descriptions == ["pair wave: whom"]
    assert tree.problems() == []


def test_modal_limits():
    good = {"title": "Agreement #K7M2Q", "custom_id": "agreement:edit:K7M2Q:1", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "1", "label": "section 1", "max_length": 1000}]}
    ]}
    assert limits.modal_problems(good) == []
    six = dict(good, components=good["components"] * 6)
    assert any("1-5 inputs" in p for p in limits.modal_problems(six))
    assert any("title" in p for p in limits.modal_problems(dict(good, title="t" * 46)))

