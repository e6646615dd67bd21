"""Keyed hashes of identities (FieldCipher.blind and bot/storage/blinding.py)."""

import os

import pytest

from bot.storage.blinding import sealed_secret
from bot.storage.crypto import BLINDING_SECRET_PURPOSE, DataKeyError, FieldCipher
from bot.storage.db import Database
from tests.harness import START, store_location


def test_blind_is_stable_keyed_and_bound_to_its_purpose():
    cipher = FieldCipher(os.urandom(32))
    sealed = cipher.encrypt("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXM", BLINDING_SECRET_PURPOSE)
    first = cipher.blind("1\x1fsam", "pairing.not_with.identity", sealed)
    assert first == cipher.blind("1\x1fsam", "pairing.not_with.identity", sealed)
    assert len(first) == 32 and b"sam" not in first
    assert first != cipher.blind("1\x1fjo", "pairing.not_with.identity", sealed)
    assert first != cipher.blind("1\x1fsam", "another.purpose", sealed)
    other = cipher.encrypt("b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI", BLINDING_SECRET_PURPOSE)
    assert first != cipher.blind("1\x1fsam", "pairing.not_with.identity", other)
    # Without the data key the sealed secret does not open, so no hash can be made or checked.
    with pytest.raises(DataKeyError):
        FieldCipher(os.urandom(32)).blind("1\x1fsam", "pairing.not_with.identity", sealed)


def test_hashes_survive_re_encrypting_the_secret_under_a_new_key():
    """What `alongside key rotate` does to blinding_secrets.secret_enc: the hashes stay valid."""
    old, new = FieldCipher(os.urandom(32)), FieldCipher(os.urandom(32))
    sealed = old.encrypt("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXM", BLINDING_SECRET_PURPOSE)
    resealed = new.encrypt(old.decrypt(sealed, BLINDING_SECRET_PURPOSE), BLINDING_SECRET_PURPOSE)
    purpose = "pairing.not_with.identity"
    assert old.blind("1\x1fsam", purpose, sealed) == new.blind("1\x1fsam", purpose, resealed)


async def test_the_secret_is_made_once_and_stored_encrypted(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    cipher = FieldCipher(os.urandom(32))
    try:
        async with db.transaction() as tx:
            first = await sealed_secret(tx, cipher, START)
        async with db.transaction() as tx:
            assert await sealed_secret(tx, cipher, START) == first
        rows = await db.fetchall("SELECT name, secret_enc FROM blinding_secrets")
        assert [r[0] for r in rows] == ["identity"] and bytes(rows[0][1])[:1] == b"\x01"
        assert len(cipher.decrypt(bytes(rows[0][1]), BLINDING_SECRET_PURPOSE)) >= 43
    finally:
        await db.close()
