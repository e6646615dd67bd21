"""Exactly-once command handling in the core: nested transactions (savepoints), and
`App.handle_text(once=...)`, which records the event, runs the command and writes its answers
to the outbox in one transaction."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Once
from bot.context import Actor, CommunityRef, Invocation
from bot.replies import ConfirmPrompt, Reply
from bot.storage.db import Database
from tests.harness import mention, store_location

INSERT = (
    "INSERT INTO communities (platform, external_id, locale, timezone, created_at)"
    " VALUES ('console', ?, 'en', 'UTC', 'now')"
)


async def count(db: Database, sql: str, params: tuple = ()) -> int:
    row = await db.fetchone(sql, params)
    assert row is not None
    return int(row[0])


async def test_an_inner_transaction_is_a_savepoint_of_the_outer_one(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    fired: list[str] = []

    async def body() -> None:
        async with db.transaction() as outer:
            await outer.execute(INSERT, ("kept",))
            outer.after_commit(lambda: fired.append("outer"))
            with pytest.raises(LookupError):
                async with db.transaction() as inner:
                    await inner.execute(INSERT, ("undone",))
                    inner.after_commit(lambda: fired.append("undone"))
                    raise LookupError("a refusal")
            async with db.transaction() as inner:
                await inner.execute(INSERT, ("also kept",))
                inner.after_commit(lambda: fired.append("inner"))
                inner.request_checkpoint()
            # The database's own reads and writes run on the open transaction (instead of
            # waiting for the lock it holds) and see its uncommitted rows.
            seen = await db.fetchall("SELECT external_id FROM communities ORDER BY id")
            assert [row[0] for row in seen] == ["kept", "also kept"]
            await db.execute(INSERT, ("by execute",))
            assert fired == []  # nothing fires before the outer commit
            assert outer.checkpoint_requested

    await asyncio.wait_for(body(), 5)  # a deadlock on the lock fails here instead of hanging
    assert fired == ["outer", "inner"]
    assert await count(db, "SELECT COUNT(*) FROM communities") == 3
    await db.close()


async def test_an_outer_rollback_undoes_the_committed_inner_transactions(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    fired: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.transaction():
            async with db.transaction() as inner:
                await inner.execute(INSERT, ("inner",))
                inner.after_commit(lambda: fired.append("inner"))
            raise RuntimeError("crash before commit")
    assert fired == []
    assert await count(db, "SELECT COUNT(*) FROM communities") == 0
    await db.close()


async def test_another_task_waits_for_the_open_transaction(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    order: list[str] = []

    async def other() -> None:
        # A task that is not the one holding the transaction must wait for it, not join it.
        await db.execute(INSERT, ("other",))
        order.append("other")

    async with db.transaction() as tx:
        await tx.execute(INSERT, ("mine",))
        task = asyncio.create_task(other())
        await asyncio.sleep(0.05)
        assert order == []
        order.append("mine")
    await task
    assert order == ["mine", "other"]
    await db.close()


def inv(user: str, *, private: bool = False, facilitator: bool = False) -> Invocation:
    return Invocation(
        CommunityRef("console", "demo", "demo"),
        Actor(user, user, facilitator),
        None if private else "circle",
        private=private,
        prefix="/",
    )


async def outbox_intents(h) -> list:
    return [d.intent for d in await h.app.outbox.pending()]


async def test_once_runs_a_command_once_and_queues_its_answer(harness):
    h = harness
    await h.app.deliver_pending()
    h.sink.take()
    once = Once("$event1", channel="!room", thread="$root")
    text = "questions suggest What is something you learned from a friend this year?"
    returned = await h.app.handle_text(inv("sam"), text, mention, once=once)
    # The answer is in the outbox, addressed to the member where they typed it, not returned
    # for rendering from memory.
    queued = await outbox_intents(h)
    assert len(queued) == 1 and isinstance(queued[0], Reply)
    assert queued[0].user_id == "sam" and queued[0].channel == "!room" and queued[0].thread == "$root"
    assert returned == queued
    # The same event again (a replayed sync after a crash) changes nothing and answers nothing.
    assert await h.app.handle_text(inv("sam"), text, mention, once=once) == []
    assert len(await outbox_intents(h)) == 1
    assert await count(h.db, "SELECT COUNT(*) FROM question_suggestions") == 1
    await h.app.deliver_pending()
    assert [type(i) for i in h.sink.take()] == [Reply]


async def test_once_queues_refusals_parse_errors_and_confirmation_prompts(harness):
    h = harness
    await h.app.deliver_pending()
    h.sink.take()
    await h.app.handle_text(inv("sam"), "questions frobnicate", mention, once=Once("$e1"))
    await h.app.handle_text(inv("sam"), "setup timezone Europe/Paris", mention, once=Once("$e2"))
    await h.app.handle_text(inv("sam"), "pair join", mention, once=Once("$e3"))
    queued = await outbox_intents(h)
    assert [type(i) for i in queued] == [Reply, Reply, ConfirmPrompt]
    # The prompt's `yes`, typed in the member's private room, is handled once too.
    yes = Once("$e4", channel="!private", here=True)
    await h.app.handle_text(inv("sam", private=True), "yes", mention, once=yes)
    await h.app.handle_text(inv("sam", private=True), "yes", mention, once=yes)
    replies = (await outbox_intents(h))[3:]
    assert len(replies) == 1 and isinstance(replies[0], Reply) and replies[0].here
    assert await count(h.db, "SELECT COUNT(*) FROM pair_participants") == 1


async def test_a_crash_before_commit_leaves_the_event_unhandled(harness, monkeypatch):
    h = harness
    text = "questions suggest What did a friend teach you about listening?"
    real_add = h.app.outbox.add

    async def failing_add(tx, community_id, intent):
        raise OSError("the process dies here")

    monkeypatch.setattr(h.app.outbox, "add", failing_add)
    with pytest.raises(OSError):
        await h.app.handle_text(inv("sam"), text, mention, once=Once("$crash"))
    # Nothing of it stayed: not the suggestion, not the event's record.
    assert await count(h.db, "SELECT COUNT(*) FROM question_suggestions") == 0
    assert await count(h.db, "SELECT COUNT(*) FROM seen_events") == 0
    monkeypatch.setattr(h.app.outbox, "add", real_add)
    await h.app.handle_text(inv("sam"), text, mention, once=Once("$crash"))
    assert await count(h.db, "SELECT COUNT(*) FROM question_suggestions") == 1
    assert len(await outbox_intents(h)) == 1
