"""Claiming scheduled work in the database, so several processes can share one store.

Every process builds the same Timeline from the features' tables and its driver fires every job,
so with three processes each slot falls due three times. Each run goes through `WorkClaims.run`:
one transaction that first claims the job's row in `work_claims` (`ClaimsRepo.claim`) and then
runs the job inside it (the job's own transactions become savepoints). The claim is a lock held
until that transaction ends: SQLite's single writer, PostgreSQL's row lock. So runs of one job
never overlap, and the job's effects and the claim commit together or not at all. The second
process to get there finds the slot's work recorded (jobs are idempotent by slot key) and does
nothing.

The lease is the transaction itself. A process killed mid-job (kill -9) loses its connection;
PostgreSQL rolls its transaction back and releases the row at once (SQLite: the kernel drops the
file lock and the unfinished WAL frames are never read), and the next process whose driver fires
the job runs it from a clean state. A separate lease row with an expiry would leave a window where
the work is done but the claim not released (or the reverse); a session-bound lock has none. A
host that vanishes without closing its connection is bounded by PostgreSQL's TCP keepalives
(docs/architecture.md, "Several processes").

When the previous run was another process's, that process may have changed what this one holds
in memory (a question rotation, a round's midpoint): the job's `refresh` reads it again first.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.scheduling.claims_repo import ClaimsRepo

if TYPE_CHECKING:
    from bot.scheduling.timeline import Job
    from bot.storage.db import Database


class WorkClaims:
    def __init__(self, db: Database, instance: str) -> None:
        self._db = db
        self.instance = instance
        self._repo = ClaimsRepo()

    async def run(self, job: Job, instant: datetime) -> None:
        async with self._db.transaction() as tx:
            previous = await self._repo.claim(tx, job.key, self.instance, instant.isoformat())
            if previous and previous != self.instance and job.refresh is not None:
                await job.refresh()
            await job.run(instant)

    async def runs(self, job_key: str) -> int:
        return await self._repo.runs(self._db, job_key)
