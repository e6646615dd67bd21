"""Rows the retention purge deletes routinely (pairs, whole agreements) are found through an index
by every foreign key that points at them, so deleting one never scans a whole table."""

from __future__ import annotations

from bot.storage.db import Database

PURGED = {"pairs", "pair_rounds", "agreements"}


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
    await db.execute("PRAGMA foreign_keys=ON")
    plan = [row[3] for row in await db.fetchall("EXPLAIN QUERY PLAN DELETE FROM pairs WHERE id = 1")]
    await db.close()
    assert plan and not [step for step in plan if step.startswith("SCAN")], plan
