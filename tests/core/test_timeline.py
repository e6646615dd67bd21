import asyncio
from datetime import UTC, datetime, timedelta

from bot.clock import FakeClock, SystemClock
from bot.scheduling.timeline import Job, RealtimeDriver, SimulatedDriver, Timeline

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def every(minutes, ran, name):
    def next_fire(after):
        step = timedelta(minutes=minutes)
        return START + ((after - START) // step + 1) * step

    async def run(instant):
        ran.append((name, instant))

    return Job(name, next_fire, run)


async def test_simulated_driver_runs_due_jobs_in_order():
    clock = FakeClock(START)
    timeline = Timeline()
    driver = SimulatedDriver(timeline, clock)
    ran = []
    timeline.put(every(30, ran, "a"))
    timeline.put(every(45, ran, "b"))
    assert await driver.advance(timedelta(hours=1, minutes=30)) == 5
    assert [(n, i.strftime("%H:%M")) for n, i in ran] == [
        ("a", "09:30"), ("b", "09:45"), ("a", "10:00"), ("a", "10:30"), ("b", "10:30"),
    ]
    assert clock.now() == START + timedelta(hours=1, minutes=30)
    timeline.remove("a")
    ran.clear()
    await driver.advance(timedelta(minutes=45))
    assert [n for n, _ in ran] == ["b"]


async def test_realtime_driver_runs_through_apscheduler():
    clock = SystemClock()
    timeline = Timeline()
    fired = asyncio.Event()
    seen = []

    async def run(instant):
        seen.append(instant)
        fired.set()

    soon = clock.now() + timedelta(milliseconds=300)
    timeline.put(Job("once", lambda after: soon if after < soon else None, run))
    driver = RealtimeDriver(timeline, clock, grace=timedelta(minutes=1))
    driver.start()
    try:
        await asyncio.wait_for(fired.wait(), timeout=10)
    finally:
        driver.shutdown()
    assert len(seen) == 1 and seen[0] >= soon - timedelta(milliseconds=50)
