"""What the bot sends on its own: scheduled questions with a public thread, pairing rounds in
private threads (with the DM fallback and, when DMs are closed, a note at the next command),
429s, server errors and gateway reconnects that lose and double nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.discord.conftest import Bot, buttons, eventually, texts
from tests.discord_loopback import payloads as P

EPHEMERAL = 1 << 6


async def test_scheduled_question_is_posted_with_a_public_thread(bot: Bot) -> None:
    answer = await bot.say("fay", "questions schedule", {"recurrence": "daily 18:00"})
    assert "18:00" in answer
    assert bot.posts(bot.circle) == []
    await bot.advance(timedelta(hours=9, minutes=1))  # 09:00 → 18:01
    posts = bot.posts(bot.circle)
    assert len(posts) == 1 and "?" in posts[0]["content"]
    thread = bot.server.channels[int(posts[0]["id"])]  # a thread started on the post shares its id
    assert thread.type == P.CH_PUBLIC_THREAD and thread.parent_id == bot.circle.id
    content = posts[0]["content"]
    if content.startswith("(Content note: "):
        # A question with a content note: the note is the first line and names the thread,
        # so the question itself is read only by someone who opens the post.
        note = content.split("\n", 1)[0].removeprefix("(Content note: ").removesuffix(".)")
        assert thread.name == f"Question (content note: {note})"
        assert content.split("\n")[1].startswith("A question for the space: ")
    else:
        assert thread.name and content.startswith("A question for the space: " + thread.name.rstrip("…"))
    created = bot.server.requests_to("POST", f"/channels/{bot.circle.id}/messages/{posts[0]['id']}/threads")
    assert created and created[0].json["auto_archive_duration"] == 10080
    # the next day's slot posts once more; nothing is posted twice
    await bot.advance(timedelta(days=1))
    assert len(bot.posts(bot.circle)) == 2


async def test_a_content_note_comes_before_the_question_and_names_the_thread(bot: Bot) -> None:
    await bot.say("fay", "questions depth", {"mix": "deep"})
    noted = []
    for _ in range(12):
        await bot.say("fay", "questions now")
        await bot.settle()
        post = bot.posts(bot.circle)[-1]
        if post["content"].startswith("(Content note: "):
            noted.append(post)
    assert noted
    for post in noted:
        note_line, question_line = post["content"].split("\n")[:2]
        assert question_line.startswith("A question for the space: ") and question_line.endswith("?")
        thread = bot.server.channels[int(post["id"])]
        note = note_line.removeprefix("(Content note: ").removesuffix(".)")
        assert thread.name == f"Question (content note: {note})"


async def join_pairing(bot: Bot, user: str) -> None:
    prompt = await bot.slash(user, "pair join")
    consent = buttons(prompt.original_message)
    assert "What I keep" in prompt.original_message["content"] and prompt.ephemeral
    yes = next(cid for cid in consent.values() if cid.startswith("~yes:"))
    assert "You're in" in texts(await bot.press(user, yes, message=prompt.original_message))


async def test_pairing_round_opens_private_threads_with_a_dm_fallback(bot: Bot) -> None:
    dave = bot.server.add_member(bot.guild.id, None, "dave").user
    bot.users["dave"] = dave
    for user in ("alice", "bob", "carol", "dave"):
        await join_pairing(bot, user)
    assert "pairs" in await bot.say("fay", "setup", {"setting": "pairing-channel", "value": "pairs"})
    bot.server.fail_thread_member_add(bot.uid("carol"))  # carol can't be added: DM instead
    bot.server.fail_thread_member_add(dave.id)  # nor dave, whose DMs are closed too
    bot.server.close_dms(dave.id)

    assert "Round 1" in await bot.say("fay", "pair now")
    threads = [c for c in bot.server.channels.values() if c.type == P.CH_PRIVATE_THREAD]
    assert len(threads) == 2
    assert all(t.parent_id == bot.pairs.id and not t.invitable for t in threads)
    members = set().union(*(t.members for t in threads)) - {bot.server.bot_user.id}
    assert members == {bot.uid("alice"), bot.uid("bob")}
    for thread in threads:
        intro = bot.server.channel_messages(thread.id)
        assert intro and "private space for round 1" in intro[0]["content"]
    assert "couldn't add you to the private thread for your pair or circle" in bot.dm_text("carol")
    assert "private space for round 1" in bot.dm_text("carol")
    assert bot.dms("dave") == []

    # dave hears it, privately, the next time he uses a command
    status = await bot.slash("dave", "pair status")
    shown = texts(status)
    assert "DMs seem to be closed" in shown and "private space for round 1" in shown
    assert all(r.json.get("flags", 0) & EPHEMERAL for r in status.followups())
    assert "DMs seem to be closed" not in await bot.say("dave", "pair status")  # once only

    # the pair's later posts and its end reach the thread and the DM fallback alike
    dm_before = len(bot.dms("carol"))
    assert "ended" in await bot.say("carol", "pair end")
    closed = [t for t in threads if t.archived]
    assert len(closed) == 1 and closed[0].locked  # carol's pair's thread, and only that one
    last_post = bot.server.channel_messages(closed[0].id)[-1]["content"]
    assert len(bot.dms("carol")) == dm_before + 1 and last_post in bot.dm_text("carol")


async def test_a_closed_dm_invitation_is_shown_with_working_buttons(bot: Bot) -> None:
    bot.server.close_dms(bot.uid("bob"))
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    assert bot.dms("bob") == []
    nudge = await bot.slash("bob", "resources")
    kept = [r for r in nudge.followups() if "negotiate an agreement" in (r.json or {}).get("content", "")]
    assert kept and kept[0].json["flags"] & EPHEMERAL
    message = bot.server.messages[int(kept[0].response["id"])] if isinstance(kept[0].response, dict) else None
    yes = next(cid for cid in buttons(message or kept[0].json).values() if "~yes:" in cid)
    joined = await bot.press("bob", yes)
    assert "joined agreement" in texts(joined)


async def test_a_429_on_send_delays_but_delivers(bot: Bot) -> None:
    path = f"/channels/{bot.circle.id}/messages"
    bot.server.rate_limit_next("POST", path, retry_after=0.3)
    assert "posted" in await bot.say("fay", "questions now")
    await eventually(lambda: len(bot.posts(bot.circle)) == 1)
    assert [r.status for r in bot.server.requests_to("POST", path) if r.path == path] == [429, 200]


async def test_a_server_error_is_retried_in_order(bot: Bot) -> None:
    path = f"/channels/{bot.circle.id}/messages"
    bot.server.fail_next("POST", path, status=503)
    await bot.say("fay", "questions now")
    assert bot.posts(bot.circle) == []  # postponed, still in the outbox
    assert (await bot.app.db.fetchone("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"))[0] == 1
    bot.adapter.kick_delivery()
    await bot.settle()
    assert len(bot.posts(bot.circle)) == 1
    assert [r.status for r in bot.server.requests_to("POST", path) if r.path == path] == [503, 200]


async def test_a_refused_post_does_not_block_the_queue(bot: Bot) -> None:
    bot.server.fail_next("POST", f"/channels/{bot.circle.id}/messages", status=403, code=50013)
    await bot.say("fay", "questions now")
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    assert "negotiate an agreement" in bot.dm_text("bob")
    assert (await bot.app.db.fetchone("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"))[0] == 0


async def test_pinned_posts_are_pinned(bot: Bot) -> None:
    await bot.say("fay", "setup", {"setting": "question-channel", "value": "circle"})
    await bot.say("fay", "space-agreement draft")
    pinned = [m for m in bot.posts(bot.circle) if m["pinned"]]
    assert len(pinned) == 1


async def test_gateway_resume_replays_without_handling_twice(bot: Bot) -> None:
    assert bot.adapter is not None
    client = bot.adapter.client
    resumed = asyncio.create_task(client.wait_for("resumed", timeout=5))
    assert await bot.server.disconnect(4000) == 1
    # sent while the socket is down: replayed after RESUME, handled exactly once
    missed = await bot.server.send_slash_command(
        bot.guild.id,
        bot.circle.id,
        bot.uid("alice"),
        "questions suggest",
        {"text": "What does listening feel like from the inside?"},
    )
    await resumed
    await missed.response()
    await bot.settle()
    assert bot.server.gateway.resumes[-1].ok and bot.server.gateway.resumes[-1].replayed
    assert len(bot.server.identify_payloads) == 1
    rows = await bot.app.db.fetchone("SELECT COUNT(*) FROM question_suggestions")
    assert rows[0] == 1
    assert len(missed.callback_attempts) == 1
    # an event delivered twice (as after a resume that overlaps) is handled once
    before = bot.adapter.handled
    await bot.server.gateway.dispatch("INTERACTION_CREATE", missed.payload)
    await bot.settle()
    assert bot.adapter.handled == before
    assert (await bot.app.db.fetchone("SELECT COUNT(*) FROM question_suggestions"))[0] == 1


async def test_nothing_is_lost_over_a_fresh_session(bot: Bot) -> None:
    await bot.say("fay", "questions schedule", {"recurrence": "daily 18:00"})
    await bot.server.disconnect(4000, resumable=False)
    await bot.advance(timedelta(hours=9, minutes=1))  # the slot falls due while reconnecting
    await eventually(lambda: len(bot.server.identify_payloads) == 2 and bot.server.gateway.live_sessions())
    bot.adapter.kick_delivery()
    await bot.settle()
    assert len(bot.posts(bot.circle)) == 1
    assert "posted" not in await bot.say("alice", "pair status")  # commands work again


async def test_a_message_that_cannot_be_rendered_does_not_block_the_queue(bot: Bot, monkeypatch) -> None:
    assert bot.adapter is not None
    real = bot.adapter.outgoing.send
    calls = []

    async def broken_once(guild_id, intent, key=None):
        calls.append(type(intent).__name__)
        if len(calls) == 1:
            raise RuntimeError("a bug in rendering")
        return await real(guild_id, intent, key)

    monkeypatch.setattr(bot.adapter.outgoing, "send", broken_once)
    await bot.say("fay", "questions now")  # its post hits the bug: logged, skipped
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    assert "negotiate an agreement" in bot.dm_text("bob")
    assert (await bot.app.db.fetchone("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"))[0] == 0
