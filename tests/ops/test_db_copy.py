"""`alongside db copy` (issue 19): a lived-in SQLite store to PostgreSQL and back, every table's
row count and content hash checked, encrypted fields copied as they are."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from bot.storage.copying import CopyRefused, content_hash, copy_tables, tables_in_order
from bot.storage.db import open_database
from tests.core.pairing.helpers import join
from tests.e2e.console import ROOT
from tests.harness import make_harness


async def lived_in(tmp_path) -> str:  # type: ignore[no-untyped-def]
    h = await make_harness(tmp_path)
    await h.run("alex", "questions schedule daily 10:00")
    await h.run("sam", "questions suggest What helps you notice what you need?")
    await join(h, "alex", "sam", "kim", "lee", "ari")
    await h.run("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(days=10))
    await h.run("sam", "agreement start @kim")
    await h.close()
    return str(h.path)


async def test_copy_to_postgresql_and_back_keeps_every_row(tmp_path, pg_url):
    source = await lived_in(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "alongside", "db", "copy", "--from", f"sqlite:{source}", "--to", pg_url],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "every row count and content hash matches" in result.stdout
    assert "question_postings" in result.stdout and "outbox" in result.stdout
    back = str(tmp_path / "back.db")
    src, pg, again = await open_database(source), await open_database(pg_url), await open_database(back)
    try:
        checks = await copy_tables(pg, again)
        assert checks and all(check.same for check in checks)
        tables = await tables_in_order(src)
        assert {"communities", "outbox", "pair_rounds", "question_postings", "work_claims"} <= set(tables)
        for check in checks:
            names = [row["name"] for row in await src.fetchall(f"SELECT name FROM pragma_table_info('{check.table}')")]
            # The round trip gives back exactly what the first store held, ciphertext included.
            assert await content_hash(src, check.table, names) == check.target_hash, check.table
        rows = await src.fetchone("SELECT COUNT(*) FROM question_postings")
        assert rows is not None and rows[0] >= 10
        # Ids go on after the copied ones on PostgreSQL (they are never reused).
        async with pg.transaction() as tx:
            new = await tx.execute(
                "INSERT INTO communities (platform, external_id, locale, timezone, created_at)"
                " VALUES ('console', 'new', 'en', 'UTC', 'now')"
            )
        top = await src.fetchone("SELECT MAX(id) FROM communities")
        assert top is not None and new > top[0]
        # A target holding data is refused, and nothing changes.
        try:
            await copy_tables(src, pg)
        except CopyRefused as refusal:
            assert "already holds data" in str(refusal)
        else:
            raise AssertionError("a non-empty target was not refused")
        assert await content_hash(pg, "communities", ["id", "external_id"]) != await content_hash(src, "communities", ["id", "external_id"])
        # ...unless told to replace it.
        assert all(check.same for check in await copy_tables(src, pg, replace=True))
    finally:
        for db in (src, pg, again):
            await db.close()
