"""Exactly once on Discord, and no pings: an outbox delivery repeated after a crash (sent, but the
receipt never written) posts nothing twice and opens no second thread, because every message
carries a nonce derived from its outbox id (`enforce_nonce`) and threads are looked for before
they are made; and nothing the bot posts pings anyone but a pair in its own thread."""

from __future__ import annotations

from typing import Any

import pytest

from bot.replies import ChannelPost, Delivery, PairSpaceOpen, PairSpacePost, PrivateMessage
from tests.discord.conftest import Bot
from tests.discord_loopback import payloads as P


def delivery(bot: Bot, outbox_id: int, intent: Any) -> Delivery:
    return Delivery(outbox_id, "discord", str(bot.guild.id), intent)


class Crash(BaseException):
    """Stands for a kill -9: nothing after it runs, nothing catches it."""


async def deliver_crashing_then_again(bot: Bot, item: Delivery) -> None:
    """Deliver once, crash before the receipt (a fresh adapter forgets everything in memory),
    deliver again."""
    assert bot.adapter is not None
    await bot.adapter.deliver(item)
    await bot.restart()
    assert bot.adapter is not None
    await bot.adapter.deliver(item)
    await bot.settle()


async def test_a_question_delivered_again_after_a_crash_is_posted_once_with_one_thread(bot: Bot) -> None:
    post = ChannelPost(channel="circle", text="What helps you rest?", thread_title="Question 7", pin=True)
    await deliver_crashing_then_again(bot, delivery(bot, 41, post))
    posts = bot.posts(bot.circle)
    assert [p["content"] for p in posts] == ["What helps you rest?"]
    threads = [c for c in bot.server.channels.values() if c.type == P.CH_PUBLIC_THREAD]
    assert [t.id for t in threads] == [int(posts[0]["id"])]
    sends = bot.server.requests_to("POST", f"/channels/{bot.circle.id}/messages")
    sends = [r for r in sends if r.path == f"/channels/{bot.circle.id}/messages"]
    assert len(sends) == 2 and sends[0].json["nonce"] == sends[1].json["nonce"]
    assert sends[0].json["enforce_nonce"] is True and len(sends[0].json["nonce"]) <= 25
    # a different delivery of the same words is a different message
    await bot.adapter.deliver(delivery(bot, 42, post))  # type: ignore[union-attr]
    assert len(bot.posts(bot.circle)) == 2


async def test_a_thread_started_before_the_crash_is_not_started_again(bot: Bot) -> None:
    # The crash lands after the thread was started but before the post's own answer was kept.
    post = ChannelPost(channel="circle", text="What helps you rest?", thread_title="Question 7")
    assert bot.adapter is not None
    await bot.adapter.deliver(delivery(bot, 43, post))
    await bot.restart()
    bot.server.nonces.clear()  # past Discord's window: the post itself is not found by its nonce
    message = bot.posts(bot.circle)[0]
    assert bot.adapter is not None
    channel = bot.adapter.client.get_channel(bot.circle.id)
    real = await channel.fetch_message(int(message["id"]))  # type: ignore[union-attr]
    real.flags.value &= ~(1 << 5)  # as if the message came back without its HAS_THREAD flag
    await bot.adapter.outgoing._channel_post(bot.guild.id, post, _progress(real))
    threads = [c for c in bot.server.channels.values() if c.type == P.CH_PUBLIC_THREAD]
    assert len(threads) == 1


def _progress(message: Any) -> Any:
    from adapters.discord.outgoing import _Progress

    return _Progress(message=message, key=43)


async def set_pairing_channel(bot: Bot) -> None:
    assert "pairs" in await bot.say("fay", "setup", {"setting": "pairing-channel", "value": "pairs"})


def pair_open(bot: Bot) -> PairSpaceOpen:
    return PairSpaceOpen(
        space_key="r1-a",
        member_ids=(str(bot.uid("alice")), str(bot.uid("bob"))),
        title="Round 1: alice and bob",
        text=f"Welcome, <@{bot.uid('alice')}> and <@{bot.uid('bob')}>. @everyone <@&{bot.guild.id}>",
    )


async def test_a_pair_space_delivered_again_after_a_crash_has_one_thread_and_one_welcome(bot: Bot) -> None:
    await set_pairing_channel(bot)
    await deliver_crashing_then_again(bot, delivery(bot, 51, pair_open(bot)))
    threads = [c for c in bot.server.channels.values() if c.type == P.CH_PRIVATE_THREAD]
    assert len(threads) == 1
    assert len(bot.server.channel_messages(threads[0].id)) == 1
    assert threads[0].members == {bot.server.bot_user.id, bot.uid("alice"), bot.uid("bob")}


