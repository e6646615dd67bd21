"""Malformed Matrix events, fuzzed with hypothesis (issue 7, "Bad input").

Missing fields, fields of the wrong type, nested garbage, huge strings and control characters go
through the pure readers of :mod:`adapters.matrix.events`, through nio's own parsing (a bad event
becomes a BadEvent/UnknownBadEvent, which the adapter does not handle) and through the adapter's
message handler with a fake client. Nothing may raise, an ignored event stores nothing, and a
command with bad arguments gets a specific answer while changing nothing but the record that the
event was seen. Well over 2,000 examples in all."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nio import Event, MatrixRoom, MegolmEvent, RoomMemberEvent, RoomMessageText

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.events import (
    command_source,
    command_text,
    first_word,
    is_edit,
    relates_to,
    replied_to,
    thread_root,
)
from adapters.matrix.settings import MatrixSettings
from bot.replies import Answer, Reply
from tests.harness import make_harness
from tests.matrix.test_matrix_units import ScriptedClient
from tests.trust.test_fuzz import command_lines, nasty_text

GROUPS = {"help", "pair", "questions", "agreement", "setup", "mydata"}
ROOM = "!circle:example.org"

# -- arbitrary JSON-like values ---------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(nasty_text, st.sampled_from(["event_id", "rel_type", "m.in_reply_to"])), inner, max_size=4),
    ),
    max_leaves=12,
)
RELATIONS = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "rel_type": st.one_of(st.sampled_from(["m.thread", "m.replace", "m.annotation"]), json_values),
            "event_id": st.one_of(st.just("$root"), json_values),
            "m.in_reply_to": st.one_of(st.fixed_dictionaries({"event_id": st.one_of(st.just("$r"), json_values)}), json_values),
            "is_falling_back": json_values,
        },
    ),
)
BODIES = st.one_of(
    command_lines().map(lambda line: "!" + line),
    nasty_text,
    st.sampled_from(["!", "!!", "! ", "!help", "!pair", "> <@sam:x> !pair join\n\n!pair", "> quoted only",
                     "!" + "x" * 70_000, "!help\x00\x1b[31m", "\u202e!help"]),
    json_values,
)


@st.composite
def contents(draw) -> dict[str, Any]:
    content: dict[str, Any] = draw(st.dictionaries(nasty_text, json_values, max_size=3))
    fields = {
        "msgtype": st.one_of(st.just("m.text"), st.just("m.text"), json_values),
        "body": BODIES,
        "format": st.one_of(st.just("org.matrix.custom.html"), json_values),
        "formatted_body": st.one_of(
            st.sampled_from([
                '!agreement start <a href="https://matrix.to/#/%40jo%3Aexample.org">Jo</a>',
                '<mx-reply>x</mx-reply>!pair <a href="https://matrix.to/#/%40%40%ZZ">?</a>',
                '<a href="https://matrix.to/#/@">', "matrix.to/#/" + "<" * 5000, "<br><p></li>",
            ]),
            nasty_text,
            json_values,
        ),
        "m.relates_to": RELATIONS,
        "m.new_content": json_values,
    }
    for key, strategy in fields.items():
        if draw(st.booleans()):
            content[key] = draw(strategy)
    return content


@st.composite
def command_contents(draw) -> dict[str, Any]:
    """A text message that is a command (often with bad arguments) plus odd extra fields."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": "!" + draw(command_lines())}
    extras = {
        "m.relates_to": st.one_of(
            st.fixed_dictionaries({"rel_type": st.just("m.thread"), "event_id": st.one_of(st.just("$t"), json_values)}),
            st.fixed_dictionaries({"m.in_reply_to": json_values}),
            json_values,
        ),
        "format": st.one_of(st.just("org.matrix.custom.html"), json_values),
        "formatted_body": st.one_of(nasty_text, json_values),
        "unknown": json_values,
    }
    for key, strategy in extras.items():
        if draw(st.integers(0, 3)) == 0:
            content[key] = draw(strategy)
    return content


