"""Forged platform input on Discord: interactions whose custom ids, guild ids, channel ids or
claimed permissions point at another server's objects. Two servers share the bot: "Peer Space"
(fay facilitates; alice and bob are plain members) and "Elsewhere" (alice is an administrator
there; carol belongs only there). Nothing alice's power in Elsewhere, or a forged id, lets her
do in Peer Space works: nobody becomes a facilitator, nothing is posted or read where it does not
belong, and after every refusal the whole database is unchanged.

A member's `permissions` in an interaction is computed by Discord for the server the interaction
comes from, so the adapter trusts it there, and only there: anything acting on another server
(an id that names it) is judged by that server's own roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.discord.conftest import Bot, bot, loopback, texts  # noqa: F401 (the fixtures)
from tests.discord_loopback import payloads as P
from tests.discord_loopback.interactions import (
    IT_APPLICATION_COMMAND,
    IT_MESSAGE_COMPONENT,
    IT_MODAL_SUBMIT,
    InteractionHandle,
    base_payload,
    build_command_data,
)
from tests.trust.authz_cases import fingerprint

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5


async def forged(
    world: Bot,
    itype: int,
    guild_id: int | None,
    channel_id: int | None,
    user_id: int,
    data: dict[str, Any],
    change: Callable[[dict[str, Any]], None] = lambda payload: None,
) -> InteractionHandle:
    """Send an interaction built as Discord would, then altered by `change` (the forgery)."""
    server = world.server
    payload, iid, cid, token = base_payload(
        server, itype=itype, guild_id=guild_id, channel_id=channel_id, user_id=user_id, data=data, locale="en-US"
    )
    change(payload)
    handle = InteractionHandle(server, iid, token, itype, payload, guild_id, cid, user_id)
    server.interactions[token] = handle
    await server.flush()
    assert await server.gateway.dispatch("INTERACTION_CREATE", payload)
    await handle.response()
    await world.settle()
    return handle


def command_data(world: Bot, guild_id: int, name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    return build_command_data(
        world.server, name=name, guild_id=guild_id, options=options, subcommand=None, user_id=world.uid("fay")
    )


@pytest.fixture
async def two_servers(bot: Bot) -> dict[str, Any]:  # noqa: F811
    server = bot.server
    elsewhere = server.add_guild("Elsewhere")
    lounge = server.add_channel(elsewhere.id, "lounge")
    admins = server.add_role(elsewhere.id, "admins", ADMINISTRATOR)
    server.add_member(elsewhere.id, bot.uid("alice"), "alice", roles=[admins.id])
    carol_elsewhere = server.add_user(None, "dana")
    server.add_member(elsewhere.id, carol_elsewhere.id, "dana")
    await bot.settle()
    for _ in range(100):  # the bot sees the new server before anyone acts in it
        if bot.adapter and bot.adapter.client.get_guild(elsewhere.id) is not None:
            break
        await bot.settle()
    for user in ("fay", "alice", "bob"):
        await bot.say(user, "help")  # met first: meeting a member is not the change under test
    # something set up by the real facilitator, for the forgeries to try to undo
    await bot.say("fay", "setup", {"setting": "question-channel", "value": "circle"})
    return {"elsewhere": elsewhere, "lounge": lounge, "dana": carol_elsewhere}


async def test_forged_ids_and_permissions_change_nothing_in_another_server(bot: Bot, two_servers) -> None:  # noqa: F811
    elsewhere, lounge, dana = two_servers["elsewhere"], two_servers["lounge"], two_servers["dana"]
    peer, circle = bot.guild.id, bot.circle.id
    alice, bob = bot.uid("alice"), bot.uid("bob")
    takeover = f"~cmd:setup?setting=facilitator-rule&value=members:{alice}"

    def as_admin(payload: dict[str, Any]) -> None:
        payload["member"]["permissions"] = str(ADMINISTRATOR | MANAGE_GUILD)

    def claim(guild_id: int) -> Callable[[dict[str, Any]], None]:
        def change(payload: dict[str, Any]) -> None:
            payload["guild_id"] = str(guild_id)
            payload["guild"] = {**payload.get("guild", {}), "id": str(guild_id)}
            payload["member"]["permissions"] = str(ADMINISTRATOR | MANAGE_GUILD)

        return change

    cases: list[tuple[str, int, int | None, int | None, int, dict[str, Any], Callable[[dict[str, Any]], None]]] = [
        # alice, an administrator in Elsewhere, submits a form that names Peer Space
        ("form naming Peer Space, sent from Elsewhere", IT_MODAL_SUBMIT, elsewhere.id, lounge.id, alice,
         {"custom_id": f"@{peer}/{takeover}", "components": []}, lambda p: None),
        ("button naming Peer Space, sent from Elsewhere", IT_MESSAGE_COMPONENT, elsewhere.id, lounge.id, alice,
         {"custom_id": f"@{peer}/~yes:1", "component_type": 2}, lambda p: None),
        # the same from a direct message, with an administrator's permissions written in
        ("form naming Peer Space, from a DM", IT_MODAL_SUBMIT, None, None, alice,
         {"custom_id": f"@{peer}/{takeover}", "components": []}, lambda p: None),
        # dana is not in Peer Space at all
        ("dana's form naming Peer Space", IT_MODAL_SUBMIT, elsewhere.id, lounge.id, dana.id,
         {"custom_id": f"@{peer}/{takeover}", "components": []}, as_admin),
        ("dana's DM button for Peer Space", IT_MESSAGE_COMPONENT, None, None, dana.id,
         {"custom_id": f"@{peer}/~yes:1", "component_type": 2}, lambda p: None),
        # a guild id the bot is not in, claimed with administrator permissions
        ("a server the bot is not in", IT_APPLICATION_COMMAND, peer, circle, bob,
         command_data(bot, peer, "setup", {"setting": "facilitator-rule", "value": f"members:{bob}"}),
         claim(8_888_888_888_888_888)),
        # a form id naming a server the bot is not in, from a DM
        ("form naming an unknown server", IT_MODAL_SUBMIT, None, None, bob,
         {"custom_id": f"@9999999999999999/{takeover}", "components": []}, lambda p: None),
        # a yes button copied from someone else's confirmation, pressed by bob in Peer Space itself
        ("a copied yes, pressed by bob", IT_MESSAGE_COMPONENT, peer, circle, bob,
         {"custom_id": "~yes:1", "component_type": 2}, lambda p: None),
    ]
    posts_before = {c: len(bot.server.channel_messages(c, ephemeral=False)) for c in (circle, bot.pairs.id)}
    for what, itype, guild_id, channel_id, user, data, change in cases:
        before = await fingerprint(bot.app.db)
        handle = await forged(bot, itype, guild_id, channel_id, user, data, change)
        callback = await handle.response()
        assert callback.ok, (what, callback.status, callback.response)
        assert await fingerprint(bot.app.db) == before, what
    assert {c: len(bot.server.channel_messages(c, ephemeral=False)) for c in posts_before} == posts_before
    community = await bot.app.communities.find(bot.app.db, "discord", str(peer))
    assert community is not None and not (community.facilitator_rule or "").startswith("members:")
    assert await bot.app.communities.find(bot.app.db, "discord", "8888888888888888") is None


async def test_a_command_in_one_server_cannot_post_into_another_servers_channel(bot: Bot, two_servers) -> None:  # noqa: F811
    elsewhere = two_servers["elsewhere"]
    # alice may post a question in Elsewhere (she administers it); the interaction claims to come
    # from Peer Space's #circle, a channel of another server
    data = command_data(bot, bot.guild.id, "questions now", None)
    before = len(bot.server.channel_messages(bot.circle.id, ephemeral=False))

    def from_circle(payload: dict[str, Any]) -> None:
        payload["channel_id"] = str(bot.circle.id)
        payload["channel"] = {**P.channel_payload(bot.circle), "permissions": payload["member"]["permissions"]}

    handle = await forged(bot, IT_APPLICATION_COMMAND, elsewhere.id, two_servers["lounge"].id, bot.uid("alice"), data, from_circle)
    assert (await handle.response()).ok
    await bot.settle()
    assert len(bot.server.channel_messages(bot.circle.id, ephemeral=False)) == before
    assert texts(handle)  # answered, whatever it says
