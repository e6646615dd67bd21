"""The Matrix adapter's parts without a homeserver: command detection, mentions, rendering,
ordered rate-limited sending, settings, and every registry command reachable as text."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nio import Event, MatrixRoom, RoomSendError, RoomSendResponse

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.events import command_source, command_text, make_resolver
from adapters.matrix.render import Renderer, humanise_rooms
from adapters.matrix.sender import PermanentSendError, SendQueues, Transport
from adapters.matrix.settings import MatrixSettings
from alongside.settings import load_settings
from bot.commands.spec import ArgType, CommandSpec
from bot.config import ConfigError
from bot.replies import ChannelPost, Delivery

GROUPS = {"help", "pair", "questions", "agreement"}


# -- command detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "private", "expected"),
    [
        ("!help", False, "help"),
        ("! pair join", False, "pair join"),
        ("!Pair join", False, "Pair join"),
        ("!ban @someone", False, None),  # another bot's command
        ("hello !help", False, None),
        ("just talking", False, None),
        ("!", False, None),
        ("help", True, "help"),
        ("!help", True, "help"),
        ("anything at all", True, "anything at all"),
        ("   ", True, None),
    ],
)
def test_command_text(body, private, expected):
    assert command_text(body, "!", private=private, groups=GROUPS) == expected


def test_other_prefix():
    assert command_text("?help", "?", private=False, groups=GROUPS) == "help"
    assert command_text("!help", "?", private=False, groups=GROUPS) is None


def test_pills_become_user_ids_and_reply_quotes_are_dropped():
    content = {
        "body": "!agreement start Jo Bloggs",
        "format": "org.matrix.custom.html",
        "formatted_body": '!agreement start <a href="https://matrix.to/#/%40jo%3Aexample.org">Jo Bloggs</a>',
    }
    assert command_source(content) == "!agreement start @jo:example.org"
    reply = {
        "body": "> <@sam:example.org> !pair join\n\n!pair status",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$x"}},
    }
    assert command_source(reply) == "!pair status"
    assert command_source({"body": "!help  "}) == "!help"


def test_mentions_resolve_to_one_member_only():
    members = [("@sam:example.org", "Sam"), ("@jo:example.org", "Jo"), ("@jo:other.org", "Joanna")]
    resolve = make_resolver(lambda: members)
    assert resolve("@sam:example.org") == "@sam:example.org"
    assert resolve("@nobody:example.org") is None  # not in the community's rooms: no one
    assert resolve("@sam") == "@sam:example.org"
    assert resolve("Joanna") == "@jo:other.org"
    assert resolve("@jo") is None  # two members have that localpart
    assert resolve("@") is None


# -- rendering ---------------------------------------------------------------------------------


def test_html_has_paragraphs_code_and_escapes():
    renderer = Renderer("!", ["help", "pair join", "pair"])
    content = renderer.content("Hello <you> & all.\n  !pair join — join\n\n!help <command> more")
    assert content["body"].startswith("Hello <you>")
    html = content["formatted_body"]
    assert html == (
        "<p>Hello &lt;you&gt; &amp; all.<br>&nbsp;&nbsp;<code>!pair join</code> — join</p>"
        "<p><code>!help</code> &lt;command&gt; more</p>"
    )
    assert content["msgtype"] == "m.notice" and content["format"] == "org.matrix.custom.html"
    threaded = renderer.content("x", msgtype="m.text", thread_root="$root")
    assert threaded["m.relates_to"]["rel_type"] == "m.thread"
    assert threaded["m.relates_to"]["event_id"] == "$root"


def test_room_ids_are_shown_by_name():
    names = {"!abc:example.org": "circle", "!Xy_z-9": "#lobby"}
    assert humanise_rooms("posted in #!abc:example.org.", names) == "posted in #circle."
    assert humanise_rooms("in !Xy_z-9, and !unknown:x.org", names) == "in #lobby, and !unknown:x.org"
    assert humanise_rooms("!help stays", names) == "!help stays"


# -- sending -----------------------------------------------------------------------------------


class ScriptedClient:
    """room_send answers from a script (then success); records every attempt."""

    def __init__(self, script: dict[str, list[Any]] | None = None) -> None:
        self.script = script or {}
        self.attempts: list[tuple[str, str, str]] = []
        self.sent: list[tuple[str, str]] = []
        self.user_id = "@bot:example.org"
        self.rooms: dict[str, MatrixRoom] = {}
        self.olm = None

    async def room_send(self, room_id, event_type, content, tx_id=None, ignore_unverified_devices=False):
        body = content.get("body", "")
        self.attempts.append((room_id, body, tx_id))
        await asyncio.sleep(0)
        queued = self.script.get(body)
        if queued:
            return queued.pop(0)
        self.sent.append((room_id, body))
        return RoomSendResponse(f"$event{len(self.sent)}", room_id)


async def _ready(room_id: str) -> None:
    return None


async def test_rate_limits_are_waited_out_in_order_with_the_same_transaction():
    limited = RoomSendError("slow down", "M_LIMIT_EXCEEDED", retry_after_ms=1500)
    client = ScriptedClient({"two": [limited, limited], "four": [limited]})
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    transport = Transport(client, _ready, sleep=sleep)  # type: ignore[arg-type]
    queues = SendQueues()
    futures = [
        queues.submit("room:!a", lambda body=body: transport.send("!a", {"body": body}, f"txn-{body}"))
        for body in ("one", "two", "three", "four", "five")
    ]
    other = queues.submit("room:!b", lambda: transport.send("!b", {"body": "elsewhere"}, "txn-b"))
    results = await asyncio.gather(*futures, other)
    assert [body for room, body in client.sent if room == "!a"] == ["one", "two", "three", "four", "five"]
    assert len(set(results)) == 6  # every send has its own event
    tries_of_two = [txn for _, body, txn in client.attempts if body == "two"]
    assert tries_of_two == ["txn-two"] * 3  # the same transaction each time: idempotent
    assert waits == [1.5, 1.5, 1.5] and transport.rate_limited == 3
    assert await queues.drain(1)


async def test_permanent_refusal_is_not_retried():
    client = ScriptedClient({"x": [RoomSendError("no", "M_FORBIDDEN")]})
    transport = Transport(client, _ready)  # type: ignore[arg-type]
    with pytest.raises(PermanentSendError):
        await transport.send("!a", {"body": "x"}, "t")
    assert len(client.attempts) == 1


async def test_a_failed_job_does_not_stop_the_queue():
    queues = SendQueues()

    async def fail() -> None:
        raise RuntimeError("boom")

    async def ok() -> str:
        return "ok"

    first, second = queues.submit("k", fail), queues.submit("k", ok)
    with pytest.raises(RuntimeError):
        await first
    assert await second == "ok"


# -- settings ----------------------------------------------------------------------------------


def test_matrix_settings_defaults_and_validation(tmp_path):
    settings = load_settings(None).matrix
    assert settings.command_prefix == "!" and settings.facilitator_power_level == 50
    assert settings.allowed_inviters == [] and settings.encrypt_new_rooms is True
    config = tmp_path / "c.toml"
    config.write_text('[matrix]\ncommand_prefix = "go"\nuser_id = "bot"\nallowed_inviters = ["sam"]\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    text = "\n".join(error.value.problems)
    assert "matrix.command_prefix" in text and "matrix.user_id" in text and "matrix.allowed_inviters" in text
    config.write_text('[matrix]\naccess_token = "x"\n')
    with pytest.raises(ConfigError):
        load_settings(config)  # no secrets in the file


# -- the whole registry is reachable as text ---------------------------------------------------


def _sample(spec: CommandSpec) -> str:
    words = [spec.name]
    for arg in spec.args:
        if not arg.required:
            continue
        match arg.type:
            case ArgType.INT:
                words.append(str(arg.min if arg.min is not None else 1))
            case ArgType.MEMBER:
                words.append("@jo:example.org")
            case ArgType.CHOICE:
                words.append(arg.choices[0])
            case ArgType.RECURRENCE:
                words.append("daily 18:00")
            case ArgType.TIMEZONE:
                words.append("UTC")
            case ArgType.WORD:
                words.append("purpose")
            case _:
                words.append("daily 18:00 and some words")
    return " ".join(words)


CIRCLE_ROOM = "!circle:example.org"


def circle_adapter(harness) -> tuple[MatrixAdapter, list[tuple[str, str]]]:
    """An adapter on a scripted client in a community room CIRCLE_ROOM where @alex is a
    facilitator and @jo a member, sending nothing, and the list of (outcome, command name) of
    every command the app runs: for tests that reach commands by typing them."""
    client = ScriptedClient()
    room = MatrixRoom(CIRCLE_ROOM, client.user_id)
    room.add_member("@alex:example.org", "alex", None)
    room.add_member("@jo:example.org", "jo", None)
    room.power_levels.users["@alex:example.org"] = 100
    client.rooms[CIRCLE_ROOM] = room
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]

    async def keep(*args: Any) -> list[Any]:
        return []

    adapter._submit_all = keep  # type: ignore[method-assign]
    outcomes: list[tuple[str, str]] = []
    harness.app.observe(lambda outcome, name: outcomes.append((outcome, name)))
    return adapter, outcomes


async def test_every_registry_command_is_reachable_through_the_adapter(harness):
    app = harness.app
    room_id = CIRCLE_ROOM
    adapter, outcomes = circle_adapter(harness)
    # jo is known in the community, so commands naming a member have someone to name.
    await adapter._on_message(room_id, _event(room_id, "@jo:example.org", "!pair status", 0))
    outcomes.clear()

    specs = app.registry.specs()
    for index, spec in enumerate(specs, start=1):
        await adapter._on_message(room_id, _event(room_id, "@alex:example.org", "!" + _sample(spec), index))
    reached = {name for outcome, name in outcomes if outcome in ("done", "refused")}
    missing = [spec.name for spec in specs if spec.name not in reached]
    assert not missing, (missing, outcomes)
    assert len(specs) >= 40 and len(reached) == len(specs)
    assert not [o for o in outcomes if o[0] == "error"], outcomes
    await adapter.queues.close()


def _event(room_id: str, sender: str, body: str, n: int) -> Event:
    return Event.parse_event(
        {
            "type": "m.room.message",
            "event_id": f"$e{n}",
            "sender": sender,
            "origin_server_ts": 1,
            "room_id": room_id,
            "content": {"msgtype": "m.text", "body": body},
        }
    )


async def test_outbox_delivery_retries_use_the_same_transaction_ids(harness):
    room_id = "!circle:example.org"
    client = ScriptedClient({"A question": [RoomSendError("later", "M_UNKNOWN")] * 10})
    client.rooms[room_id] = MatrixRoom(room_id, client.user_id)
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
    adapter.transport._sleep = lambda seconds: asyncio.sleep(0)  # type: ignore[method-assign]
    adapter.rooms.first_sync.set()
    delivery = Delivery(7, "matrix", room_id, ChannelPost(room_id, "A question"))
    from bot.outbox import TransientDeliveryError

    with pytest.raises(TransientDeliveryError):
        await adapter.deliver(delivery)
    client.script.clear()
    await adapter.deliver(delivery)
    txns = {txn for _, body, txn in client.attempts if body == "A question"}
    assert len(txns) == 1 and next(iter(txns)).endswith(".o7.0.0")
    await adapter.queues.close()


async def test_forget_removes_every_link_that_names_the_member(harness):
    from adapters.matrix.personal_data import MatrixData
    from adapters.matrix.rooms import Rooms
    from bot.context import Actor, CommunityRef, Invocation
    from bot.storage.adapter_state import AdapterState

    app = harness.app
    client = ScriptedClient()
    state = AdapterState(app.db, "matrix")
    rooms = Rooms(client, state, encrypt_new_rooms=True, share_space_community=False)  # type: ignore[arg-type]
    await rooms.remember_private("!sam-a:x", "!a:x", "@sam:x")
    await rooms.remember_private("!sam-b:x", "!b:x", "@sam:x")
    await rooms.remember_private("!jo-a:x", "!a:x", "@jo:x")
    await rooms.remember_direct("!dm:x", "@sam:x")
    source = MatrixData(state, rooms)
    ctx = await app.context(
        Invocation(CommunityRef("matrix", "!a:x", "a"), Actor("@sam:x", "sam"), None, private=True)
    )
    exported = await source.export_member(ctx)
    assert exported == {
        "your_private_room_with_the_bot": "!sam-a:x",
        "direct_rooms_you_opened_with_the_bot": ["!dm:x"],
    }
    async with app.db.transaction() as tx:
        await source.forget_member(tx, ctx)
    rows = await app.db.fetchall(
        "SELECT key, value FROM adapter_state WHERE platform = 'matrix' ORDER BY key"
    )
    stored = " ".join(f"{k}={v}" for k, v in rows)
    links = await app.db.fetchall("SELECT user_id, channel_id FROM private_channels ORDER BY user_id")
    assert [tuple(r) for r in links] == [("!a:x|@jo:x", "!jo-a:x"), ("!b:x|@sam:x", "!sam-b:x")]
    assert "!sam-a:x" not in [k.removeprefix("private:") for k, _ in rows if k.startswith("private:")]
    assert "direct:!dm:x=" in stored and "direct:!dm:x=@sam" not in stored
    assert "own:!sam-a:x=!a:x" in stored  # the room stays known, by community only
    assert "!sam-a:x" not in rooms.private and rooms.own["!sam-a:x"] == "!a:x"
    assert rooms.direct["!dm:x"] == "" and "!sam-b:x" in rooms.private
    assert (await MatrixData(state, rooms).export_member(ctx))["your_private_room_with_the_bot"] is None


def test_power_levels_newest_event_wins_whole():
    from adapters.matrix.rooms import CREATOR_POWER, Rooms

    client = ScriptedClient()
    client.rooms["!r"] = MatrixRoom("!r", client.user_id)
    rooms = Rooms(client, None, encrypt_new_rooms=True, share_space_community=False)  # type: ignore[arg-type]

    def levels(ts: int, users: dict[str, int], default: int = 0) -> dict[str, Any]:
        return {"origin_server_ts": ts, "content": {"users": users, "users_default": default}}

    rooms.note_power_levels("!r", levels(10, {"@sam:x": 50}))
    assert rooms.power("!r", "@sam:x") == 50
    rooms.note_power_levels("!r", levels(20, {}))  # sam taken out of `users`
    assert rooms.power("!r", "@sam:x") == 0
    rooms.note_power_levels("!r", levels(10, {"@sam:x": 50}))  # an old event repeated later
    assert rooms.power("!r", "@sam:x") == 0
    rooms.note_power_levels("!r", levels(30, {}, default=10))
    assert rooms.power("!r", "@jo:x") == 10
    rooms.note_create("!r", {"sender": "@alex:x", "content": {"room_version": "12", "additional_creators": ["@rin:x"]}})
    assert rooms.power("!r", "@alex:x") == rooms.power("!r", "@rin:x") == CREATOR_POWER
    rooms.note_create("!old", {"sender": "@alex:x", "content": {"room_version": "10"}})
    assert rooms.power("!old", "@alex:x") is None  # not a room the bot is in
    assert rooms.power("!nowhere", "@sam:x") is None
