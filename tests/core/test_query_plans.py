"""Statements find their rows through an index: nothing a command or a scheduled job runs scans a
table that grows with use (bench/soak.py found several that did, each costing more every week).

A flow through every feature records each statement the core sends to SQLite; each is then
explained against the resulting database. Start-up reads and the daily retention purge (which
deletes by age, and runs once a day) are the only statements allowed to scan."""

from __future__ import annotations

import re
from datetime import timedelta

import aiosqlite

from bot.storage.db import Database, _split_sql, available_migrations

# Rows the retention purge deletes routinely: every foreign key pointing at them needs an index.
PURGED = {"pairs", "pair_rounds", "agreements"}

# Tables with a handful of rows per community (or per deployment): scanning them is fine.
SMALL = {
    "communities", "schema_version", "question_schedules", "pair_communities", "space_agreements",
    "sqlite_sequence", "adapter_state",
}

# Statements that may scan: start-up reads, the daily purge by age, and the erasure of a member
# (`mydata forget`: rare, confirmed by the member; its cascade reads about fifteen tables).
ALLOWED = re.compile(
    "|".join(
        [
            r"SELECT id FROM agreements WHERE status = 'withdrawn' OR",  # start-up
            r"SELECT .* FROM space_agreement_changes WHERE status = 'open'$",  # start-up
            r"SELECT id FROM agreements WHERE status = 'withdrawn' AND purge_after",  # daily purge
            r"DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <",  # daily purge
            r"DELETE FROM confirmations WHERE expires_at <",  # daily purge
            r"DELETE FROM question_suggestions WHERE status = 'declined' AND decided_at <",  # daily
            r"DELETE FROM seen_events WHERE seen_at <",  # daily purge
            r"DELETE FROM members WHERE id = \?",  # mydata forget
        ]
    )
)


async def leading_columns(db: Database, table: str) -> set[str]:
    leading = set()
    for index in await db.fetchall(f"PRAGMA index_list({table})"):
        columns = await db.fetchall(f"PRAGMA index_info({index[1]})")
        if columns:
            leading.add(columns[0][2])
    primary = [row for row in await db.fetchall(f"PRAGMA table_info({table})") if row[5] == 1]
    if primary:
        leading.add(primary[0][1])
    return leading


async def test_every_foreign_key_to_purged_rows_has_an_index(tmp_path):
    db = await Database.open(tmp_path / "schema.db")
    missing = []
    for (table,) in await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        leading = await leading_columns(db, table)
        for key in await db.fetchall(f"PRAGMA foreign_key_list({table})"):
            if key[2] in PURGED and key[3] not in leading:
                missing.append(f"{table}.{key[3]} -> {key[2]}")
    await db.close()
    assert missing == []


async def test_deleting_a_pair_scans_no_table(tmp_path):
    db = await Database.open(tmp_path / "plan.db")
    plan = [row[3] for row in await db.fetchall("EXPLAIN QUERY PLAN DELETE FROM pairs WHERE id = 1")]
    await db.close()
    assert plan and not [step for step in plan if step.startswith("SCAN")], plan


class Recorder:
    def __init__(self) -> None:
        self.statements: dict[str, tuple] = {}

    def note(self, sql: str, parameters) -> None:
        text = " ".join(sql.split())
        if re.match(r"^(SELECT|UPDATE|DELETE|INSERT)\b", text, re.I) and text not in self.statements:
            self.statements[text] = tuple(parameters or ())


