"""Malformed Discord interactions, fuzzed with hypothesis, through the real gateway of the
loopback Discord (issue 7, "Bad input").

Slash commands whose options have unexpected types (a string where an integer is declared, a
float, a bool, null, nested lists, an unknown option, a sub-command that does not exist, an
overlong string, an integer beyond 2**63), buttons with garbage custom ids and forms with
unknown fields or missing values. The bot stays connected, every interaction is answered, a
refusal is ephemeral and says something, nothing from our adapter logs a traceback, and a
refused interaction changes nothing in storage.

Hypothesis draws the interactions up front (an async test cannot be driven by ``@given``
directly); each is then sent through the gateway and checked, the failing payload named."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.discord.conftest import Bot, bot, loopback  # noqa: F401, F811 (the fixtures)
from tests.discord_loopback.server import IT_APPLICATION_COMMAND  # type: ignore[attr-defined]

EPHEMERAL = 1 << 6
REFUSALS = ("invalid", "forbidden", "refused")

garbage_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("\x00\x07\x1b\u200b\u202e\ufeff\n\t :~>=!?#@<>|/\\"), max_size=30),
    st.sampled_from(["", " ", "x" * 6001, "<@1>", "<#1>", "9" * 30, "NaN", "-1", "y:", "n:abc", "f:", "~"]),
)
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([2**63, 2**64 + 1, -(2**63) - 1]),
        st.floats(allow_nan=True, allow_infinity=True),
        garbage_text,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(garbage_text, inner, max_size=3)),
    max_leaves=6,
)
OPTION_TYPES = st.one_of(st.integers(1, 11), st.sampled_from([0, 99, -1]), values)


def leaf_schema(command: dict[str, Any], path: list[str]) -> list[dict[str, Any]]:
    schema = command.get("options", [])
    for part in path:
        schema = next(o for o in schema if o.get("name") == part).get("options", [])
    return schema


def paths(command: dict[str, Any]) -> list[list[str]]:
    """Every way down to a leaf of a registered command (its sub-command groups)."""
    found: list[list[str]] = []

    def walk(schema: list[dict[str, Any]], path: list[str]) -> None:
        subs = [o for o in schema if o.get("type") in (1, 2)]
        if not subs:
            found.append(path)
        for sub in subs:
            walk(sub.get("options", []), [*path, sub["name"]])

    walk(command.get("options", []), [])
    return found


def command_payloads(commands: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def payload(draw) -> dict[str, Any]:
        command = draw(st.sampled_from(commands))
        path = draw(st.sampled_from(paths(command)))
        schema = leaf_schema(command, path)
        options: list[Any] = []
        for spec in schema:
            if draw(st.booleans()):
                kind = draw(st.one_of(st.just(spec.get("type")), OPTION_TYPES))
                options.append({"type": kind, "name": spec["name"], "value": draw(values)})
        if draw(st.integers(0, 3)) == 0:
            options.append({"type": draw(OPTION_TYPES), "name": draw(garbage_text), "value": draw(values)})
        if draw(st.integers(0, 5)) == 0:
            options.append(draw(values))  # not an option object at all
        if draw(st.integers(0, 5)) == 0:
            options = draw(values)  # `options` itself of the wrong kind
        wrapped: Any = options
        subs = list(path)
        if draw(st.integers(0, 4)) == 0:
            subs.append(draw(garbage_text))  # a sub-command that does not exist
        for part in reversed(subs):
            wrapped = [{"type": 1 if part == subs[-1] else 2, "name": part, "options": wrapped}]
        data: dict[str, Any] = {"id": str(command["id"]), "name": command["name"], "type": 1}
        if wrapped not in ([], None):
            data["options"] = wrapped
        if draw(st.integers(0, 5)) == 0:
            data["name"] = draw(garbage_text)  # a command that does not exist
        return data

    return payload()


buttons = st.one_of(
    garbage_text,
    st.builds(lambda p, rest: p + rest, st.sampled_from(["y:", "n:", "f:", "~", "g:", "y:1", "n:-"]), garbage_text),
).filter(lambda custom_id: 0 < len(custom_id) <= 100)

form_components = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"type": st.just(1), "id": st.integers(1, 50)},
            optional={
                "components": st.lists(
                    st.fixed_dictionaries(
                        {"type": st.one_of(st.just(4), st.integers(0, 20))},
                        optional={"custom_id": garbage_text, "value": values, "values": values, "id": st.integers(1, 50)},
                    ),
                    max_size=3,
                )
            },
        ),
        max_size=3,
    ),
    st.lists(
        st.fixed_dictionaries(
            {"type": st.just(18), "id": st.integers(1, 50)},
            optional={"component": st.fixed_dictionaries({"type": st.just(4)}, optional={"custom_id": garbage_text, "value": values})},
        ),
        max_size=3,
    ),
)
forms = st.tuples(
    st.one_of(garbage_text, st.sampled_from(["c:pair-join", "c:questions-suggest", "~x", "g:1:c:x", "agreement"])),
    form_components,
)


def drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


async def fingerprint(db) -> dict[str, str]:
    digests = {}
    for (table,) in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        digest = hashlib.sha256()
        for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY rowid"):
            digest.update(repr(tuple(row)).encode())
        digests[table] = digest.hexdigest()
    return digests


async def test_malformed_interactions_are_answered_kindly_and_change_nothing(bot: Bot, caplog) -> None:  # noqa: F811
    caplog.set_level(logging.INFO)
    server, app = bot.server, bot.app
    guild = bot.guild.id
    commands = [c for c in server.commands.get(guild, []) + server.commands.get(None, []) if c.get("type", 1) == 1]
    assert commands
    for user in bot.users:  # everyone met first: meeting a member is not the fuzzed change
        await bot.say(user, "help")
    outcomes: list[str] = []
    app.observe(lambda outcome, name: outcomes.append(outcome))
    cases: list[tuple[str, Any]] = (
        [("command", data) for data in drawn(command_payloads(commands), 150)]
        + [("button", custom_id) for custom_id in drawn(buttons, 50)]
        + [("form", form) for form in drawn(forms, 50)]
    )
    users = list(bot.users)
    tally: dict[str, int] = {}
    for index, (kind, case) in enumerate(cases):
        user = bot.uid(users[index % len(users)])
        outcomes.clear()
        before = await fingerprint(app.db)
        members = (await app.db.fetchone("SELECT count(*) FROM members"))[0]
        if kind == "command":
            handle = await server._send_interaction(
                IT_APPLICATION_COMMAND, guild, bot.circle.id, user, case, locale="en-US"
            )
        elif kind == "button":
            handle = await server.send_component(guild, bot.circle.id, user, case)
        else:
            custom_id, components = case
            handle = await server.send_modal_submit(guild, bot.circle.id, user, custom_id, components)
        try:
            callback = await handle.response()
        except TimeoutError:
            raise AssertionError(("left unanswered", kind, case)) from None
        await bot.settle()
        after = await fingerprint(app.db)
        where = (kind, case, outcomes)
        assert callback.ok, (*where, callback.status, callback.response)
        kind_of_answer = callback.json["type"]
        assert "error" not in outcomes, where
        outcome = outcomes[-1] if outcomes else "none"
        tally[outcome] = tally.get(outcome, 0) + 1
        if kind_of_answer == 9:
            continue  # a form to finish the command in: nothing done yet
        shown = [callback.json.get("data", {}).get("content", "")]
        shown += [r.json.get("content", "") for r in handle.followups() if isinstance(r.json, dict)]
        assert any(text.strip() for text in shown), where
        if outcome in ("none", *REFUSALS):
            assert handle.ephemeral, where
            changed = [t for t in before if before[t] != after.get(t)]
            if (await app.db.fetchone("SELECT count(*) FROM members"))[0] > members:
                changed.remove("members")  # meeting someone (named in an option) is no change by the command
            assert changed == [], where
    assert not bot.adapter.client.is_closed() and bot.adapter.client.is_ready()
    tracebacks = [
        r for r in caplog.records
        if r.name.startswith(("adapters", "bot", "alongside")) and (r.exc_info or r.levelno >= logging.ERROR)
    ]
    assert not tracebacks, [(r.name, r.getMessage()) for r in tracebacks]
    assert server.unhandled == []
    assert len(cases) >= 240 and tally.get("none", 0) < len(cases), tally
