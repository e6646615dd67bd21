"""Every command example the bot shows works when the person it is addressed to types it
(issue 12 hole 2).

Every prompt file (prompts/en/*.toml: the messages, and the agreement, check-in, question and
space-agreement texts) is searched for examples: `{prefix}` followed by a command and its
arguments as written (placeholders like `<text>` mark a usage line, not an example, and are left
out). Each example is filled with the world's real values (an agreement id, a member's name), and
typed by its addressee — a facilitator for facilitator commands, otherwise a member in that
agreement and in pairing — in a world where those exist, once as the console and Discord show it
(`/`) and once as the Matrix adapter renders it (`!`, read back through the Matrix adapter's own
command reader). It must not be refused as invalid input, unknown, or off-limits to its
addressee; a refusal for the world's state ("nothing waiting for you") is fine, since the example
only has to be a command that works as written. No prompt text outside the console's and
Discord's own writes a command with a fixed `/`: on Matrix it would be wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from string import Formatter
from typing import Any

import pytest

from adapters.discord.tree import build_tree
from adapters.matrix.events import read_command
from adapters.matrix.render import Renderer
from bot.app import all_commands
from bot.commands import parser
from bot.commands.parser import ParseError, find_command
from bot.commands.registry import Registry
from bot.commands.spec import ArgType, Who
from bot.context import CommunityRef
from bot.texts.catalog import Catalog
from tests.core.agreements.helpers import meet, say, start_pair
from tests.harness import copy_store, make_harness, mention

PROMPTS = __import__("bot.config", fromlist=["load_settings"]).load_settings(None).prompts_dir
CATALOG = Catalog(PROMPTS)
REGISTRY = Registry(all_commands())
GROUPS = frozenset(spec.group for spec in REGISTRY.specs())
# How each platform takes commands: the console typed with `/`, Matrix typed with `!` (its adapter
# renders the text and reads a typed line back its own way), Discord as a slash command whose
# options the member fills in as the example shows.
PLATFORMS = ("console", "matrix", "discord")
PREFIX = {"console": "/", "matrix": "!", "discord": "/"}
SPACES = {
    "matrix": CommunityRef("matrix", "!circle:example.org", "circle"),
    "discord": CommunityRef("discord", "1001", "circle"),
}
TREE = build_tree(REGISTRY.specs(), CATALOG)
# Words that end an example in running text ("/pair status shows ...").
_STOP = re.compile(r"^[a-z]+$")
_TAIL = ".,;:)!?\""


def _strings(value: Any, key: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in _strings(item, f"{key}.{name}")]
    if isinstance(value, list):
        return [found for n, item in enumerate(value) for found in _strings(item, f"{key}[{n}]")]
    return []


def _texts() -> list[tuple[str, str]]:
    """(key, text) for every text in every prompt file: message keys as the catalog knows them,
    and `file:path` for the data files (agreement, check-in, question, space-agreement texts)."""
    texts = sorted(CATALOG.locale("en").messages.items())
    for path in sorted(Path(PROMPTS, "en").glob("*.toml")):
        if not path.stem.startswith("messages"):
            texts += _strings(tomllib.loads(path.read_text(encoding="utf-8")), path.stem + ":")
    return texts


def _examples() -> list[tuple[str, str]]:
    """(key, example template) for every command example in the prompt files."""
    found: list[tuple[str, str]] = []
    for key, template in _texts():
        if key.startswith("help.") and key != "help.more" and not key.startswith("help.more."):
            continue  # help's own templates render usage lines, not examples
        for match in re.finditer(r"\{prefix\}", template):
            words = template[match.end() :].split()
            if not words:
                continue
            try:
                spec, used = find_command(REGISTRY, [w.rstrip(_TAIL) for w in words[:3]])
            except ParseError:
                if re.match(r"[a-z]", words[0]):
                    # Reads as a command but is none (a renamed or misspelt one): it must fail.
                    found.append((key, " ".join(w.rstrip(_TAIL) for w in words[:2])))
                continue
            taken = words[:used]
            if any(w[-1] in _TAIL for w in words[: used - 1]) or words[used - 1][-1:] in _TAIL:
                found.append((key, " ".join(w.rstrip(_TAIL) for w in taken)))
                continue
            limit = 8 if spec.args and spec.args[-1].consumes_rest else len(spec.args)
            for word in words[used : used + limit]:
                bare = word.rstrip(_TAIL)
                if not bare or not any(ch.isalnum() or ch in "{@#" for ch in bare):
                    break
                if _STOP.match(bare) and not _is_argument(spec, len(taken) - used, bare):
                    break
                taken.append(bare)
                if word[-1] in _TAIL:
                    break
            example = " ".join(taken)
            if any(mark in example for mark in ("<", "[", "…", "...", "@name", "#name", "YYYY")):
                continue  # a usage line with placeholders, not an example to type
            found.append((key, example))
    return found


# Lowercase words that are arguments in examples (anything else lowercase is the sentence going on).
_ARGUMENT_WORDS = {
    *("on", "off", "remove", "skip", "done", "share", "revisit", "all"),
    *("daily", "weekly", "weekdays", "every", "weeks", "days", "from"),
    *("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
}


def _is_argument(spec, index: int, word: str) -> bool:
    """Whether a plain lowercase word is plausibly the next argument rather than prose."""
    arg = spec.args[min(index, len(spec.args) - 1)] if spec.args else None
    if arg is not None and arg.type is ArgType.CHOICE and index < len(spec.args):
        return word in arg.choices
    return word in _ARGUMENT_WORDS


EXAMPLES = _examples()


def test_examples_are_found():
    # The extraction finds the examples people are shown (a guard against a silent no-op).
    assert len(EXAMPLES) > 40
    shown = {example for _, example in EXAMPLES}
    assert "agreement start {mentions}" in shown
    assert "pair status" in shown
    # Every prompt file is read, the data files too.
    read = {key.split(":")[0] for key, _ in _texts() if ":" in key}
    assert {"agreement", "checkins", "questions", "space_agreement"} <= read, read


# The console's and Discord's own texts may name their `/` commands; nothing else may.
_FIXED_SLASH = re.compile(r"(?<![\w{}/:<])/(" + "|".join(re.escape(g) for g in sorted(GROUPS)) + r")\b")


def test_no_text_writes_a_command_with_a_fixed_slash():
    fixed = [
        (key, text[max(0, match.start() - 20) : match.end() + 20])
        for key, text in _texts()
        if not key.startswith(("console.", "discord."))
        for match in _FIXED_SLASH.finditer(text)
    ]
    assert fixed == [], "write {prefix} instead, so Matrix shows its own: " + repr(fixed)


async def _build_world(folder: Path, community: CommunityRef | None) -> str:
    """A space with a question channel, an agreement between alex and sam, and sam, jo and rin in
    pairing; alex is a facilitator. Its agreement's id."""
    h = await make_harness(folder)
    try:
        if community is not None:
            h.community = community
        await meet(h, "alex", "sam", "jo", "rin")
        await say(h, "alex", "setup question-channel #circle", private=False)
        await say(h, "alex", "space-agreement draft", private=False)
        short_id = await start_pair(h, "alex", "sam")
        await say(h, "sam", "space-agreement propose purpose We are here to listen.")
        return short_id
    finally:
        await h.close()


