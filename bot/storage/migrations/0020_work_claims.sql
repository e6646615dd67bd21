-- Several processes, one store (issue 19). Portable SQL: SQLite and PostgreSQL both run it.
--
-- One row per scheduled job (a community's question slots, its pairing rounds, the agreement
-- reminders, the space agreement's consent rounds, retention). A process claims the job by
-- updating its row inside the transaction that runs the job: the row stays locked until that
-- transaction ends (SQLite: its one writer; PostgreSQL: the row lock), so two processes never
-- run the same job at once, and a process killed mid-job loses its claim with its connection.
-- owner/last_owner tell a process that another one ran the job since it did (its cached view
-- of the job is then read again from storage before it runs).
CREATE TABLE work_claims (
    job_key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    last_owner TEXT NOT NULL DEFAULT '',
    runs BIGINT NOT NULL DEFAULT 0,
    claimed_at TEXT NOT NULL
);

-- Outbox rows are claimed one at a time, just before delivery, by the process that owns the
-- destination's platform connection: claimed_by names that process (its instance name), and
-- lease_until (milliseconds since the epoch, wall time) is when another process may take the
-- row over if it is still unsent (its sender was killed mid-delivery).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
