"""In a member's private room no prefix is needed, so a plain line could be a command or an answer.
An open step-by-step answer reads every line but its own words; a waiting check-in reads a line
that is not a command; anything else is read as a command (issue 12, defect 6)."""

from __future__ import annotations

from typing import Any

import pytest
from nio import MatrixRoom

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.settings import MatrixSettings
from tests.matrix.test_big_messages import _message
from tests.matrix.test_matrix_units import ScriptedClient

COMMUNITY, PRIVATE, SAM = "!circle:example.org", "!sam-private:example.org", "@sam:example.org"


@pytest.mark.parametrize(
    ("reader", "line", "plain"),
    [
        ("checkin", "I felt heard this week", True),
        ("checkin", "help", False),  # a command word stays a command
        ("checkin", "agreement view", False),
        # skip and done are also the step-by-step words, but with only a check-in waiting they
        # are the check-in's own words, as the check-in's help says
        ("checkin", "skip", True),
        ("checkin", "done", True),
        ("checkin", "pass", True),
        ("dialog", "help is what I'd like", True),  # a dialog reads everything but its own words
        ("dialog", "skip", False),
        (None, "I felt heard this week", False),  # nothing waiting: read as a command
    ],
)
async def test_a_plain_line_goes_to_what_is_waiting(harness, monkeypatch, reader, line, plain) -> None:
    client = ScriptedClient()
    for room_id in (COMMUNITY, PRIVATE):
        room = MatrixRoom(room_id, client.user_id)
        room.add_member(SAM, "sam", None)
        client.rooms[room_id] = room
    adapter = MatrixAdapter(harness.app, client, MatrixSettings(), clock=harness.clock)  # type: ignore[arg-type]
    harness.app.attach_sink(adapter)
    adapter.rooms.first_sync.set()
    await adapter.rooms.remember_private(PRIVATE, COMMUNITY, SAM)
    calls: list[tuple[str, str]] = []

    async def fake_reader(platform: str, community: str, user_id: str) -> str | None:
        assert (community, user_id) == (COMMUNITY, SAM)
        return reader

    async def fake_plain(inv: Any, text: str, **_: Any) -> list[Any]:
        calls.append(("plain", text))
        return []

    async def fake_text(inv: Any, text: str, resolver: Any, **_: Any) -> list[Any]:
        calls.append(("command", text))
        return []

    monkeypatch.setattr(harness.app, "plain_reader", fake_reader)
    monkeypatch.setattr(harness.app, "handle_plain", fake_plain)
    monkeypatch.setattr(harness.app, "handle_text", fake_text)
    await adapter._on_message(PRIVATE, _message(PRIVATE, SAM, 1, body=line))
    await adapter.idle()
    assert calls == [("plain" if plain else "command", line)]
    await adapter.queues.close()