async def test_no_statement_of_a_whole_flow_scans_a_growing_table(tmp_path, monkeypatch):
    recorder = Recorder()
    execute, fetchall = aiosqlite.Connection.execute, aiosqlite.Connection.execute_fetchall

    async def recording_execute(self, sql, parameters=None):
        recorder.note(sql, parameters)
        return await execute(self, sql, parameters)

    async def recording_fetchall(self, sql, parameters=None):
        recorder.note(sql, parameters)
        return await fetchall(self, sql, parameters)

    monkeypatch.setattr(aiosqlite.Connection, "execute", recording_execute)
    monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", recording_fetchall)

    from tests.harness import make_harness

    h = await make_harness(tmp_path)
    try:
        await run_flow(h)
        scans = []
        # Migrations run once per database (and may name tables they have since renamed).
        migrating = {" ".join(st.split()) for _, _, sql in available_migrations() for st in _split_sql(sql)}
        for sql, parameters in recorder.statements.items():
            if ALLOWED.match(sql) or sql in migrating:
                continue
            plan = await h.db.fetchall("EXPLAIN QUERY PLAN " + sql, parameters)
            for step in (row[3] for row in plan):
                found = re.match(r"SCAN (\w+)", step)
                if found and found.group(1) not in SMALL and "USING INDEX outbox_pending" not in step:
                    scans.append(f"{step}: {sql[:120]}")
    finally:
        await h.close()
    assert len(recorder.statements) > 100  # the flow did reach every feature
    assert scans == []


async def run_flow(h) -> None:
    """Every feature once or twice: questions, suggestions, pairing rounds with check-ins, a pair
    agreement from start to withdrawal, the space agreement, mydata, retention."""
    people = ["sam", "jo", "rin", "kai", "lee"]
    for user in ("alex", *people):
        await h.app.context(h.inv(user))
    await h.run("alex", "/questions schedule daily 18:00")
    await h.run("alex", "/pair schedule weekly mon 10:00")
    await h.run("alex", "/space-agreement draft")
    for user in people:
        await h.run(user, "/pair join", None)
        await h.run(user, "/yes", None)
    await h.run("sam", "/questions suggest What did you notice about yourself this week?")
    await h.run("jo", "/questions suggest What are you moving towards this month?")
    await h.run("alex", "/questions review")
    await h.run("alex", "/questions approve 1 connection")
    await h.run("alex", "/questions decline 2 Thank you")
    await h.run("alex", "/questions now")
    await h.run("alex", "/questions status")
    await h.advance(timedelta(days=1, hours=2))
    await h.run("sam", "/pair status", None)
    await h.run("sam", "/pair not-with @jo", None)
    await h.run("sam", "/agreement start @rin", None)
    await h.run("rin", "/yes", None)
    await h.run("sam", "/agreement edit 1 Being heard without being fixed.", None)
    await h.run("rin", "/agreement edit 2 I go quiet.", None)
    await h.run("sam", "/agreement propose", None)
    await h.run("rin", "/agreement amend 3 A walk helps.", None)
    await h.run("sam", "/agreement accept v2", None)
    await h.run("sam", "/agreement view", None)
    await h.run("sam", "/agreement history", None)
    await h.run("rin", "/agreement revisit", None)
    await h.run("sam", "/space-agreement propose talk We ask before offering a suggestion.")
    await h.run("jo", "/space-agreement agree 1")
    await h.run("rin", "/space-agreement object 1 I'd like to talk about it first.")
    await h.run("sam", "/space-agreement changes")
    await h.run("sam", "/space-agreement show")
    await h.advance(timedelta(days=3, hours=12))
    for user in people:
        await h.run(user, "/checkin", None)
        await h.run(user, "/checkin 4", None)
        await h.run(user, "/checkin share It was good to talk.", None)
    await h.run("kai", "/pair pause 3", None)
    await h.run("lee", "/pair end", None)
    await h.run("alex", "/pair stats")
    await h.run("sam", "/resources")
    await h.run("sam", "/help pair")
    await h.run("sam", "/mydata export", None)
    await h.run("rin", "/agreement withdraw", None)
    await h.run("lee", "/mydata forget", None)
    await h.run("lee", "/yes", None)
    await h.advance(timedelta(days=3))
    await h.run("kai", "/pair resume", None)
    await h.run("jo", "/pair leave", None)
    await h.advance(timedelta(days=40))
