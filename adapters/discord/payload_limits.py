"""Discord's documented limits for application commands, checked before anything is synced.

https://discord.com/developers/docs/interactions/application-commands: names are 1-32 lowercase
characters (letters, digits, `-`, `_`, `'`); descriptions 1-100; at most 25 options per command
or subcommand and 25 choices per option; required options before optional ones; subcommands
nest at most two levels (group → subcommand); choice names and string values 1-100; integer
bounds within ±(2^53 - 1); string lengths 0-6000 (max at least 1); and the combined length of every
name, description and choice in one top-level command at most 8000 (where a field has
localizations, its longest version counts). At most 100 global chat-input commands (and 100 per
server). Localizations (`name_localizations`, `description_localizations`, a choice's
`name_localizations`) are keyed by Discord's locales
(https://discord.com/developers/docs/reference#locales) and follow the same limits per locale;
localized names are unique among their siblings in each locale, as names are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

NAME = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)
# Discord's locales, the only keys a localization dictionary may have.
DISCORD_LOCALES = frozenset(
    "ar bg cs da de el en-GB en-US es-419 es-ES fi fr he hi hr hu id it ja ko lt nl no pl pt-BR ro ru"
    " sv-SE th tr uk vi zh-CN zh-TW".split()
)
MAX_NAME = 32
MAX_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_VALUE = 100
MAX_COMMAND_CHARS = 8000
MAX_COMMANDS = 100
MAX_STRING_LENGTH = 6000
MAX_SAFE_INT = 2**53 - 1  # Discord's Int53: at most 9007199254740991 either way

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
NUMBER = 10
VALUE_TYPES = (3, 4, 5, 6, 7, 8, 9, 10, 11)

# Modals: https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal
MAX_MODAL_TITLE = 45
MAX_MODAL_INPUTS = 5
MAX_INPUT_LABEL = 45
MAX_INPUT_LENGTH = 4000
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_BUTTONS_PER_ROW = 5
MAX_ROWS = 5
MAX_CONTENT = 2000


def valid_name(name: str) -> bool:
    """Discord's rule `^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$` (Python's `re` has no
    \\p: by character category, and by name for the two scripts)."""
    return 1 <= len(name) <= MAX_NAME and all(
        ch in "-_'"
        or unicodedata.category(ch)[0] in "LN"
        or unicodedata.name(ch, "").startswith(("DEVANAGARI", "THAI"))
        for ch in name
    )


def _name_problems(where: str, name: Any) -> list[str]:
    if not isinstance(name, str) or not valid_name(name):
        return [f"{where}: name {name!r} must be 1-{MAX_NAME} letters, digits, - _ or '"]
    if name != name.lower():
        return [f"{where}: name {name!r} must be lowercase"]
    return []


def _localizations(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    found = node.get(key)
    return dict(found) if isinstance(found, Mapping) else {}


def _localization_problems(where: str, node: Mapping[str, Any], *, choice: bool = False) -> list[str]:
    """A node's localizations: Discord's locales only, each value within the field's limits."""
    problems: list[str] = []
    for key in ("name_localizations",) if choice else ("name_localizations", "description_localizations"):
        value = node.get(key)
        if value is not None and not isinstance(value, Mapping):
            problems.append(f"{where}: {key} must be an object of locale → text")
            continue
        for locale, text in _localizations(node, key).items():
            here = f"{where} [{locale}]"
            if locale not in DISCORD_LOCALES:
                problems.append(f"{where}: {key} has {locale!r}, which is not one of Discord's locales")
            elif choice:
                if not isinstance(text, str) or not 1 <= len(text) <= MAX_CHOICE_NAME:
                    problems.append(f"{here}: choice name must be 1-{MAX_CHOICE_NAME} characters")
            elif key == "name_localizations":
                problems += _name_problems(here, text)
            else:
                problems += _description_problems(here, text)
    return problems


def _localized_clashes(where: str, nodes: list[Mapping[str, Any]]) -> list[str]:
    """Sibling names must differ in every locale too (a locale without its own word for a node
    shows the node's name)."""
    problems: list[str] = []
    locales = {locale for node in nodes for locale in _localizations(node, "name_localizations")}
    for locale in sorted(locales):
        shown = [_localizations(node, "name_localizations").get(locale, node.get("name")) for node in nodes]
        for name in sorted({n for n in shown if shown.count(n) > 1}, key=str):
            problems.append(f"{where}: {name!r} names two of these in {locale}")
    return problems