# One world per platform, built once and copied for each example (every example gets its own
# copy, so none sees another's effects), which keeps these hundreds of runs quick.
_WORLDS: dict[str, tuple[Path, str]] = {}


async def _world(tmp_path: Path, platform: str, tmp_path_factory: pytest.TempPathFactory):
    if platform not in _WORLDS:
        folder = tmp_path_factory.mktemp(f"world-{platform}")
        _WORLDS[platform] = (folder, await _build_world(folder, SPACES.get(platform)))
    folder, short_id = _WORLDS[platform]
    await copy_store(folder, tmp_path)
    h = await make_harness(tmp_path)
    if platform in SPACES:
        h.community = SPACES[platform]
    return h, short_id


# Refusals that mean the example itself is wrong (not merely that the world's state differs).
WRONG = (
    "agreement.start_self",
    "agreement.start_too_many",
    "agreement.start_not_member",
    "agreement.unknown_section",
    "agreement.no_such",
    "space_agreement.unknown_section",
    "help.unknown",
)


def _openings() -> list[str]:
    texts = []
    for key in WRONG:
        template = CATALOG.locale("en").messages[key]
        texts.append(template.split("{")[0][:30])
    return [text for text in texts if len(text) > 8]


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "x"


def _as_typed(prefix: str, line: str, private: bool) -> str:
    """The command the core gets when the line is shown with `prefix` and typed back as shown:
    on Matrix, the body the adapter renders, read by the adapter's own command reader."""
    if prefix == "/":
        return line
    body = Renderer(prefix, [spec.name for spec in REGISTRY.specs()]).content(prefix + line)["body"]
    read = read_command({"msgtype": "m.text", "body": body}, prefix, private=private, groups=GROUPS)
    assert read is not None, ("the Matrix adapter would not read this as a command", body)
    return read.command


