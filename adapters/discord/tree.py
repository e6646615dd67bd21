"""The slash-command tree, built from the core's registry (never a hand-written list).

Groups become slash commands with subcommands (`/questions now`, `/pair join`); single-word
commands (`/help`, `/setup`, `/checkin`, `/yes`) are top-level. Argument types become typed
options: INT → integer with min/max, MEMBER → user, CHOICE → string choices (autocomplete
beyond 25), TEXT/WORD/RECURRENCE/TIMEZONE → strings with lengths; a RECURRENCE also gets an
optional `timezone` option. Descriptions come from the prompts catalog.

Every shipped locale's words ride along as Discord's `name_localizations` and
`description_localizations` (on commands, subcommands and options; choices get
`name_localizations`): a member whose Discord speaks Spanish sees `/parejas unirme`. Discord
still sends the English (default) names in an interaction, and choice values are always the
English ones, so routing below never sees another language.

The tree is plain JSON, exactly what `PUT /applications/{id}/commands` receives, so
`payload_limits` validates what is really sent, and its hash tells whether a sync is due.
The same object maps an interaction's `data` back to a command name and core options.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.discord import payload_limits as limits
from bot.app import Arg, ArgType, Catalog, CommandSpec, Who, command_words

GUILD_CONTEXT = 0  # interaction context: inside a server (a server is a community)
GUILD_INSTALL = 0  # integration type: installed to a server
MANAGE_GUILD = 1 << 5
TIMEZONE_OPTION = "timezone"
WORD_MAX = 100
TEXT_MAX = 4000
RECURRENCE_MAX = 200
_CHANNEL_MENTION = re.compile(r"^<#(\d{1,25})>$")

# Arguments that get suggestions even though the spec does not ask (they help on Discord):
# (group, argument name).
EXTRA_AUTOCOMPLETE = frozenset({("agreement", "id"), ("help", "command")})

# Our locale folders (prompts/<locale>/) → Discord's locales for them
# (https://discord.com/developers/docs/reference#locales). A folder already named as one of
# Discord's locales (fr, de, ja, ...) needs no entry; a locale Discord does not have is not sent.
DISCORD_LOCALES: dict[str, tuple[str, ...]] = {
    "en": ("en-US", "en-GB"),
    "es": ("es-ES", "es-419"),
    "pt": ("pt-BR",),
    "sv": ("sv-SE",),
    "zh": ("zh-CN", "zh-TW"),
}


def discord_locales(locale: str) -> tuple[str, ...]:
    """Discord's locales for one of ours ("es" → "es-ES", "es-419")."""
    found = DISCORD_LOCALES.get(locale)
    if found is not None:
        return found
    return (locale,) if locale in limits.DISCORD_LOCALES else ()


def our_locale(discord_locale: str | None, available: Iterable[str]) -> str | None:
    """Which of our locales a Discord client's locale is ("es-419" → "es"), if we have it."""
    if not discord_locale:
        return None
    for locale in available:
        if discord_locale in discord_locales(locale):
            return locale
    return None


class TreeError(Exception):
    """The registry cannot be shown on Discord as it stands (e.g. a name clash)."""


@dataclass(frozen=True)
class Route:
    spec: CommandSpec
    # Discord option name → the core argument it feeds.
    arguments: dict[str, Arg]
    recurrence_arg: str | None = None  # the core argument a separate `timezone` option joins
    # A long free text the member may leave out of the command to write it in a form instead.
    form_arg: Arg | None = None