@settings(max_examples=1000, deadline=None)
@given(content=st.one_of(contents(), st.dictionaries(nasty_text, json_values, max_size=5)), private=st.booleans())
def test_event_readers_never_raise_on_any_content(content, private):
    assert isinstance(relates_to(content), dict | type(relates_to({})))
    root, reply = thread_root(content), replied_to(content)
    assert root is None or isinstance(root, str)
    assert reply is None or isinstance(reply, str)
    assert isinstance(is_edit(content), bool)
    text = command_source(content)
    assert isinstance(text, str)
    command = command_text(text, "!", private=private, groups=GROUPS)
    assert command is None or (isinstance(command, str) and command.strip())
    assert isinstance(first_word(text), str)


# -- nio's parsing of malformed events ----------------------------------------------------------


@st.composite
def event_dicts(draw) -> dict[str, Any]:
    event: dict[str, Any] = {}
    fields = {
        "type": st.one_of(st.sampled_from(["m.room.message", "m.room.encrypted", "m.room.member"]), json_values),
        "event_id": st.one_of(st.just("$e"), json_values),
        "sender": st.one_of(st.just("@sam:example.org"), st.just("sam"), json_values),
        "origin_server_ts": st.one_of(st.just(1), json_values),
        "room_id": st.one_of(st.just(ROOM), json_values),
        "state_key": json_values,
        "unsigned": json_values,
        "content": st.one_of(contents(), json_values),
    }
    for key, strategy in fields.items():
        if draw(st.integers(0, 5)):  # mostly present, sometimes missing
            event[key] = draw(strategy)
    return event


def parse(event: dict[str, Any]) -> Any:
    logging.disable(logging.WARNING)  # nio logs every schema failure at length
    try:
        return Event.parse_event(event)
    finally:
        logging.disable(logging.NOTSET)


@settings(max_examples=800, deadline=None)
@given(event=event_dicts())
def test_nio_parses_malformed_events_into_something_the_adapter_can_classify(event):
    try:
        parsed = parse(event)
    except (TypeError, KeyError):
        # nio's own limitations: BadEvent.from_dict compares origin_server_ts with 0, so a
        # non-numeric one raises instead of giving a BadEvent, and a message event without any
        # `content` raises KeyError. A homeserver serves neither (timestamps are integers, and
        # every event, redacted ones too, has a content object); were one to slip through, the
        # adapter's sync loop catches the error and retries. These are the only ways nio raises.
        assert not isinstance(event.get("origin_server_ts"), int | float) or "content" not in event, event
        return
    if isinstance(parsed, RoomMessageText):
        # What nio lets through as a text message has the fields the adapter reads.
        assert isinstance(parsed.sender, str) and isinstance(parsed.event_id, str)
        assert isinstance(parsed.source.get("content"), dict)
    elif not isinstance(parsed, MegolmEvent | RoomMemberEvent):
        # Anything else (BadEvent, UnknownBadEvent, other kinds) is never handed to a handler;
        # the sync reader only looks at its `source` type.
        source = getattr(parsed, "source", {})
        assert isinstance(source, dict)
        source.get("type")


# -- through the adapter's message handler --------------------------------------------------------


