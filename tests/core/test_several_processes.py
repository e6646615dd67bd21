"""Several processes, one store (issue 19): in-process "processes" (each its own App, connection,
caches, timeline and outbox) sharing one SQLite file. The real-process kill -9 test is
tests/trust/test_kill9_several_processes.py."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from bot.ownership import owns_everything
from bot.replies import ChannelPost, Delivery
from tests.core.pairing.helpers import join
from tests.harness import Harness, make_harness

QUESTION = re.compile(r"A question for the space: (.*)$", re.M)


async def two(tmp_path) -> tuple[Harness, Harness]:
    a = await make_harness(tmp_path, instance="a")
    b = await make_harness(tmp_path, instance="b")
    return a, b


def posted(*harnesses: Harness) -> list[str]:
    return [
        d.intent.text
        for h in harnesses
        for d in h.sink.deliveries
        if isinstance(d.intent, ChannelPost) and QUESTION.search(d.intent.text)
    ]


async def count(h: Harness, sql: str) -> int:
    row = await h.db.fetchone(sql)
    assert row is not None
    return int(row[0])


async def test_two_processes_flushing_together_deliver_each_message_once(tmp_path, store):
    a, b = await two(tmp_path)
    await a.run("alex", "questions schedule 0 * * * *")
    await b.app.resync()
    a.sink.deliveries.clear()
    # Both processes' drivers fire every slot; a writes nothing b's outbox has queued, so b only
    # learns of a's rows from the table (its scan), as after a restart.
    for _ in range(6):
        await a.driver.advance(timedelta(hours=1))
        await b.driver.advance(timedelta(hours=1))
        b.app.outbox._scan_needed = True
        await b.app.deliver_pending()
        await a.app.deliver_pending()
    ids = [d.outbox_id for h in (a, b) for d in h.sink.deliveries]
    assert len(ids) == 6 and len(set(ids)) == 6, Counter(ids)
    assert await count(a, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0
    await a.close()
    await b.close()


async def test_each_slot_posts_once_and_the_rotation_never_repeats_across_processes(tmp_path, store):
    a, b = await two(tmp_path)
    await a.run("alex", "questions schedule 0 * * * *")
    await b.app.resync()
    # The processes take turns getting to each slot first: a rotation cached in one of them
    # must not ask again what the other asked (the claim tells it another process ran the job).
    for hour in range(30):
        first, second = (a, b) if hour % 3 else (b, a)
        await first.driver.advance(timedelta(hours=1), after_each=first.app.deliver_pending)
        await second.driver.advance(timedelta(hours=1), after_each=second.app.deliver_pending)
    slots = await a.db.fetchall("SELECT slot_key, prompt_id FROM question_postings WHERE slot_key NOT LIKE '%manual%'")
    assert len(slots) == 30 == len({row[0] for row in slots})
    assert len({row[1] for row in slots}) == 30, Counter(row[1] for row in slots).most_common(3)
    texts = posted(a, b)
    assert len(texts) == 30 == len(set(texts))
    (runs,) = await a.db.fetchone("SELECT runs FROM work_claims WHERE job_key LIKE 'questions:%'")
    assert runs >= 60  # both processes ran the job for every slot; the second found it done
    await a.close()
    await b.close()


async def test_a_schedule_set_through_one_process_is_kept_by_another_after_resync(tmp_path, store):
    a, b = await two(tmp_path)
    await a.run("alex", "questions schedule daily 10:00")
    # a is gone (killed): b's timeline knew nothing of the schedule until it resyncs.
    await a.close()
    await b.app.resync()
    await b.driver.advance(timedelta(days=3), after_each=b.app.deliver_pending)
    assert len(posted(b)) == 3
    await b.close()


async def test_a_round_started_by_one_process_is_carried_on_by_another(tmp_path, store):
    a, b = await two(tmp_path)
    await join(a, "alex", "sam", "kim", "lee")
    await a.run("alex", "pair schedule weekly mon 10:00")
    await b.app.resync()
    await a.driver.advance(timedelta(days=1), after_each=a.app.deliver_pending)  # a starts the round
    started = await count(a, "SELECT COUNT(*) FROM pair_rounds")
    assert started == 1
    await a.close()  # and is gone before the round's midpoint and end
    b.app.outbox._scan_needed = True
    await b.driver.advance(timedelta(days=8), after_each=b.app.upkeep)
    rounds = await b.db.fetchall("SELECT state, mid_sent FROM pair_rounds ORDER BY id")
    # The first round ran its midpoint and closed (b learned of it from storage), the next began.
    assert [tuple(r) for r in rounds][0] == ("closed", 1), [tuple(r) for r in rounds]
    assert len(rounds) == 2
    await b.close()


async def test_a_killed_senders_row_waits_for_its_lease_and_its_own_restart_takes_it_at_once(tmp_path, store):
    a, b = await two(tmp_path)
    wall = [1000.0]
    for h in (a, b):
        h.app.outbox._wall = lambda: wall[0]
    a.app._sink = None  # a is killed after the row commits, before it delivers
    await a.run("alex", "questions now")
    (row,) = await a.app.outbox.pending()
    assert await a.app.outbox._repo.claim(a.db, row.outbox_id, "a", int((wall[0] + 120) * 1000), int(wall[0] * 1000))
    b.sink.deliveries.clear()
    b.app.outbox._scan_needed = True
    assert await b.app.deliver_pending() == 0  # a's lease has not run out: b leaves it
    wall[0] += 121
    b.app.outbox._scan_needed = True
    assert await b.app.deliver_pending() == 1
    assert [d.outbox_id for d in b.sink.deliveries] == [row.outbox_id]
    await a.close()
    await b.close()


async def test_a_restart_under_the_same_name_takes_its_claimed_rows_back_at_once(tmp_path, store):
    a = await make_harness(tmp_path, instance="a")
    a.app._sink = None  # killed after the row commits, before it delivers
    await a.run("alex", "questions now")
    (row,) = await a.app.outbox.pending()
    now_ms = int(a.app.outbox._wall() * 1000)
    assert await a.app.outbox._repo.claim(a.db, row.outbox_id, "a", now_ms + 120_000, now_ms)
    await a.close()
    again = await make_harness(tmp_path, instance="a")  # its start delivers what is pending
    assert [d.outbox_id for d in again.sink.deliveries] == [row.outbox_id]
    await again.close()


async def test_a_process_delivers_only_what_it_owns(tmp_path, store):
    a, b = await two(tmp_path)
    a.app.outbox.owns = lambda platform, external_id: external_id != "demo"
    a.sink.deliveries.clear()
    b.sink.deliveries.clear()
    await a.run("alex", "questions now")  # written by a, for a community a does not serve
    assert a.sink.deliveries == []
    assert await count(a, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 1
    b.app.outbox._scan_needed = True
    await b.app.deliver_pending()
    assert [type(d.intent) for d in b.sink.deliveries] == [ChannelPost]
    assert owns_everything("discord", "1")
    await a.close()
    await b.close()


def test_delivery_type_is_what_the_sinks_get():
    assert Delivery.__name__ == "Delivery"


async def test_a_postponed_row_is_given_back_at_once_not_held_for_the_lease(tmp_path, store):
    """A process whose platform can't take a message yet (a server not loaded, a held connection)
    postpones it: it must not keep the row leased, or every other process, and its own restart
    under another name, waits out the whole lease (found by the Discord kill -9 test in CI)."""
    from bot.outbox import TransientDeliveryError

    a, b = await two(tmp_path)

    async def not_yet(delivery: Delivery) -> None:
        raise TransientDeliveryError("not loaded yet")

    a.app.outbox._wall = b.app.outbox._wall = lambda: 1000.0
    a.sink.deliver = not_yet  # type: ignore[method-assign]
    await a.run("alex", "questions now")
    assert not [d for d in a.sink.deliveries]
    b.sink.deliveries.clear()
    b.app.outbox._scan_needed = True
    assert await b.app.deliver_pending() == 1  # at once: the clock has not moved
    await a.close()
    await b.close()


async def test_two_processes_making_the_first_hash_secret_at_once_share_one(tmp_path, store):
    """The keyed-hash secret (bot/storage/blinding.py) is made on first use. Two processes whose
    first `pair not-with` comes at the same moment both find none: the second must take the
    first's secret, not fail (PostgreSQL: a unique violation, the member told something went
    wrong) or keep its own (its hashes would never match the other's). Found by bench/soak.py
    with two processes."""
    import asyncio

    from bot.storage.blinding import sealed_secret

    a, b = await two(tmp_path)
    now = a.clock.now()

    async def b_makes_its_own() -> bytes:
        async with b.db.transaction() as tx:
            return await sealed_secret(tx, b.app.cipher, now)

    async with a.db.transaction() as tx:
        made_by_a = await sealed_secret(tx, a.app.cipher, now)
        racing = asyncio.create_task(b_makes_its_own())
        await asyncio.sleep(0.3)  # b has looked and found none; its insert waits on a's
    assert await racing == made_by_a
    assert await count(a, "SELECT COUNT(*) FROM blinding_secrets") == 1
    await a.close()
    await b.close()


async def test_the_daily_purge_that_finds_nothing_vacuums_nothing(tmp_path, store, monkeypatch):
    """Every process sharing the store fires the daily retention job at the same instant; the
    first purges, the others find nothing. A purge that removed nothing has nothing to VACUUM:
    on PostgreSQL each process vacuuming the same tables at once made the others wait on the
    tables' locks (the soak with two processes spent more time in retention than in commands)."""
    a, b = await two(tmp_path)
    await a.run("alex", "pair join")
    checkpoints: list[str] = []
    for harness in (a, b):
        original = harness.db.checkpoint

        async def counted(original=original, name=harness.app.instance) -> None:
            checkpoints.append(name)
            await original()

        monkeypatch.setattr(harness.db, "checkpoint", counted)
    instant = a.clock.now()
    await b.app.mydata.purge(instant)  # nothing past its retention period yet
    assert checkpoints == []
    # Something past its period (a confirmation left unanswered): the purge removes it and
    # vacuums once.
    later = instant + timedelta(days=400)
    await a.app.mydata.purge(later)
    await b.app.mydata.purge(later)
    assert checkpoints == ["a"]
    await a.close()
    await b.close()
