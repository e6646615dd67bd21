"""One crafted message cannot stall the bot (issue 11, hole 8).

Every message in every room the bot is in passes its command detection, so that must be cheap
whatever the message holds: a message is read at all only when it is short enough to be a
command, and the HTML reader is linear. Adversarial inputs that took seconds each (a quadratic
regex scanning to the end from every `<a ` or `<mx-reply>`) are read here in milliseconds; the
module's timeout is what would catch a quadratic reader again (it is far above the linear
reader's time, and far below the old one's)."""

from __future__ import annotations

from typing import Any

import pytest
from nio import Event, MatrixRoom

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.events import MAX_SOURCE, command_source, read_command
from adapters.matrix.settings import MatrixSettings
from bot.commands.parser import MAX_LINE
from tests.matrix.test_matrix_units import ScriptedClient

HTML = "org.matrix.custom.html"
GROUPS = {"help", "pair", "questions", "agreement"}
N = 120_000

ADVERSARIAL = {
    "open links": "matrix.to/#/" + "<a " * (N // 3),
    "open replies": "matrix.to/#/" + "<mx-reply>" * (N // 10),
    "unclosed pills": '<a href="https://matrix.to/#/@x' * (N // 31),
    "pills never closed": ('<a href="https://matrix.to/#/@x:y">' + "t" * 5) * (N // 40),
    "lone brackets": "matrix.to/#/" + "<" * N,
    "open breaks": "matrix.to/#/" + "<br " * (N // 4),
    "open tags": "matrix.to/#/" + "<b" * (N // 2),
    "closing only": "matrix.to/#/" + "</a>" * (N // 4),
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_html_is_read_quickly_and_sanely(name: str) -> None:
    # command_source itself (no length bound) on 120 KB: some 30 ms when linear, tens of
    # seconds to hours when quadratic.
    text = command_source({"body": "x", "format": HTML, "formatted_body": ADVERSARIAL[name]})
    assert isinstance(text, str) and len(text) <= N + 20


@pytest.mark.parametrize(
    ("formatted", "expected"),
    [
        ('!agreement start <a href="https://matrix.to/#/%40jo%3Aexample.org">Jo Bloggs</a>', "!agreement start @jo:example.org"),
        ('<mx-reply><blockquote><a href="https://matrix.to/#/@sam:x">sam</a> !pair join</blockquote></mx-reply>!pair status',
         "!pair status"),
        ('<mx-reply>quoted <a href="https://matrix.to/#/@x:y">X</a></mx-reply>!help', "!help"),
        ("matrix.to/#/ <mx-reply>never closed !pair", "matrix.to/#/ never closed !pair"),
        ('<a href="https://matrix.to/#/@jo:y">never closed', "never closed"),
        ('<A HREF=\'https://matrix.to/#/@jo:y?via=y\' class="x">Jo</A> and', "@jo:y and"),
        ("matrix.to/#/<p>one</p><p>two<br/>three</p>", "matrix.to/#/one\ntwo\nthree"),
        ("matrix.to/#/ a &lt;b&gt; &amp; <i>c</i> < d", "matrix.to/#/ a <b> & c < d"),
    ],
)
def test_html_reader_keeps_its_meaning(formatted: str, expected: str) -> None:
    assert command_source({"body": "x", "format": HTML, "formatted_body": formatted}) == expected


def test_only_what_can_be_a_command_is_read() -> None:
    big = "!help " + "x" * (MAX_SOURCE + 10)
    # A community room: too long to be a command, or not starting with the prefix and one of
    # the bot's groups, is not read at all.
    assert read_command({"body": big}, "!", private=False, groups=GROUPS) is None
    assert read_command({"body": "!help", "formatted_body": big, "format": HTML}, "!", private=False, groups=GROUPS) is None
    assert read_command({"body": "hello " * 20_000}, "!", private=False, groups=GROUPS) is None
    assert read_command({"body": "!ban " + "<a " * 5000, "formatted_body": "matrix.to/#/" + "<a " * 5000, "format": HTML},
                        "!", private=False, groups=GROUPS) is None
    read = read_command({"body": "  !help pair"}, "!", private=False, groups=GROUPS)
    assert read is not None and read.command == "help pair" and not read.too_long
    reply = {"body": "> <@sam:x> hi\n\n!pair status", "m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}
    read = read_command(reply, "!", private=False, groups=GROUPS)
    assert read is not None and read.command == "pair status"
    # A private room: answered, from a bounded line the core refuses as too long.
    read = read_command({"body": big}, "!", private=True, groups=GROUPS)
    assert read is not None and read.too_long and len(read.command) == MAX_LINE + 1
    read = read_command({"body": "x", "formatted_body": big, "format": HTML}, "!", private=True, groups=GROUPS)
    assert read is not None and read.too_long and len(read.command) == MAX_LINE + 1
    read = read_command({"body": "agreement view"}, "!", private=True, groups=GROUPS)
    assert read is not None and read.command == "agreement view" and not read.too_long


def _message(room_id: str, sender: str, n: int, **content: Any) -> Event:
    return Event.parse_event(
        {
            "type": "m.room.message",
            "event_id": f"$big{n}",
            "sender": sender,
            "origin_server_ts": 1,
            "room_id": room_id,
            "content": {"msgtype": "m.text", **content},
        }
    )


@pytest.mark.timeout(60)
async def test_a_64_kb_message_through_the_adapter(harness) -> None:
    community, private = "!circle:example.org", "!sam-private:example.org"
    client = ScriptedClient()
    for room_id in (community, private):
        room = MatrixRoom(room_id, client.user_id)
        room.add_member("@sam:example.org", "sam", None)
        client.rooms[room_id] = room
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
    # Answers go through the outbox (exactly once), delivered to the adapter as the sink.
    harness.app.attach_sink(adapter)
    adapter.rooms.first_sync.set()
    await adapter.rooms.remember_private(private, community, "@sam:example.org")
    await adapter._on_message(community, _message(community, "@sam:example.org", 0, body="!help"))
    await adapter.idle()
    handled, sent = adapter.handled, len(client.sent)
    payload = "<a " * 21_000
    for n, room_id in enumerate((community, private), start=1):
        for body in ("!help " + payload, payload):
            await adapter._on_message(
                room_id, _message(room_id, "@sam:example.org", n * 10 + len(body) % 7, body=body,
                                  format=HTML, formatted_body="matrix.to/#/" + payload)
            )
    await adapter.idle()
    # The community room ignored both; the private room answered each, kindly and briefly.
    assert adapter.handled == handled + 2
    answers = [body for room_id, body in client.sent[sent:]]
    assert [room_id for room_id, _ in client.sent[sent:]] == [private, private]
    too_long = harness.app.catalog.text("en", "parse.too_long", max=MAX_LINE)
    assert all(too_long in answer and len(answer) < 500 for answer in answers), answers
    await adapter.queues.close()
