"""Jobs that fall due, and the two drivers that run them.

A job says when it next fires after an instant and what to run then. Features put their jobs on
the Timeline (rebuilt from their own tables at start). The SimulatedDriver runs them on a fake
clock, in order, as the console's /clock or a test advances time; the RealtimeDriver hands them to
APScheduler's AsyncIOScheduler. Jobs must be idempotent by slot: they record what they did under a
slot key, so a second run for the same slot does nothing.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from apscheduler.triggers.base import BaseTrigger

from bot.clock import Clock, FakeClock

if TYPE_CHECKING:
    from bot.scheduling.claims import WorkClaims

log = logging.getLogger(__name__)


@dataclass
class Job:
    key: str
    # The first instant strictly after `after` when this job should run, or None for never.
    next_fire: Callable[[datetime], datetime | None]
    # Runs the job for the instant it fell due at (the driver's clock reads that instant).
    run: Callable[[datetime], Awaitable[None]]
    # Reads again from storage what the job keeps in memory; called before a run when another
    # process sharing the store ran the job last (bot/scheduling/claims.py).
    refresh: Callable[[], Awaitable[None]] | None = None


class Driver(Protocol):
    def job_changed(self, job: Job) -> None: ...
    def job_removed(self, key: str) -> None: ...


class Timeline:
    def __init__(self, claims: WorkClaims | None = None) -> None:
        self._jobs: dict[str, Job] = {}
        self._drivers: list[Driver] = []
        # With claims, every run is claimed in the database first (several processes, one store).
        self.claims = claims

    async def run(self, job: Job, instant: datetime) -> None:
        """Run `job` for `instant`: what the drivers call, and the features' catch-up at start."""
        if self.claims is None:
            await job.run(instant)
        else:
            await self.claims.run(job, instant)

    async def run_key(self, key: str, instant: datetime) -> None:
        job = self._jobs.get(key)
        if job is not None:
            await self.run(job, instant)

    def attach(self, driver: Driver) -> None:
        self._drivers.append(driver)
        for job in self._jobs.values():
            driver.job_changed(job)

    def put(self, job: Job) -> None:
        self._jobs[job.key] = job
        for driver in self._drivers:
            driver.job_changed(job)

    def remove(self, key: str) -> None:
        if self._jobs.pop(key, None) is not None:
            for driver in self._drivers:
                driver.job_removed(key)

    def get(self, key: str) -> Job | None:
        return self._jobs.get(key)

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())


class SimulatedDriver:
    """Runs due jobs on a FakeClock, earliest first, as time is advanced.

    Due times are kept in a heap; an entry is re-checked against the job when it comes up, and
    Timeline.put (which every change of a job's timing goes through) pushes a fresh one."""

    def __init__(self, timeline: Timeline, clock: FakeClock) -> None:
        self._timeline = timeline
        self._clock = clock
        self._cursor: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str, int]] = []
        self._pushes = 0
        timeline.attach(self)

    def _push(self, key: str) -> None:
        job = self._timeline.get(key)
        if job is None:
            return
        fire = job.next_fire(self._cursor[key])
        if fire is not None:
            self._pushes += 1
            heapq.heappush(self._heap, (fire, key, self._pushes))

    def job_changed(self, job: Job) -> None:
        self._cursor[job.key] = self._clock.now()
        self._push(job.key)

    def job_removed(self, key: str) -> None:
        self._cursor.pop(key, None)

    async def advance_to(self, target: datetime, after_each: Callable[[], Awaitable[None]] | None = None) -> int:
        """Move the clock to `target`, running every job due on the way. Returns jobs run."""
        ran = 0
        while self._heap and self._heap[0][0] <= target:
            fire, key, _ = heapq.heappop(self._heap)
            job = self._timeline.get(key)
            if job is None or key not in self._cursor:
                continue
            # Stale entry (the job was re-put or already ran past it): skip it.
            if job.next_fire(self._cursor[key]) != fire:
                continue
            self._clock.set(fire)
            self._cursor[key] = fire
            await self._timeline.run(job, fire)
            ran += 1
            self._push(key)
            if after_each is not None:
                await after_each()
        self._clock.set(target)
        return ran

    async def advance(self, delta: timedelta, after_each: Callable[[], Awaitable[None]] | None = None) -> int:
        return await self.advance_to(self._clock.now() + delta, after_each)


class RealtimeDriver:
    """Hands Timeline jobs to APScheduler 3's AsyncIOScheduler (real time)."""

    def __init__(
        self,
        timeline: Timeline,
        clock: Clock,
        grace: timedelta,
        after_each: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self._timeline = timeline
        self._clock = clock
        self._grace = grace
        self._after_each = after_each
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._started = False

    def start(self) -> None:
        self._scheduler.start()
        self._started = True
        self._timeline.attach(self)

    def every(self, seconds: int, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` every `seconds` (a process's upkeep when it shares the store)."""

        async def run() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic upkeep failed; it runs again in %s seconds", seconds)

        self._scheduler.add_job(run, "interval", seconds=seconds, id=f"upkeep:{id(work)}", coalesce=True, max_instances=1)

    def shutdown(self) -> None:
        if self._started:
            self._scheduler.shutdown(wait=False)
            self._started = False

    def job_changed(self, job: Job) -> None:
        self._scheduler.add_job(
            self._run,
            trigger=_JobTrigger(job),
            args=(job.key,),
            id=job.key,
            replace_existing=True,
            misfire_grace_time=int(self._grace.total_seconds()) or 1,
            coalesce=True,
            max_instances=1,
        )

    def job_removed(self, key: str) -> None:
        try:
            self._scheduler.remove_job(key)
        except Exception:  # already gone (a one-off job that fired)
            pass

    async def _run(self, key: str) -> None:
        job = self._timeline.get(key)
        if job is None:
            return
        try:
            await self._timeline.run(job, self._clock.now())
            if self._after_each is not None:
                await self._after_each()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled job %s failed; it will run again at its next slot", key)


class _JobTrigger(BaseTrigger):
    """An APScheduler trigger that asks our Job when it next fires."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        after = previous_fire_time if previous_fire_time is not None else now
        return self._job.next_fire(max(after, now - timedelta(microseconds=1)))

    def __getstate__(self) -> dict[str, str]:  # never persisted: jobs are rebuilt from our tables
        return {}
