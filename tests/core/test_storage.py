import os
import sqlite3
import stat

import pytest

from bot.storage.crypto import DataKeyError, FieldCipher, generate_key_text, load_or_create_key
from bot.storage.db import Database, available_migrations
from tests.harness import store_location, stored_bytes


async def test_fresh_database_is_migrated_with_wal_and_foreign_keys(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    assert await db.schema_version() == available_migrations()[-1][0]
    if store.engine == "sqlite":  # PostgreSQL has no journal mode to choose and always checks keys
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    assert await db.migrate() == []  # idempotent
    await db.close()


@pytest.mark.parametrize("version", [0, *[v for v, _, _ in available_migrations()][:-1]])
async def test_migrates_from_every_earlier_version(tmp_path, version, store):
    path = await store_location(tmp_path, "old.db", empty=True)
    old = await Database.open(path, target_version=version)
    assert await old.schema_version() == version
    if version >= 1:
        async with old.transaction() as tx:
            await tx.execute(
                "INSERT INTO communities (platform, external_id, locale, timezone, created_at)"
                " VALUES ('console', 'demo', 'en', 'UTC', '2026-01-01')"
            )
    await old.close()
    db = await Database.open(path)
    assert await db.schema_version() == available_migrations()[-1][0]
    if version >= 1:
        assert (await db.fetchone("SELECT COUNT(*) FROM communities"))[0] == 1
    await db.close()


async def test_a_failed_transaction_changes_nothing(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO communities (platform, external_id, locale, timezone, created_at)"
                " VALUES ('console', 'x', 'en', 'UTC', 'now')"
            )
            raise RuntimeError("boom")
    assert (await db.fetchone("SELECT COUNT(*) FROM communities"))[0] == 0
    await db.close()


def test_cipher_round_trip_and_purpose_binding():
    cipher = FieldCipher(os.urandom(32))
    blob = cipher.encrypt("what helps me", "agreement.section")
    assert b"what helps me" not in blob
    assert cipher.decrypt(blob, "agreement.section") == "what helps me"
    with pytest.raises(DataKeyError):
        cipher.decrypt(blob, "suggestion.text")
    with pytest.raises(DataKeyError):
        FieldCipher(os.urandom(32)).decrypt(blob, "agreement.section")


def test_key_file_created_once_with_mode_0600(tmp_path):
    key_file = tmp_path / "data" / "alongside.db.key"
    first = load_or_create_key(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key(None, key_file) == first
    assert load_or_create_key(generate_key_text(), key_file) != first  # the environment wins
    with pytest.raises(DataKeyError):
        load_or_create_key("not-a-key", key_file)


async def test_key_never_inside_the_database(tmp_path, store):
    from tests.harness import make_harness

    h = await make_harness(tmp_path)
    await h.run("sam", "/questions suggest What is something you learned from a friend this year?")
    await h.close()
    raw = await stored_bytes(h.location)
    assert bytes(range(32)) not in raw
    assert b"learned from a friend" not in raw
    if store.engine == "sqlite":
        conn = sqlite3.connect(tmp_path / "alongside.db")
        assert conn.execute("SELECT COUNT(*) FROM question_suggestions WHERE text_enc IS NOT NULL").fetchone()[0] == 1
        conn.close()
    else:
        db = await Database.open(h.location)
        assert (await db.fetchone("SELECT COUNT(*) FROM question_suggestions WHERE text_enc IS NOT NULL"))[0] == 1
        await db.close()