async def fingerprint(db, *, skip_seen: bool) -> dict[str, str]:
    """A digest of every table (but the record of events seen, which a handled command adds)."""
    digests = {}
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    for (table,) in tables:
        if skip_seen and table == "seen_events":
            continue
        digest = hashlib.sha256()
        for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY rowid"):
            digest.update(repr(tuple(row)).encode())
        digests[table] = digest.hexdigest()
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory):
    loop = asyncio.new_event_loop()
    harness = loop.run_until_complete(make_harness(tmp_path_factory.mktemp("fuzz-matrix")))
    client = ScriptedClient()
    room = MatrixRoom(ROOM, client.user_id)
    for user in ("alex", "sam", "jo"):
        room.add_member(f"@{user}:example.org", user, None)
    room.power_levels.users["@alex:example.org"] = 100
    client.rooms[ROOM] = room
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
    submitted: list[Any] = []

    async def keep(intents, *args: Any) -> list[Any]:
        submitted.extend(intents)
        return []

    adapter._submit_all = keep  # type: ignore[method-assign]
    outcomes: list[str] = []
    harness.app.observe(lambda outcome, name: outcomes.append(outcome))
    # Everyone is known in the community first, so only the fuzzed event can change things.
    for n, user in enumerate(("alex", "sam", "jo")):
        event = parse({"type": "m.room.message", "event_id": f"$warm{n}", "sender": f"@{user}:example.org",
                       "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "!pair status"}})
        loop.run_until_complete(adapter._on_message(ROOM, event))
    yield loop, harness, adapter, submitted, outcomes
    loop.run_until_complete(adapter.queues.close())
    loop.run_until_complete(harness.close())
    loop.close()


COUNTER = iter(range(10**9))


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=st.one_of(command_contents(), command_contents(), contents()), sender=st.sampled_from(["@alex:example.org", "@sam:example.org", "@jo:example.org"]),
       through_nio=st.booleans())
def test_malformed_messages_through_the_adapter(matrix_world, content, sender, through_nio):
    loop, harness, adapter, submitted, outcomes = matrix_world
    source = {"type": "m.room.message", "event_id": f"$f{next(COUNTER)}", "sender": sender,
              "origin_server_ts": 1, "room_id": ROOM, "content": content}
    if through_nio:
        message = parse(source)
        if not isinstance(message, RoomMessageText):
            event("nio refused it")
            return  # nio refused it: a BadEvent is never handed to the message handler
    else:
        # A RoomMessageText whose content nio never checked (e.g. built by a future nio, or
        # decrypted): the handler must still read it safely.
        body = content.get("body")
        message = RoomMessageText(source, body if isinstance(body, str) else "", None, None)
    submitted.clear()
    outcomes.clear()
    changes: set[str] = set()  # tables the example may change anyway

    async def attempt():
        # Meeting a member again (after a fuzzed `mydata forget`) is not a change the command made.
        known = await harness.db.fetchone("SELECT 1 FROM members WHERE platform_user_id = ?", (sender,))
        if known is None:
            # A new members row also moves its AUTOINCREMENT counter in sqlite_sequence.
            changes.update({"members", "sqlite_sequence"})
        before = await fingerprint(harness.db, skip_seen=True)
        handled = adapter.handled
        harness.sink.take()
        await adapter._on_message(ROOM, message)
        await harness.app.deliver_pending()
        # Answers to a command go through the outbox (exactly once): the harness's sink gets them.
        submitted.extend(harness.sink.take())
        return before, handled, await fingerprint(harness.db, skip_seen=True)

    before, handled, after = loop.run_until_complete(attempt())
    assert "error" not in outcomes, (content, outcomes)
    event(f"outcome: {outcomes[-1] if outcomes else 'ignored'}")
    if adapter.handled == handled:
        assert not set(changed(before, after)) - changes and not submitted  # ignored: nothing stored, nothing said
        return
    assert submitted, content
    if outcomes and outcomes[-1] in ("invalid", "forbidden", "refused"):
        # The answer's receipt in the outbox is the only trace a refusal leaves, and it may
        # only be an answer to the sender.
        if all(isinstance(i, Reply) and i.user_id == sender for i in submitted):
            changes.update({"outbox", "sqlite_sequence"})  # its AUTOINCREMENT counter too
        assert not set(changed(before, after)) - changes, (content, outcomes, changed(before, after))
        answers = [i for i in submitted if isinstance(i, Answer | Reply)]
        assert answers and all(a.text.strip() for a in answers), (content, outcomes)


# -- forged room state (issue 11, hole 1) ---------------------------------------------------------
#
# Every state type, arriving as something that is no state event: a timeline message event
# (no `state_key`), or a decrypted event (with any `state_key` or none: anyone in a room can
# encrypt any payload). The bot's own nio client (BotClient) and the adapter's sync reader both
# see it; afterwards nobody's power, the room's creators, members, encryption, markers and
# parent space, and so who is a facilitator and which community the room is, are unchanged.

FORGED_ROOM = "!forged:example.org"
ALEX, SAM, MALLORY = "@alex:example.org", "@sam:example.org", "@mallory:example.org"
STATE_TYPES = [
    "m.room.power_levels", "m.room.create", "m.room.member", "m.space.parent", "m.space.child",
    "m.room.encryption", "org.alongside.room", "m.room.name", "m.room.join_rules",
    "m.room.history_visibility", "m.room.tombstone", "m.room.canonical_alias",
]
USERS = st.sampled_from([ALEX, SAM, MALLORY, "@bot:example.org", "@ghost:example.org"])
FORGED_CONTENT = {
    "m.room.power_levels": st.fixed_dictionaries(
        {"users": st.dictionaries(USERS, st.integers(-10, 2**53), max_size=4)},
        optional={"users_default": st.integers(0, 100), "state_default": st.integers(0, 100)},
    ),
    "m.room.create": st.fixed_dictionaries(
        {"room_version": st.sampled_from(["1", "10", "12", "13", "org.example.hydra"])},
        optional={"creator": USERS, "additional_creators": st.lists(USERS, max_size=3)},
    ),
    "m.room.member": st.fixed_dictionaries(
        {"membership": st.sampled_from(["join", "leave", "ban", "invite"])}, optional={"displayname": nasty_text}
    ),
    "m.space.parent": st.fixed_dictionaries({"via": st.just(["example.org"])}, optional={"canonical": st.booleans()}),
    "m.space.child": st.fixed_dictionaries({"via": st.just(["example.org"])}),
    "m.room.encryption": st.just({"algorithm": "m.megolm.v1.aes-sha2"}),
    "org.alongside.room": st.fixed_dictionaries({"key": st.text("0123456789abcdef", min_size=32, max_size=32)}),
}


@st.composite
def forged_events(draw) -> tuple[dict[str, Any], str]:
    kind = draw(st.sampled_from(STATE_TYPES))
    content = draw(st.one_of(FORGED_CONTENT.get(kind, json_values), json_values)) if draw(st.integers(0, 4)) else draw(json_values)
    event: dict[str, Any] = {
        "type": kind, "event_id": f"$forged{draw(st.integers(0, 10**9))}", "origin_server_ts": draw(st.integers(0, 2**53)),
        "sender": draw(st.sampled_from([MALLORY, MALLORY, SAM, ALEX, "@bot:example.org"])), "content": content,
    }
    how = draw(st.sampled_from(["message", "decrypted", "decrypted", "unsigned state_key"]))
    if how == "decrypted" and draw(st.booleans()):
        event["state_key"] = draw(st.one_of(USERS, st.just(""), st.just(FORGED_ROOM), st.just("!space:example.org")))
    if how == "unsigned state_key":
        event["unsigned"] = {"state_key": "", "prev_content": content}  # still a message event
    return event, how


def _sync(batch: str, state: list[dict[str, Any]], timeline: list[dict[str, Any]]) -> Any:
    from nio import SyncResponse

    return SyncResponse.from_dict({
        "next_batch": batch,
        "rooms": {"join": {FORGED_ROOM: {"state": {"events": state}, "timeline": {"events": timeline, "limited": False}}}},
    })


def _genuine_state() -> list[dict[str, Any]]:
    def state(kind: str, key: str, sender: str, content: dict[str, Any], n: int) -> dict[str, Any]:
        return {"type": kind, "state_key": key, "sender": sender, "content": content, "event_id": f"$s{n}", "origin_server_ts": n}

    return [
        state("m.room.create", "", ALEX, {"room_version": "10", "creator": ALEX}, 1),
        *(state("m.room.member", user, user, {"membership": "join"}, 2 + n) for n, user in enumerate([ALEX, SAM, MALLORY, "@bot:example.org"])),
        state("m.room.power_levels", "", ALEX, {"users": {ALEX: 100, "@bot:example.org": 50}, "users_default": 0}, 10),
    ]


@pytest.fixture(scope="module")
def forged_world(tmp_path_factory):
    from adapters.matrix.client import BotClient

    loop = asyncio.new_event_loop()
    harness = loop.run_until_complete(make_harness(tmp_path_factory.mktemp("forged-state")))
    client = BotClient("http://127.0.0.1:9", "@bot:example.org")
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(share_space_community=True), clock=harness.clock)
    genuine = _sync("s0", _genuine_state(), [])
    loop.run_until_complete(client.receive_response(genuine))
    loop.run_until_complete(adapter._collect(genuine, None))
    adapter.rooms._parents[FORGED_ROOM] = (None, float("inf"))  # known: no parent space
    yield loop, harness, client, adapter
    loop.run_until_complete(adapter.queues.close())
    loop.run_until_complete(client.close())
    loop.run_until_complete(harness.close())
    loop.close()


