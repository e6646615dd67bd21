"""Benchmark: 1,000 communities whose question schedules all fall due in the same minute.

Runs the real core (SQLite on disk, encryption, the durable outbox) on the fake clock, with an
outbox sink that only counts. Prints the core's time per posted question (median, p99), the total,
and peak RSS. Figures only: nothing here asserts a timing.

    .venv/bin/python -m bench.questions [--communities 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alongside.settings import load_settings
from bot.app import App
from bot.clock import FakeClock
from bot.context import Actor, CommunityRef, Invocation
from bot.replies import Delivery
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog

START = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def deliver(self, delivery: Delivery) -> None:
        self.count += 1


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(communities: int) -> None:
    settings = load_settings(None)
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(START)
        db = await Database.open(Path(folder) / "bench.db")
        timeline = Timeline()
        app = App(
            settings=settings,
            db=db,
            clock=clock,
            catalog=Catalog(settings.prompts_dir),
            cipher=FieldCipher(bytes(32)),
            timeline=timeline,
            seed=1,
        )
        sink = CountingSink()
        app.attach_sink(sink)
        driver = SimulatedDriver(timeline, clock)
        await app.start()

        setup_started = time.perf_counter()
        for n in range(communities):
            inv = Invocation(CommunityRef("bench", f"c{n}", f"c{n}"), Actor("f", "f", True), "circle")
            await app.handle_text(inv, "questions schedule daily 18:00", lambda _: None)
        setup_seconds = time.perf_counter() - setup_started

        timings: list[float] = []
        for job in timeline.jobs():
            original = job.run

            async def timed(instant: datetime, original=original) -> None:
                started = time.perf_counter()
                await original(instant)
                await app.deliver_pending()
                timings.append(time.perf_counter() - started)

            job.run = timed

        started = time.perf_counter()
        await driver.advance(timedelta(hours=1, minutes=1))
        total = time.perf_counter() - started
        await db.close()

    timings.sort()
    median_ms = statistics.median(timings) * 1000
    p99_ms = timings[int(len(timings) * 0.99) - 1] * 1000
    print(f"communities: {communities} (set-up {setup_seconds:.2f} s)")
    print(f"posts delivered: {sink.count}")
    print(f"per post (schedule job + outbox + delivery): median {median_ms:.3f} ms, p99 {p99_ms:.3f} ms")
    print(f"total for the minute: {total:.2f} s")
    print(f"peak RSS: {peak_rss_mb():.1f} MB")
    print("targets: median < 1 ms, peak RSS < 150 MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=1000)
    asyncio.run(main(parser.parse_args().communities))