@dataclass
class CommandTree:
    payload: list[dict[str, Any]]
    routes: dict[tuple[str, ...], Route] = field(default_factory=dict)
    generic_descriptions: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return tree_hash(self.payload)

    def problems(self) -> list[str]:
        return limits.tree_problems(self.payload)

    def route(self, data: Mapping[str, Any]) -> tuple[Route | None, dict[str, Any], str | None]:
        """From an interaction's `data`: the route, the option values by name and the focused
        option (autocomplete). Unknown paths, and options that are not a list of objects, give
        no route."""
        path = [str(data.get("name", ""))]
        options = data.get("options") or []
        if not _objects(options):
            return None, {}, None
        while options and options[0].get("type") in (limits.SUB_COMMAND, limits.SUB_COMMAND_GROUP):
            path.append(str(options[0].get("name", "")))
            options = options[0].get("options") or []
            if not _objects(options):
                return None, {}, None
        values = {str(o.get("name")): o.get("value") for o in options}
        focused = next((str(o.get("name")) for o in options if o.get("focused")), None)
        return self.routes.get(tuple(path)), values, focused

    def core_options(self, route: Route, values: Mapping[str, Any]) -> dict[str, Any]:
        """Discord option values → the core's structured options (names, joined timezone)."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            arg = route.arguments.get(name)
            if arg is None:
                if name == TIMEZONE_OPTION and route.recurrence_arg:
                    continue
                out[name] = value  # unknown: the core refuses it kindly
                continue
            if isinstance(value, str):
                match = _CHANNEL_MENTION.match(value.strip())
                if match and arg.type in (ArgType.TEXT, ArgType.WORD):
                    value = match.group(1)
            out[arg.name] = value
        if route.recurrence_arg and values.get(TIMEZONE_OPTION):
            base = out.get(route.recurrence_arg)
            zone = str(values[TIMEZONE_OPTION]).strip()
            out[route.recurrence_arg] = f"{base} {zone}" if base else base
        return out


def _objects(options: Any) -> bool:
    return isinstance(options, list) and all(isinstance(o, Mapping) for o in options)


def tree_hash(payload: Iterable[Mapping[str, Any]]) -> str:
    canonical = json.dumps(list(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_tree(
    specs: Iterable[CommandSpec],
    catalog: Catalog,
    *,
    locale: str = "en",
    facilitator_hint: bool = True,
) -> CommandTree:
    """Every spec as a slash command. `facilitator_hint` adds Discord's default-permission hint
    (Manage Server) to top-level commands only facilitators may use; the core still checks."""
    # Long: the small helpers below share the catalog and locale; split up, they would each
    # need both passed in, and the tree reads best top to bottom as one payload being built.
    specs = list(specs)
    tree = CommandTree(payload=[])
    words = command_words(catalog)
    # every other shipped locale Discord knows, for the localizations
    others = [other for other in catalog.locales if other != locale and discord_locales(other)]
    by_top: dict[str, list[CommandSpec]] = {}
    for spec in specs:
        by_top.setdefault(spec.path[0], []).append(spec)

    def text(key: str, in_locale: str = locale) -> str:
        return catalog.text(in_locale, key, prefix="/")

    def describe(
        spec: CommandSpec, name: str, fallback_key: str = "discord.option_generic", in_locale: str = locale
    ) -> str:
        specific = f"discord.options.{spec.key}.{name}"
        if catalog.has(specific):
            return text(specific, in_locale)
        if in_locale == locale:
            tree.generic_descriptions.append(f"{spec.name}: {name}")
        return text(fallback_key, in_locale)

    def localize(node: dict[str, Any], name: Callable[[str], str], description: Callable[[str], str]) -> None:
        """Each other locale's name and description for `node`, under Discord's locales."""
        if not others:
            return
        node["name_localizations"] = {code: name(other) for other in others for code in discord_locales(other)}
        node["description_localizations"] = {
            code: description(other) for other in others for code in discord_locales(other)
        }

    def localize_option(spec: CommandSpec, arg_name: str, option: dict[str, Any], fallback_key: str) -> None:
        localize(
            option,
            lambda other: words.option(other, arg_name).lower(),
            lambda other: describe(spec, option["name"], fallback_key, other),
        )
        for choice in option.get("choices") or []:
            if others:
                choice["name_localizations"] = {
                    code: words.value(other, choice["value"]) for other in others for code in discord_locales(other)
                }

    def options_for(spec: CommandSpec) -> tuple[list[dict[str, Any]], Route]:
        options: list[dict[str, Any]] = []
        arguments: dict[str, Arg] = {}
        recurrence_arg = None
        form_arg = None
        for arg in spec.args:
            name = arg.name.lower()
            arguments[name] = arg
            option = _option(spec, arg, name, describe(spec, name))
            localize_option(spec, arg.name, option, "discord.option_generic")
            if is_long_text(spec, arg):
                option["required"] = False  # left out, a form asks for it
                form_arg = arg
            options.append(option)
            if arg.type is ArgType.RECURRENCE and TIMEZONE_OPTION not in {a.name for a in spec.args}:
                recurrence_arg = arg.name
        if recurrence_arg is not None:
            zone = {
                "type": limits.STRING,
                "name": TIMEZONE_OPTION,
                "description": describe(spec, TIMEZONE_OPTION, "discord.option_timezone"),
                "required": False,
                "max_length": 64,
                "autocomplete": True,
            }
            localize_option(spec, TIMEZONE_OPTION, zone, "discord.option_timezone")
            options.append(zone)
        return options, Route(spec, arguments, recurrence_arg, form_arg)

    for top, members in by_top.items():
        summary_key = f"help.group.{top.replace('-', '_')}"
        single = [s for s in members if len(s.path) == 1]
        nested = [s for s in members if len(s.path) > 1]
        if single and nested:
            raise TreeError(f"/{top} is both a command and a group of commands")
        if single:
            spec = single[0]
            options, route = options_for(spec)
            command = {"name": top, "description": text(spec.summary_key), "options": options}
            localize(
                command,
                lambda other, spec=spec: words.command(other, spec.path),
                lambda other, spec=spec: text(spec.summary_key, other),
            )
            tree.routes[(top,)] = route
        else:
            subs: dict[str, dict[str, Any]] = {}
            sub_options: list[dict[str, Any]] = []
            for spec in nested:
                if len(spec.path) > 3:
                    raise TreeError(f"/{spec.name}: Discord nests commands at most three words deep")
                options, route = options_for(spec)
                leaf = {
                    "type": limits.SUB_COMMAND,
                    "name": spec.path[-1],
                    "description": text(spec.summary_key),
                    "options": options,
                }
                localize(
                    leaf,
                    lambda other, spec=spec: words.command(other, spec.path),
                    lambda other, spec=spec: text(spec.summary_key, other),
                )
                tree.routes[spec.path] = route
                if len(spec.path) == 2:
                    sub_options.append(leaf)
                    continue
                group = subs.get(spec.path[1])
                if group is None:
                    group_key = f"help.group.{top.replace('-', '_')}_{spec.path[1].replace('-', '_')}"
                    group_key = group_key if catalog.has(group_key) else summary_key
                    group = subs[spec.path[1]] = {
                        "type": limits.SUB_COMMAND_GROUP,
                        "name": spec.path[1],
                        "description": text(group_key),
                        "options": [],
                    }
                    localize(
                        group,
                        lambda other, spec=spec: words.command(other, spec.path[:2]),
                        lambda other, key=group_key: text(key, other),
                    )
                    sub_options.append(group)
                group["options"].append(leaf)
            command = {"name": top, "description": text(summary_key), "options": sub_options}
            localize(
                command,
                lambda other, top=top: words.command(other, (top,)),
                lambda other, key=summary_key: text(key, other),
            )
        command["type"] = 1
        command["contexts"] = [GUILD_CONTEXT]
        command["integration_types"] = [GUILD_INSTALL]
        if facilitator_hint and all(s.who is Who.FACILITATOR for s in members):
            # A hint for Discord's client only: the core checks the facilitator rule every time.
            command["default_member_permissions"] = str(MANAGE_GUILD)
        tree.payload.append(command)
    return tree


def is_long_text(spec: CommandSpec, arg: Arg) -> bool:
    """A required free text longer than a line (it takes the rest of the line, so it is the last
    argument), not one picked from suggestions: on Discord it may be written in a form instead."""
    long = arg.max is None or arg.max > WORD_MAX
    return arg.type is ArgType.TEXT and arg.required and long and arg.name not in spec.autocomplete


def _option(spec: CommandSpec, arg: Arg, name: str, description: str) -> dict[str, Any]:
    option: dict[str, Any] = {"name": name, "description": description, "required": arg.required}
    wants_suggestions = arg.name in spec.autocomplete or (spec.group, arg.name) in EXTRA_AUTOCOMPLETE
    match arg.type:
        case ArgType.INT:
            option["type"] = limits.INTEGER
            # Discord takes integers within ±(2^53 - 1); a wider bound means "no bound" there.
            if arg.min is not None:
                option["min_value"] = max(arg.min, -limits.MAX_SAFE_INT)
            if arg.max is not None:
                option["max_value"] = min(arg.max, limits.MAX_SAFE_INT)
        case ArgType.MEMBER:
            option["type"] = 6  # USER
        case ArgType.CHOICE:
            option["type"] = limits.STRING
            if len(arg.choices) <= limits.MAX_CHOICES and not wants_suggestions:
                option["choices"] = [{"name": c, "value": c} for c in arg.choices]
            else:
                option["autocomplete"] = True
        case ArgType.TIMEZONE:
            option["type"] = limits.STRING
            option["max_length"] = 64
            option["autocomplete"] = True
        case _:
            option["type"] = limits.STRING
            if arg.min is not None:
                option["min_length"] = max(0, min(arg.min, limits.MAX_STRING_LENGTH))
            default_max = {ArgType.WORD: WORD_MAX, ArgType.RECURRENCE: RECURRENCE_MAX}.get(arg.type, TEXT_MAX)
            option["max_length"] = min(arg.max if arg.max is not None else default_max, limits.MAX_STRING_LENGTH)
            if wants_suggestions:
                option["autocomplete"] = True
    return option
