"""`alongside key rotate`: every encrypted value re-encrypted under a new data key, all or nothing.

The order makes a kill -9 at any moment recoverable, with exactly one key opening the database and
that key always on disk:

1. the new key is written whole to `<key file>.new` (and, for a key file, the old key is copied to
   `<key file>.old`) — the database still opens with the old key only;
2. one transaction re-encrypts every declared column (bot/storage/encrypted_columns.py), the check
   value included, and commits — from here the database opens with the new key only;
3. for a key file, `<key file>.new` is renamed over the key file (for ALONGSIDE_DATA_KEY the
   operator puts the new key into the environment; it stays in `.new` until the first start with
   it). A crash between 2 and 3 is finished at the next start (bot/storage/keycheck.py);
4. every value is read back with the new key, and only then is `<key file>.old` removed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.storage.crypto import (
    DataKeyError,
    FieldCipher,
    create_key_file,
    encode_key,
    generate_key_text,
    old_key_file,
    pending_key_file,
    read_key_file,
)
from bot.storage.db import Database
from bot.storage.files import sync_folder
from bot.storage.keycheck import (
    KeyResolver,
    Reader,
    StoreLock,
    encrypted_values,
    opens,
    present_columns,
    stored_check,
)

log = logging.getLogger(__name__)

_BATCH = 500


@dataclass
class Rotation:
    values: int
    columns: int
    # Set when the key came from ALONGSIDE_DATA_KEY: the new key, for the operator to put there.
    new_key_text: str | None
    key_file: Path


async def reencrypt(db: Database, old: FieldCipher, new: FieldCipher) -> tuple[int, int]:
    """Re-encrypt every declared value in one transaction; (values, columns holding any)."""
    count = 0
    columns = 0
    async with db.transaction() as tx:
        for column in await present_columns(tx):
            after = 0
            seen = 0
            while rows := await encrypted_values(tx, column, limit=_BATCH, after=after):
                for rowid, value, blobs, purpose in rows:
                    if not blobs:
                        continue
                    try:
                        fresh = [new.encrypt(old.decrypt(blob, purpose), purpose) for blob in blobs]
                    except DataKeyError:
                        raise DataKeyError(
                            f"a value in {column.table}.{column.column} (row {rowid}) does not decrypt with"
                            " the current key, so no key was rotated; nothing was changed"
                        ) from None
                    await tx.execute(
                        f"UPDATE {column.table} SET {column.column} = ? WHERE rowid = ?",
                        (column.layout.pack(value, fresh), rowid),
                    )
                    seen += len(blobs)
                after = rows[-1][0]
            count += seen
            columns += 1 if seen else 0
        # The old ciphertexts are overwritten (secure_delete) and must not linger in the WAL either.
        tx.request_checkpoint()
    return count, columns


async def undecryptable(db: Reader, key: bytes) -> list[str]:
    """Every declared value `key` does not open, as "table.column row N" (empty: all open)."""
    cipher = FieldCipher(key)
    bad = []
    check = await stored_check(db)
    if check is None or not opens(key, check):
        bad.append("key_check")
    for column in await present_columns(db):
        after = 0
        while rows := await encrypted_values(db, column, limit=_BATCH, after=after):
            for rowid, _, blobs, purpose in rows:
                for blob in blobs:
                    try:
                        cipher.decrypt(blob, purpose)
                    except DataKeyError:
                        bad.append(f"{column.table}.{column.column} row {rowid}")
            after = rows[-1][0]
    return bad


async def rotate(db_path: Path, env_key: str | None, key_file: Path, now: datetime) -> Rotation:
    if not db_path.exists():
        raise DataKeyError(f"there is no database at {db_path}: nothing to re-encrypt")
    lock = StoreLock(db_path)
    lock.acquire(exclusive=True)
    try:
        db = await Database.open(db_path)
        try:
            return await _rotate(db, db_path, env_key, key_file, now)
        finally:
            await db.close()
    finally:
        lock.release()


async def _rotate(db: Database, db_path: Path, env_key: str | None, key_file: Path, now: datetime) -> Rotation:
    resolver = KeyResolver(db_path, env_key, key_file)
    old_key = (await resolver.resolve(db, now)).key  # refuses a wrong key; finishes an interrupted rotation
    new_text = generate_key_text()
    pending = pending_key_file(key_file)
    create_key_file(pending, new_text, replace=True)
    new_key = read_key_file(pending)
    assert new_key is not None
    if env_key is None:
        create_key_file(old_key_file(key_file), encode_key(old_key), replace=True)
    values, columns = await reencrypt(db, FieldCipher(old_key), FieldCipher(new_key))
    log.info("re-encrypted %d values in %d columns under a new data key", values, columns)
    if env_key is None:
        os.replace(pending, key_file)
        sync_folder(key_file.parent)
        if read_key_file(key_file) != new_key:
            raise DataKeyError(f"the key file {key_file} could not be replaced; the new key is in {pending}")
    bad = await undecryptable(db, new_key)
    if bad:  # never expected: the transaction wrote these values itself
        raise DataKeyError(f"after rotation {len(bad)} values do not decrypt (first: {bad[0]}); the old key is kept")
    if env_key is None:
        old_key_file(key_file).unlink(missing_ok=True)
        sync_folder(key_file.parent)
    return Rotation(values, columns, new_text if env_key is not None else None, key_file)
