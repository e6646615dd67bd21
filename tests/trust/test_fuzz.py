"""Bad input of every kind: the parser and every command's arguments, fuzzed with hypothesis.

No input may raise, every refusal is a specific message, and a refused command changes nothing
in storage. Together these tests run well over 10,000 examples."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alongside.settings import load_settings
from bot.app import all_commands
from bot.commands.parser import ParseError, parse_text
from bot.commands.registry import Registry
from bot.commands.spec import ArgType
from bot.context import CommunityRef
from bot.replies import Answer
from bot.texts.catalog import Catalog
from tests.harness import make_harness, mention

REGISTRY = Registry(all_commands())
CATALOG = Catalog(load_settings(None).prompts_dir)
NAMES = sorted(spec.name for spec in REGISTRY.specs())

nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet=st.sampled_from("\x00\x01\x07\x1b\u200b\u202e\ufeff\n\t \\/@#<>:*-?"), max_size=40),
    st.sampled_from(["", " ", "@", "@@", "<@>", "<@123>", "@ghost", "@sam:example.org", "#circle",
                     "-1", "0", "99999999999999999999", "1e9", "３", "Ⅻ", "NaN", "mon,mon 25:61",
                     "every 0 days 10:00", "* * * * * *", "31 2 * *", "Europe/Nowhere",
                     "../../etc/passwd", "UTC+5", "x" * 5000]),
)


def argument_words(arg_type: ArgType) -> st.SearchStrategy[str]:
    specific = {
        ArgType.INT: st.one_of(st.integers(-10**12, 10**12).map(str), nasty_text),
        ArgType.MEMBER: st.one_of(st.sampled_from(["@sam", "@jo", "@alex", "@nobody", "@rin", "@kim"]), nasty_text),
        ArgType.RECURRENCE: st.one_of(
            st.sampled_from(["daily 18:00", "weekly mon,thu 19:30 Europe/London", "every 2 weeks mon 10:00",
                             "30 18 * * mon", "weekdays 9:05 America/New_York", "every 400 days 10:00",
                             "daily 24:00", "weekly fun 10:00", "0 0 31 2 *"]),
            nasty_text,
        ),
        ArgType.TIMEZONE: st.one_of(st.sampled_from(["UTC", "Europe/Paris", "Mars/Base", "utc"]), nasty_text),
    }
    return specific.get(arg_type, nasty_text)


@st.composite
def command_lines(draw) -> str:
    spec = REGISTRY.get(draw(st.sampled_from(NAMES)))
    words = [spec.name]
    for arg in spec.args:
        if draw(st.booleans()) or arg.required:
            if arg.choices and draw(st.booleans()):
                words.append(draw(st.sampled_from(arg.choices)))
            else:
                words.append(draw(argument_words(arg.type)))
    return " ".join(words)


@settings(max_examples=6000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(command_lines(), nasty_text))
def test_parser_never_raises_anything_but_a_specific_parse_error(line):
    try:
        parse_text(REGISTRY, line, mention)
    except ParseError as error:
        message = CATALOG.text("en", error.key, **error.params, prefix="/")
        assert message.strip()
        assert error.key != "error.internal"


async def fingerprint(db) -> str:
    digest = hashlib.sha256()
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    for (table,) in tables:
        for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY rowid"):
            digest.update(repr((table, tuple(row))).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One community with some history, shared by the examples (each example restores nothing:
    it only checks that refusals change nothing, and successes may move the world on)."""
    loop = asyncio.new_event_loop()
    harness = loop.run_until_complete(make_harness(tmp_path_factory.mktemp("fuzz")))
    other = CommunityRef("console", "elsewhere", "elsewhere")

    async def prepare():
        for user in ("alex", "sam", "jo", "rin"):
            await harness.app.context(harness.inv(user))
        await harness.app.context(harness.inv("kim", community=other))
        await harness.run("alex", "/questions schedule daily 18:00")
        await harness.run("sam", "/questions suggest What did you notice about yourself this week?")
        await harness.advance(timedelta(days=1))

    loop.run_until_complete(prepare())
    yield loop, harness, other
    loop.run_until_complete(harness.close())
    loop.close()


ACTORS = st.sampled_from([("alex", "circle"), ("sam", "circle"), ("jo", None), ("rin", "circle"), ("kim", "other")])


@settings(max_examples=4500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.one_of(command_lines(), nasty_text), actor=ACTORS)
def test_every_command_answers_bad_input_kindly_and_changes_nothing(world, line, actor):
    loop, harness, other = world
    user, channel = actor
    outcomes: list[str] = []

    async def attempt():
        community = other if channel == "other" else None
        # Meeting a member (e.g. again after `mydata forget`) is not a change made by the command.
        await harness.app.context(harness.inv(user, community=community))
        before = await fingerprint(harness.db)
        harness.app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
        intents = await harness.app.handle_text(
            harness.inv(user, None if channel in (None, "other") else channel, community), line, mention
        )
        await harness.app.deliver_pending()
        after = await fingerprint(harness.db)
        return before, intents, after

    before, intents, after = loop.run_until_complete(attempt())
    assert outcomes and outcomes[-1] != "error", line
    assert intents, line
    if outcomes[-1] in ("invalid", "forbidden", "refused"):
        assert after == before, (line, outcomes)
        answers = [i for i in intents if isinstance(i, Answer)]
        assert answers and all(a.text.strip() for a in answers)
