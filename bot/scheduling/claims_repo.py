"""Storage for work claims (migration 0020): every statement on `work_claims` lives here."""

from __future__ import annotations

from bot.storage.communities import Reader
from bot.storage.db import Tx


class ClaimsRepo:
    async def claim(self, tx: Tx, job_key: str, owner: str, now_iso: str) -> str:
        """Take the job's row for the rest of `tx` (waiting while another process's transaction
        holds it) and return who ran the job before ('' the first time).

        Portable on purpose: the UPDATE takes SQLite's write lock (already held: transactions
        begin IMMEDIATE) or PostgreSQL's row lock, held until `tx` ends. On PostgreSQL an UPDATE
        waiting for the row re-reads it once the holder commits, so no run is lost in between;
        if the holder's connection dies (kill -9) its transaction rolls back and the lock goes."""
        await tx.execute(
            "INSERT INTO work_claims (job_key, owner, last_owner, runs, claimed_at) VALUES (?, '', '', 0, ?)"
            " ON CONFLICT (job_key) DO NOTHING",
            (job_key, now_iso),
        )
        # On the right of SET every column still has its old value (both engines), so
        # last_owner becomes whoever ran the job before this claim.
        await tx.execute(
            "UPDATE work_claims SET last_owner = owner, owner = ?, runs = runs + 1, claimed_at = ? WHERE job_key = ?",
            (owner, now_iso, job_key),
        )
        row = await tx.fetchone("SELECT last_owner FROM work_claims WHERE job_key = ?", (job_key,))
        return str(row[0]) if row is not None else ""

    async def runs(self, db: Reader, job_key: str) -> int:
        """How many times the job has been claimed (tests and benchmarks)."""
        row = await db.fetchone("SELECT runs FROM work_claims WHERE job_key = ?", (job_key,))
        return int(row[0]) if row is not None else 0
