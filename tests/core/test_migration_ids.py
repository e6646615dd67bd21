"""Migration 0008: every table with an integer row id is rebuilt with AUTOINCREMENT without losing
a row or a foreign key, and not-with entries from before it are turned into keyed hashes the first
time they are read (or dropped when the row id they name now belongs to a newcomer)."""

from __future__ import annotations

import sqlite3

from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from tests.core.pairing.helpers import groups
from tests.harness import TEST_KEY, make_harness

T0 = "2026-01-01T09:00:00+00:00"
LATER = "2026-01-03T09:00:00+00:00"
CONSENTED = "2026-01-01T09:00:00+00:00"


async def old_database(path, cipher: FieldCipher) -> dict[str, int]:
    """A version-6 database: ann has bo on her list, and an entry naming a member row id that a
    newcomer (cy, created after the entry) was given after its first owner erased their data."""
    old = await Database.open(path, target_version=6)
    async with old.transaction() as tx:
        community = await tx.execute(
            "INSERT INTO communities (platform, external_id, locale, timezone, created_at)"
            " VALUES ('console', 'demo', 'en', 'UTC', ?)",
            (T0,),
        )
        ids = {}
        for name, created in (("alex", T0), ("ann", T0), ("bo", T0), ("cy", LATER)):
            ids[name] = await tx.execute(
                "INSERT INTO members (community_id, platform_user_id, display_name, created_at)"
                " VALUES (?, ?, ?, ?)",
                (community, name, name, created),
            )
        for who, other in (("ann", ids["bo"]), ("ann", ids["cy"])):
            await tx.execute(
                "INSERT INTO pair_not_with (community_id, member_id, other_enc, created_at)"
                " VALUES (?, ?, ?, ?)",
                (community, ids[who], cipher.encrypt(str(other), "pairing.not_with"), CONSENTED),
            )
        round_id = await tx.execute(
            "INSERT INTO pair_rounds (community_id, number, slot_key, state, starts_at, midpoint_at,"
            " ends_at, created_at) VALUES (?, 1, 'r:1:x', 'closed', ?, ?, ?, ?)",
            (community, T0, T0, T0, T0),
        )
        pair_id = await tx.execute(
            "INSERT INTO pairs (community_id, round_id, space_key, size, state, created_at)"
            " VALUES (?, ?, 'pair-1-1', 2, 'closed', ?)",
            (community, round_id, T0),
        )
        for name in ("ann", "cy"):
            await tx.execute(
                "INSERT INTO pair_members (pair_id, member_id) VALUES (?, ?)", (pair_id, ids[name])
            )
    await old.close()
    return ids


def counts(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables if t != "sqlite_sequence"}
    finally:
        conn.close()


async def test_rebuild_keeps_every_row_and_foreign_key(tmp_path):
    path = tmp_path / "alongside.db"
    ids = await old_database(path, FieldCipher(TEST_KEY))
    before = counts(path)
    db = await Database.open(path)
    try:
        after = counts(path)
        assert all(after[t] == n for t, n in before.items() if t != "schema_version"), (before, after)
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        # Children still point at the rebuilt tables (a rename must not leave them dangling).
        for table, parent in (("pair_members", "members"), ("pair_members", "pairs"), ("pairs", "pair_rounds")):
            targets = {row[2] for row in await db.fetchall(f"PRAGMA foreign_key_list({table})")}
            assert parent in targets, (table, targets)
        # Deleting a member cascades as before, and the freed id is never handed out again.
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM members WHERE id = ?", (ids["cy"],))
            assert (await tx.fetchone("SELECT COUNT(*) FROM pair_members"))[0] == 1
            fresh = await tx.execute(
                "INSERT INTO members (community_id, platform_user_id, created_at) VALUES (1, 'dee', ?)",
                (LATER,),
            )
        assert fresh > ids["cy"]
    finally:
        await db.close()


async def test_old_not_with_entries_become_hashes_or_go(tmp_path):
    await old_database(tmp_path / "alongside.db", FieldCipher(TEST_KEY))
    h = await make_harness(tmp_path)
    try:
        conn = sqlite3.connect(h.path)
        conn.execute("INSERT INTO pair_communities (community_id, updated_at) VALUES (1, ?)", (T0,))
        for member in (2, 3, 4):  # ann, bo and cy are in pairing
            conn.execute(
                "INSERT INTO pair_participants (community_id, member_id, status, consent_version,"
                " joined_at, last_active_at) VALUES (1, ?, 'active', ?, ?, ?)",
                (member, h.app.pairing.rounds.consent_version(await h.app.communities.get(h.db, 1)), T0, T0),
            )
        conn.commit()
        conn.close()
        for _ in range(3):
            h.sink.take()
            await h.say("alex", "pair now")
            made = groups(h.sink.take())
            assert not any({"ann", "bo"} <= group for group in made), made
            await h.advance(h.app.pairing.rounds.round_length(1, h.clock.now()))
        rows = await h.db.fetchall("SELECT other_hash, other_enc FROM pair_not_with")
        # ann's entry on bo became a hash; the one naming cy's recycled id is gone.
        assert len(rows) == 1 and rows[0][1] is None and len(rows[0][0]) == 64
        assert "already on your not-with list" in await h.say("ann", "pair not-with @bo", channel=None)
    finally:
        await h.close()