async def test_a_crash_between_starting_a_pair_thread_and_keeping_its_id_opens_no_second(bot: Bot) -> None:
    await set_pairing_channel(bot)
    assert bot.adapter is not None
    state = bot.adapter.state
    real_set = state.set_pair_space

    async def crash(*args: Any) -> None:
        raise Crash

    state.set_pair_space = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await bot.adapter.deliver(delivery(bot, 52, pair_open(bot)))
    state.set_pair_space = real_set  # type: ignore[method-assign]
    await bot.restart()
    assert bot.adapter is not None
    await bot.adapter.deliver(delivery(bot, 52, pair_open(bot)))
    threads = [c for c in bot.server.channels.values() if c.type == P.CH_PRIVATE_THREAD]
    assert len(threads) == 1
    assert threads[0].members == {bot.server.bot_user.id, bot.uid("alice"), bot.uid("bob")}
    # and a later pair whose title happens to be the same gets a thread of its own
    other = PairSpaceOpen("r1-b", (str(bot.uid("carol")),), "Round 1: alice and bob", "Welcome.")
    await bot.adapter.deliver(delivery(bot, 53, other))
    assert len([c for c in bot.server.channels.values() if c.type == P.CH_PRIVATE_THREAD]) == 2


async def test_pair_posts_and_direct_messages_are_sent_once_after_a_crash(bot: Bot) -> None:
    await set_pairing_channel(bot)
    assert bot.adapter is not None
    await bot.adapter.deliver(delivery(bot, 60, pair_open(bot)))
    thread = next(c for c in bot.server.channels.values() if c.type == P.CH_PRIVATE_THREAD)
    await deliver_crashing_then_again(bot, delivery(bot, 61, PairSpacePost("r1-a", "How is it going?")))
    assert [m["content"] for m in bot.server.channel_messages(thread.id)][1:] == ["How is it going?"]
    await deliver_crashing_then_again(bot, delivery(bot, 62, PrivateMessage(str(bot.uid("carol")), "Hello, carol.")))
    assert [m["content"] for m in bot.dms("carol")] == ["Hello, carol."]


async def test_a_message_kept_for_closed_dms_is_kept_once_after_a_crash(bot: Bot) -> None:
    bot.server.close_dms(bot.uid("carol"))
    await deliver_crashing_then_again(bot, delivery(bot, 63, PrivateMessage(str(bot.uid("carol")), "Hello, carol.")))
    shown = [r.json.get("content", "") for r in (await bot.slash("carol", "pair status")).followups()]
    assert sum("Hello, carol." in text for text in shown) == 1


# -- no pings ----------------------------------------------------------------------------------

PINGS = "<@123456789012345678> @everyone @here <@&876543210987654321>"


async def test_a_proposal_with_mentions_pings_nobody(bot: Bot) -> None:
    await bot.say("fay", "setup", {"setting": "question-channel", "value": "circle"})
    await bot.say("fay", "space-agreement draft")
    answer = await bot.say("alice", "space-agreement propose", {"section": "purpose", "text": f"Hi {PINGS}"})
    assert "#1" in answer
    posted = [
        r
        for r in bot.server.requests_to("POST", f"/channels/{bot.circle.id}/messages")
        if isinstance(r.json, dict) and "123456789012345678" in (r.json.get("content") or "")
    ]
    assert posted, "the proposal was posted"
    for request in posted:
        mentions = request.json.get("allowed_mentions")
        assert mentions is not None and mentions.get("parse") == []
        assert not mentions.get("users") and not mentions.get("roles")


async def test_every_message_the_bot_sends_pings_nobody_but_a_pair_in_its_welcome(bot: Bot) -> None:
    await set_pairing_channel(bot)
    assert bot.adapter is not None
    await bot.adapter.deliver(delivery(bot, 70, ChannelPost(channel="circle", text=PINGS, thread_title="Question 1")))
    await bot.adapter.deliver(delivery(bot, 71, PrivateMessage(str(bot.uid("carol")), PINGS)))
    await bot.adapter.deliver(delivery(bot, 72, pair_open(bot)))
    await bot.adapter.deliver(delivery(bot, 73, PairSpacePost("r1-a", PINGS)))
    await bot.say("alice", "help")
    sends = [
        r
        for r in bot.server.requests
        if r.method in ("POST", "PATCH") and isinstance(r.json, dict) and ("content" in r.json or "data" in r.json)
    ]
    assert len(sends) >= 5
    welcome = {str(bot.uid("alice")), str(bot.uid("bob"))}
    for request in sends:
        body = request.json.get("data", request.json) if request.json.get("type") else request.json
        if not isinstance(body, dict) or "content" not in body:
            continue
        mentions = body.get("allowed_mentions")
        assert mentions is not None, request.path
        assert mentions.get("parse") == [] and not mentions.get("roles"), request.path
        if body["content"].startswith("Welcome"):
            assert {str(u) for u in mentions.get("users", [])} == welcome
        else:
            assert not mentions.get("users"), request.path