async def _what_the_bot_believes(client: Any, adapter: MatrixAdapter) -> dict[str, Any]:
    room = client.rooms[FORGED_ROOM]
    users = [ALEX, SAM, MALLORY, "@ghost:example.org"]
    return {
        "power": {u: adapter.rooms.power(FORGED_ROOM, u) for u in users},
        "facilitator": {u: await adapter._is_facilitator(FORGED_ROOM, u, [FORGED_ROOM]) for u in users},
        "nio power": {u: room.power_levels.get_user_level(u) for u in users},
        "members": sorted(room.users), "encrypted": room.encrypted, "version": room.room_version,
        "creators": sorted(adapter.rooms._creators.get(FORGED_ROOM, set())),
        "markers": dict(adapter.rooms._marked), "where": adapter.origin_of(FORGED_ROOM),
        "community": await adapter.rooms.community_of(FORGED_ROOM), "parents": sorted(room.parents),
    }


BATCHES = iter(range(1, 10**9))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(forged=st.lists(forged_events(), min_size=1, max_size=4))
def test_forged_state_events_change_nothing_the_bot_believes(forged_world, forged):
    from nio import Event as NioEvent

    loop, harness, client, adapter = forged_world
    before = loop.run_until_complete(_what_the_bot_believes(client, adapter))
    assert before["power"][ALEX] == 100 and before["facilitator"] == {ALEX: True, SAM: False, MALLORY: False, "@ghost:example.org": False}
    timeline = [forged_event for forged_event, _ in forged]
    response = _sync(f"s{next(BATCHES)}", [], [e for e, how in forged if how != "decrypted"])
    # What nio hands over after decrypting: the payload parsed as its type, marked decrypted.
    decrypted = []
    for forged_event, how in forged:
        if how == "decrypted":
            parse_logging = logging.getLogger("nio")
            level = parse_logging.level
            parse_logging.setLevel(logging.CRITICAL)
            try:
                parsed = NioEvent.parse_decrypted_event(dict(forged_event))
            except (KeyError, TypeError):
                continue
            finally:
                parse_logging.setLevel(level)
            parsed.decrypted = True
            decrypted.append(parsed)
    response.rooms.join[FORGED_ROOM].timeline.events.extend(decrypted)
    event(f"{len(decrypted)} decrypted, {len(timeline) - len(decrypted)} as messages")

    async def deliver() -> list[Any]:
        # What the adapter's sync loop does with a sync response: nio's own handling, then the
        # adapter's reader (which queues what the processor would handle).
        logging.disable(logging.WARNING)
        try:
            await client.receive_response(response)
            return await adapter._collect(response, "s-before")
        finally:
            logging.disable(logging.NOTSET)

    loop.run_until_complete(deliver())
    after = loop.run_until_complete(_what_the_bot_believes(client, adapter))
    assert after == before, [(key, before[key], after[key]) for key in before if before[key] != after[key]]