def _slash_options(line: str) -> tuple[str, dict[str, Any]]:
    """The Discord slash command for an example, with its options filled in as the example shows
    (each word where the text parser would put it; a member picked from Discord's list), mapped
    back to the core's options the way the Discord adapter does."""
    taken: dict[str, str] = {}

    def capture(spec, raw, resolve):  # the parser's split of the words, before any checking
        taken.update(raw)
        return {}

    original = parser.validate_args
    parser.validate_args = capture
    try:
        spec = parser.parse_text(REGISTRY, line, mention).spec
    finally:
        parser.validate_args = original
    route = TREE.routes[spec.path]
    values: dict[str, Any] = {}
    for option, arg in route.arguments.items():
        if arg.name not in taken:
            continue
        given = taken[arg.name]
        if arg.type is ArgType.INT:
            assert given.isdigit(), ("a Discord number option cannot take", given, line)
            values[option] = int(given)
        elif arg.type is ArgType.MEMBER:
            values[option] = given if given.startswith("@") else "@" + given  # picked from the list
        else:
            values[option] = given
    return spec.name, TREE.core_options(route, values)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("key", "example"), EXAMPLES, ids=[f"{k}:{e}" for k, e in EXAMPLES])
async def test_each_example_works_as_written(tmp_path, tmp_path_factory, key, example, platform):
    prefix = PREFIX[platform]
    h, short_id = await _world(tmp_path, platform, tmp_path_factory)
    try:
        values = _Values(
            prefix="",
            id=short_id,
            mentions="@alex @sam @jo",
            name="sam",
            names="sam",
            member="sam",
            mention="@jo",
            number="1",
            version="1",
            confirmation="1",
            days="7",
            command="checkin",
            arg="days",
        )
        fields = {name for _, name, _, _ in Formatter().parse(example) if name}
        if key.startswith(("confirm.", "questions.")):
            values["id"] = "1"  # there, {id} is a yes/no question's or a suggestion's number
        line = example.format_map(values)
        try:
            spec, _ = find_command(REGISTRY, line.split())
        except ParseError:
            pytest.fail(f"{key} shows {line!r}, which is no command")
        who = "alex" if spec.who is Who.FACILITATOR else "sam"
        outcomes: list[tuple[str, str]] = []
        h.app.observe(lambda outcome, name: outcomes.append((outcome, name)))
        channel = None if spec.where.value != "channel" else "circle"
        inv = replace(h.inv(who, channel), prefix=prefix)
        if platform == "discord":
            name, options = _slash_options(line)
            intents = await h.app.handle_structured(inv, name, options, mention)
        else:
            intents = await h.app.handle_text(inv, _as_typed(prefix, line, channel is None), mention)
        await h.app.deliver_pending()
        answer = "\n".join(getattr(intent, "text", "") for intent in intents)
        assert outcomes, (key, line)
        outcome = outcomes[-1][0]
        assert outcome not in ("invalid", "forbidden", "error"), (key, line, fields, answer)
        for opening in _openings():
            assert opening not in answer, (key, line, answer)
    finally:
        await h.close()