def _description_problems(where: str, text: Any) -> list[str]:
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_DESCRIPTION:
        size = len(text) if isinstance(text, str) else "no"
        return [f"{where}: description must be 1-{MAX_DESCRIPTION} characters (has {size})"]
    return []


def _longest(node: Mapping[str, Any], key: str) -> int:
    versions = [node.get(key, ""), *_localizations(node, f"{key}_localizations").values()]
    return max(len(str(version)) for version in versions)


def _chars(node: Mapping[str, Any]) -> int:
    total = _longest(node, "name") + _longest(node, "description")
    for choice in node.get("choices") or []:
        total += _longest(choice, "name") + len(str(choice.get("value", "")))
    for option in node.get("options") or []:
        total += _chars(option)
    return total


def _option_problems(where: str, option: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    kind = option.get("type")
    if kind not in VALUE_TYPES:
        return [f"{where}: option type {kind!r} is not a value type"]
    choices = option.get("choices") or []
    if len(choices) > MAX_CHOICES:
        problems.append(f"{where}: {len(choices)} choices (at most {MAX_CHOICES})")
    if choices and option.get("autocomplete"):
        problems.append(f"{where}: choices and autocomplete cannot be combined")
    if (choices or option.get("autocomplete")) and kind not in (STRING, INTEGER, NUMBER):
        problems.append(f"{where}: only string, integer and number options take choices")
    for index, choice in enumerate(choices):
        problems += _localization_problems(f"{where} choice {index}", choice, choice=True)
        name, value = choice.get("name"), choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_CHOICE_NAME:
            problems.append(f"{where}: choice {index} name must be 1-{MAX_CHOICE_NAME} characters")
        if kind == STRING and (not isinstance(value, str) or not 1 <= len(value) <= MAX_CHOICE_VALUE):
            problems.append(f"{where}: choice {index} value must be 1-{MAX_CHOICE_VALUE} characters")
        if kind == INTEGER and (not isinstance(value, int) or abs(value) > MAX_SAFE_INT):
            problems.append(f"{where}: choice {index} value must be an integer within ±(2^53 - 1)")
    for bound in ("min_value", "max_value"):
        if bound in option:
            if kind not in (INTEGER, NUMBER):
                problems.append(f"{where}: {bound} only applies to integer and number options")
            elif not isinstance(option[bound], int | float) or abs(option[bound]) > MAX_SAFE_INT:
                problems.append(f"{where}: {bound} must be a number within ±(2^53 - 1)")
    if "min_value" in option and "max_value" in option and option["min_value"] > option["max_value"]:
        problems.append(f"{where}: min_value is above max_value")
    for bound, low in (("min_length", 0), ("max_length", 1)):
        if bound in option:
            if kind != STRING:
                problems.append(f"{where}: {bound} only applies to string options")
            elif not isinstance(option[bound], int) or not low <= option[bound] <= MAX_STRING_LENGTH:
                problems.append(f"{where}: {bound} must be {low}-{MAX_STRING_LENGTH}")
    if option.get("min_length", 0) > option.get("max_length", MAX_STRING_LENGTH):
        problems.append(f"{where}: min_length is above max_length")
    return problems


def _options_problems(where: str, options: list[Mapping[str, Any]], depth: int) -> list[str]:
    problems: list[str] = []
    if len(options) > MAX_OPTIONS:
        problems.append(f"{where}: {len(options)} options (at most {MAX_OPTIONS})")
    names: set[str] = set()
    kinds = {o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options}
    if len(kinds) > 1:
        problems.append(f"{where}: subcommands cannot sit beside plain options")
    problems += _localized_clashes(where, options)
    seen_optional = False
    for option in options:
        name = option.get("name")
        here = f"{where} {name}"
        problems += _name_problems(here, name)
        problems += _description_problems(here, option.get("description"))
        problems += _localization_problems(here, option)
        if name in names:
            problems.append(f"{here}: the name is used twice")
        names.add(name)
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if kind == SUB_COMMAND_GROUP and depth > 0:
                problems.append(f"{here}: subcommand groups cannot be nested")
            if kind == SUB_COMMAND and depth > 1:
                problems.append(f"{here}: subcommands nest at most two levels")
            inner = list(option.get("options") or [])
            if kind == SUB_COMMAND_GROUP and (not inner or any(o.get("type") != SUB_COMMAND for o in inner)):
                problems.append(f"{here}: a subcommand group holds 1-25 subcommands")
            problems += _options_problems(here, inner, depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                problems.append(f"{here}: required options must come before optional ones")
        else:
            seen_optional = True
        problems += _option_problems(here, option)
    return problems


def command_problems(command: Mapping[str, Any]) -> list[str]:
    """Every way one top-level chat-input command breaks Discord's limits ([] when valid)."""
    where = f"/{command.get('name')}"
    problems = _name_problems(where, command.get("name"))
    problems += _description_problems(where, command.get("description"))
    problems += _localization_problems(where, command)
    if command.get("type", 1) != 1:
        problems.append(f"{where}: only chat-input (type 1) commands are built here")
    problems += _options_problems(where, list(command.get("options") or []), 0)
    size = _chars(command)
    if size > MAX_COMMAND_CHARS:
        problems.append(f"{where}: {size} characters in names, descriptions and choices (at most {MAX_COMMAND_CHARS})")
    return problems


def tree_problems(commands: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems with a whole list of commands, as one bulk overwrite would send it."""
    commands = list(commands)
    problems: list[str] = []
    if len(commands) > MAX_COMMANDS:
        problems.append(f"{len(commands)} commands (at most {MAX_COMMANDS})")
    names = [c.get("name") for c in commands]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"/{name}: defined twice")
    problems += _localized_clashes("the commands", commands)
    for command in commands:
        problems += command_problems(command)
    return problems


def modal_problems(modal: Mapping[str, Any]) -> list[str]:
    """Problems with a modal payload (title, custom id, 1-5 text inputs and their labels)."""
    problems: list[str] = []
    title, custom_id = modal.get("title"), modal.get("custom_id")
    if not isinstance(title, str) or not 1 <= len(title) <= MAX_MODAL_TITLE:
        problems.append(f"modal title must be 1-{MAX_MODAL_TITLE} characters")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        problems.append(f"modal custom_id must be 1-{MAX_CUSTOM_ID} characters")
    inputs = list(_inputs(modal.get("components") or []))
    if not 1 <= len(inputs) <= MAX_MODAL_INPUTS:
        problems.append(f"a modal holds 1-{MAX_MODAL_INPUTS} inputs (has {len(inputs)})")
    for item in inputs:
        label = item.get("label")
        if label is not None and not 1 <= len(label.strip()) <= len(label) <= MAX_INPUT_LABEL:
            problems.append(f"input {item.get('custom_id')}: label must be 1-{MAX_INPUT_LABEL} characters")
        low = int(item.get("min_length") or 0)
        if not 0 <= low <= MAX_INPUT_LENGTH or low > int(item.get("max_length") or MAX_INPUT_LENGTH):
            problems.append(f"input {item.get('custom_id')}: min_length must be 0-{MAX_INPUT_LENGTH}, not above max_length")
        custom = item.get("custom_id")
        if not isinstance(custom, str) or not 1 <= len(custom) <= MAX_CUSTOM_ID:
            problems.append(f"input custom_id must be 1-{MAX_CUSTOM_ID} characters")
        if not 1 <= int(item.get("max_length") or MAX_INPUT_LENGTH) <= MAX_INPUT_LENGTH:
            problems.append(f"input {item.get('custom_id')}: max_length must be 1-{MAX_INPUT_LENGTH}")
        if len(item.get("value") or "") > int(item.get("max_length") or MAX_INPUT_LENGTH):
            problems.append(f"input {item.get('custom_id')}: prefilled value is longer than max_length")
    return problems


def _inputs(components: list[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for component in components:
        if component.get("type") == 4:
            yield component
        yield from _inputs(list(component.get("components") or []))
        if isinstance(component.get("component"), Mapping):
            label = component.get("label")
            inner = dict(component["component"])
            if label is not None:
                inner.setdefault("label", label)
            yield from _inputs([inner])
