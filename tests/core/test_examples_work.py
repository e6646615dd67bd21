"""Every command example the bot shows works when the person it is addressed to types it
(issue 12 hole 2).

Each message in prompts/en/messages*.toml is searched for examples: `{prefix}` followed by a
command and its arguments as written (placeholders like `<text>` mark a usage line, not an example,
and are left out). Each example is filled with the world's real values (an agreement id, a member's
name), and typed by its addressee — a facilitator for facilitator commands, otherwise a member in
that agreement and in pairing — in a world where those exist. It must not be refused as invalid
input, unknown, or off-limits to its addressee; a refusal for the world's state ("nothing waiting
for you") is fine, since the example only has to be a command that works as written.
"""

from __future__ import annotations

import re
from string import Formatter

import pytest

from bot.commands.catalog import all_commands
from bot.commands.parser import ParseError, find_command
from bot.commands.registry import Registry
from bot.commands.spec import ArgType, Who
from bot.texts.catalog import Catalog
from tests.core.agreements.helpers import meet, say, start_pair
from tests.harness import make_harness

CATALOG = Catalog(__import__("bot.config", fromlist=["load_settings"]).load_settings(None).prompts_dir)
REGISTRY = Registry(all_commands())
# Words that end an example in running text ("/pair status shows ...").
_STOP = re.compile(r"^[a-z]+$")
_TAIL = ".,;:)!?\""


def _examples() -> list[tuple[str, str]]:
    """(message key, example template) for every command example in the messages."""
    found: list[tuple[str, str]] = []
    for key, template in sorted(CATALOG.locale("en").messages.items()):
        if key.startswith("help.") and key != "help.more" and not key.startswith("help.more."):
            continue  # help's own templates render usage lines, not examples
        for match in re.finditer(r"\{prefix\}", template):
            words = template[match.end() :].split()
            if not words:
                continue
            try:
                spec, used = find_command(REGISTRY, [w.rstrip(_TAIL) for w in words[:3]])
            except ParseError:
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


async def _world(tmp_path):
    """A space with a question channel, an agreement between alex and sam, and sam, jo and rin in
    pairing; alex is a facilitator."""
    h = await make_harness(tmp_path)
    await meet(h, "alex", "sam", "jo", "rin")
    await say(h, "alex", "setup question-channel #circle", private=False)
    await say(h, "alex", "space-agreement draft", private=False)
    short_id = await start_pair(h, "alex", "sam")
    await say(h, "sam", "space-agreement propose purpose We are here to listen.")
    h.sink.take()
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


@pytest.mark.parametrize(("key", "example"), EXAMPLES, ids=[f"{k}:{e}" for k, e in EXAMPLES])
async def test_each_example_works_as_written(tmp_path, key, example):
    h, short_id = await _world(tmp_path)
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
        spec, _ = find_command(REGISTRY, line.split())
        who = "alex" if spec.who is Who.FACILITATOR else "sam"
        outcomes: list[tuple[str, str]] = []
        h.app.observe(lambda outcome, name: outcomes.append((outcome, name)))
        answer = await h.say(who, line, channel=None if spec.where.value != "channel" else "circle")
        assert outcomes, (key, line)
        outcome = outcomes[-1][0]
        assert outcome not in ("invalid", "forbidden", "error"), (key, line, fields, answer)
        for opening in _openings():
            assert opening not in answer, (key, line, answer)
    finally:
        await h.close()
