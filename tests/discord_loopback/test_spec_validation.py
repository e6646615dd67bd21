"""The loopback rejects what Discord rejects: requests that break Discord's OpenAPI specification
get Discord's 400 "Invalid Form Body" (code 50035) with its nested `errors`, and change nothing;
`enforce_nonce` returns the message a nonce already made. (That the bot's own traffic is clean is
shown by the whole Discord suite, which runs with validation on.)"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from .conftest import World
from .server import LoopbackDiscord

pytestmark = pytest.mark.timeout(30)


async def call(server: LoopbackDiscord, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method,
            server.api_base + path,
            json=body,
            headers={"Authorization": f"Bot {server.token}"},
        ) as response:
            data = await response.json() if response.content_type == "application/json" else None
            return response.status, data


def button(**extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "ok", "custom_id": "b", **extra}


def row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": 4, "custom_id": "text", "style": 1, "label": "Your words", **extra}


def modal(**extra: Any) -> dict[str, Any]:
    data = {"custom_id": "form", "title": "A form", "components": [row(text_input())], **extra}
    return {"type": 9, "data": data}


def command(**extra: Any) -> dict[str, Any]:
    return {"name": "help", "description": "Help", "type": 1, **extra}


def option(**extra: Any) -> dict[str, Any]:
    return {"type": 3, "name": "text", "description": "Some text", **extra}


# (what, method, path template, body): every one breaks Discord's specification.
BAD: list[tuple[str, str, str, Any]] = [
    ("option of type 99", "PUT", "{cmds}", [command(options=[option(type=99)])]),
    ("command name of 33 characters", "PUT", "{cmds}", [command(name="a" * 33)]),
    ("command description of 101", "PUT", "{cmds}", [command(description="d" * 101)]),
    ("26 choices", "PUT", "{cmds}", [command(options=[option(choices=[{"name": f"c{i}", "value": f"v{i}"} for i in range(26)])])]),
    ("empty choice name", "PUT", "{cmds}", [command(options=[option(choices=[{"name": "", "value": "v"}])])]),
    ("integer bound 2^53", "PUT", "{cmds}", [command(options=[option(type=4, max_value=2**53)])]),
    ("string max_length 6001", "PUT", "{cmds}", [command(options=[option(max_length=6001)])]),
    ("button label of 81", "POST", "{msgs}", {"content": "x", "components": [row(button(label="l" * 81))]}),
    ("six buttons in a row", "POST", "{msgs}", {"content": "x", "components": [row(*[button(custom_id=f"b{i}") for i in range(6)])]}),
    ("custom id of 101", "POST", "{msgs}", {"content": "x", "components": [row(button(custom_id="c" * 101))]}),
    ("empty custom id", "POST", "{msgs}", {"content": "x", "components": [row(button(custom_id=""))]}),
    ("empty action row", "POST", "{msgs}", {"content": "x", "components": [row()]}),
    ("button style 9", "POST", "{msgs}", {"content": "x", "components": [row(button(style=9))]}),
    ("content of 2001", "POST", "{msgs}", {"content": "c" * 2001}),
    ("nonce of 26", "POST", "{msgs}", {"content": "x", "nonce": "n" * 26}),
    ("allowed_mentions parse 'nobody'", "POST", "{msgs}", {"content": "x", "allowed_mentions": {"parse": ["nobody"]}}),
    ("eleven embeds", "POST", "{msgs}", {"content": "x", "embeds": [{"title": "t"}] * 11}),
    ("flags as text", "POST", "{msgs}", {"content": "x", "flags": "loud"}),
    ("auto_archive_duration 123", "POST", "{msg}/threads", {"name": "Question 1", "auto_archive_duration": 123}),
    ("thread name of 101", "POST", "{msg}/threads", {"name": "n" * 101}),
    ("thread type 99", "POST", "/channels/{channel}/threads", {"name": "pair", "type": 99}),
    ("edit a thread with archive 123", "PATCH", "/channels/{thread}", {"auto_archive_duration": 123}),
    ("text-input label of 46", "POST", "{callback}", modal(components=[row(text_input(label="l" * 46))])),
    ("text-input min_length 4001", "POST", "{callback}", modal(components=[row(text_input(min_length=4001))])),
    ("text-input max_length 0", "POST", "{callback}", modal(components=[row(text_input(max_length=0))])),
    ("text-input empty label", "POST", "{callback}", modal(components=[row(text_input(label=""))])),
    ("modal title of 46", "POST", "{callback}", modal(title="t" * 46)),
    ("modal without fields", "POST", "{callback}", modal(components=[])),
    ("modal custom id of 101", "POST", "{callback}", modal(custom_id="f" * 101)),
    ("autocomplete choice with no name", "POST", "{callback}", {"type": 8, "data": {"choices": [{"name": "", "value": "x"}]}}),
    ("autocomplete 26 choices", "POST", "{callback}", {"type": 8, "data": {"choices": [{"name": f"c{i}", "value": "x"} for i in range(26)]}}),
    ("callback type 99", "POST", "{callback}", {"type": 99, "data": {"content": "x"}}),
    ("list of 101 messages", "GET", "/channels/{channel}/messages?limit=101", None),
    ("a channel id that is no snowflake", "GET", "/channels/general", None),
]


@pytest.mark.parametrize(("what", "method", "template", "body"), BAD, ids=[b[0] for b in BAD])
async def test_what_discord_rejects_is_rejected_with_its_error_shape(
    loopback: LoopbackDiscord, world: World, what: str, method: str, template: str, body: Any
) -> None:
    message = loopback.create_message(world.channel, loopback.bot_user, {"content": "hello"}, [])
    thread = loopback.add_channel(world.guild.id, "a thread", 11, parent_id=world.channel.id)
    path = template.format(
        cmds=f"/applications/{loopback.application_id}/guilds/{world.guild.id}/commands",
        msgs=f"/channels/{world.channel.id}/messages",
        msg=f"/channels/{world.channel.id}/messages/{message['id']}",
        channel=world.channel.id,
        thread=thread.id,
        # checked before the interaction is looked up, as Discord checks a body before acting
        callback=f"/interactions/{loopback.snowflake()}/a-token/callback",
    )
    before = (len(loopback.messages), len(loopback.channels), dict(loopback.commands))
    status, answer = await call(loopback, method, path, body)
    assert status == 400, (what, status, answer)
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    assert isinstance(answer["errors"], dict) and answer["errors"], answer
    assert (len(loopback.messages), len(loopback.channels), dict(loopback.commands)) == before


async def test_the_error_names_the_field_as_discord_does(loopback: LoopbackDiscord, world: World) -> None:
    body = {"content": "x", "components": [row(button(), button(custom_id="c" * 101))]}
    status, answer = await call(loopback, "POST", f"/channels/{world.channel.id}/messages", body)
    assert status == 400
    entry = answer["errors"]["components"]["0"]["components"]["1"]["custom_id"]["_errors"][0]
    assert entry["code"] == "BASE_TYPE_BAD_LENGTH"


async def test_what_discord_accepts_still_goes_through(loopback: LoopbackDiscord, world: World) -> None:
    body = {
        "content": "x",
        "nonce": "o1f.0123456789ab",
        "enforce_nonce": True,
        "allowed_mentions": {"parse": []},
        "components": [row(*[button(custom_id=f"b{i}", label="l" * 80) for i in range(5)])],
    }
    status, answer = await call(loopback, "POST", f"/channels/{world.channel.id}/messages", body)
    assert status == 200, answer


async def test_enforce_nonce_returns_the_message_already_made(loopback: LoopbackDiscord, world: World) -> None:
    path = f"/channels/{world.channel.id}/messages"
    first = await call(loopback, "POST", path, {"content": "once", "nonce": "n-1", "enforce_nonce": True})
    again = await call(loopback, "POST", path, {"content": "once", "nonce": "n-1", "enforce_nonce": True})
    assert first[0] == again[0] == 200 and first[1]["id"] == again[1]["id"]
    assert [m["content"] for m in loopback.channel_messages(world.channel.id)] == ["once"]
    # without enforce_nonce a nonce is only echoed back: a second message is made
    loose = [await call(loopback, "POST", path, {"content": "twice", "nonce": "n-2"}) for _ in range(2)]
    assert loose[0][1]["id"] != loose[1][1]["id"]
    # after Discord's few minutes, the same nonce makes a new message
    loopback.nonces[(loopback.bot_user.id, "n-1")] = (time.monotonic() - loopback.nonce_window - 1, int(first[1]["id"]))
    later = await call(loopback, "POST", path, {"content": "once", "nonce": "n-1", "enforce_nonce": True})
    assert later[1]["id"] != first[1]["id"]


async def test_validation_costs_little(loopback: LoopbackDiscord, world: World) -> None:
    from .spec import discord_spec

    spec = discord_spec()
    body = {"content": "x", "allowed_mentions": {"parse": []}, "components": [row(button())]}
    path = f"/channels/{world.channel.id}/messages"
    spec.problems("POST", path, body, {})  # compiled once, then cached
    started = time.perf_counter()
    for _ in range(200):
        assert spec.problems("POST", path, body, {}) is None
    per_request = (time.perf_counter() - started) / 200
    print(f"\nspec validation: {per_request * 1000:.2f} ms per message request")
    assert per_request < 0.02
