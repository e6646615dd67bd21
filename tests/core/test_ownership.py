"""Several processes on one store, each serving some communities (issue 19): the runner passes
App an `owns` predicate, and scheduled posts (question slots, pairing rounds) are made only by
the process that owns the community. Two Apps on one SQLite file stand in for two processes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.context import CommunityRef
from bot.ownership import Owns, owns_everything
from bot.replies import ChannelPost
from tests.harness import START, Harness, make_harness

EAST = CommunityRef("console", "east", "east")
WEST = CommunityRef("console", "west", "west")


async def open_process(tmp_path: Path, clock: FakeClock, name: str, owns: Owns) -> Harness:
    """A process named `name` on the store `tmp_path`'s first harness made, serving what `owns`."""
    return await make_harness(tmp_path, clock=clock, owns=owns, instance=name)


async def test_each_community_is_scheduled_by_the_process_that_owns_it(tmp_path: Path) -> None:
    setup = await make_harness(tmp_path)
    for community in (EAST, WEST):
        await setup.run("alex", "questions schedule daily 18:00 UTC", community=community)
        for name in ("alex", "sam", "jo", "kit"):
            await setup.run(name, "pair join", community=community)
            await setup.run(name, "yes", channel=None, community=community)
        await setup.run("alex", "pair schedule weekly tue 10:00 UTC", community=community)
    await setup.close()

    clock = FakeClock(START)
    processes = {
        name: await open_process(tmp_path, clock, name, lambda platform, ext, name=name: ext == name)
        for name in ("east", "west")
    }
    for _ in range(3 * 24):  # three days, an hour at a time, both processes in step
        target = clock.now() + timedelta(hours=1)
        for process in processes.values():
            await process.driver.advance_to(target, after_each=process.app.deliver_pending)
    for owner, process in processes.items():
        posts = [d for d in process.sink.deliveries if isinstance(d.intent, ChannelPost)]
        assert {d.community_external_id for d in process.sink.deliveries} == {owner}
        assert posts, f"{owner} posted nothing"
        rows = await process.db.fetchall(
            "SELECT c.external_id, COUNT(*) FROM question_postings p JOIN communities c ON c.id = p.community_id"
            " GROUP BY c.external_id"
        )
        assert dict((r[0], r[1]) for r in rows) == {"east": 3, "west": 3}
        rounds = await process.db.fetchall(
            "SELECT c.external_id, COUNT(*) FROM pair_rounds r JOIN communities c ON c.id = r.community_id"
            " GROUP BY c.external_id"
        )
        assert dict((r[0], r[1]) for r in rounds) == {"east": 1, "west": 1}
    for process in processes.values():
        await process.close()


async def test_by_default_one_process_serves_every_community(tmp_path: Path) -> None:
    harness = await make_harness(tmp_path)
    assert harness.app.owns is owns_everything
    assert harness.app.services.owns("discord", "1") and harness.app.services.owns("matrix", "!r:x")
    await harness.close()


def test_a_platform_runner_owns_its_platform_only() -> None:
    from bot.ownership import owns_platform

    matrix = owns_platform("matrix")
    assert matrix("matrix", "!room:example.org")
    assert not matrix("discord", "1234") and not matrix("console", "demo")


async def test_outbox_rows_are_delivered_by_the_process_that_owns_their_community(tmp_path: Path) -> None:
    """A command for one community can reach a process that doesn't serve it (on Discord, direct
    messages all arrive on shard 0): what it queues for that community's channel is left in the
    store for the owning process, which could reach the channel, instead of being tried here."""
    setup = await make_harness(tmp_path)
    await setup.run("alex", "questions schedule daily 18:00 UTC", community=WEST)
    await setup.close()
    clock = FakeClock(START)
    east = await open_process(tmp_path, clock, "east", lambda p, ext: ext == "east")
    west = await open_process(tmp_path, clock, "west", lambda p, ext: ext == "west")
    await east.run("alex", "questions now", community=WEST)
    assert not [d for d in east.sink.deliveries if isinstance(d.intent, ChannelPost)]
    await west.app.upkeep()  # every `resync_seconds` in a real process
    posts = [d for d in west.sink.deliveries if isinstance(d.intent, ChannelPost)]
    assert [d.community_external_id for d in posts] == ["west"]
    await east.close()
    await west.close()


async def test_reading_the_store_again_adds_no_job_for_a_community_served_elsewhere(tmp_path: Path) -> None:
    """`upkeep` reads schedules again every `resync_seconds`: a schedule set through the process
    serving that community must not become a job here too. Such a job would fire every slot in
    every process, each run a claim transaction that finds the community not served and does
    nothing (found by bench/soak.py with several processes)."""
    setup = await make_harness(tmp_path)
    await setup.close()
    clock = FakeClock(START)
    east = await open_process(tmp_path, clock, "east", lambda p, ext: ext == "east")
    west = await open_process(tmp_path, clock, "west", lambda p, ext: ext == "west")
    await west.run("alex", "questions schedule daily 18:00 UTC", community=WEST)
    for name in ("alex", "sam", "jo", "kit"):
        await west.run(name, "pair join", community=WEST)
        await west.run(name, "yes", channel=None, community=WEST)
    await west.run("alex", "pair schedule weekly tue 10:00 UTC", community=WEST)
    west_jobs = {job.key.split(":")[0] for job in west.app.timeline.jobs()}
    assert {"questions", "pairing"} <= west_jobs
    await east.app.upkeep()
    east_jobs = sorted(job.key for job in east.app.timeline.jobs())
    assert not [key for key in east_jobs if key.startswith(("questions:", "pairing:"))], east_jobs
    await east.close()
    await west.close()
