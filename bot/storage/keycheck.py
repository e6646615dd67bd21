"""Which data key opens a database, decided before anything is read or written with it.

The database keeps a check value: a fixed constant encrypted under the key (never the key). A start
whose key does not decrypt it refuses with one line naming what to fix, instead of running with a
wrong key (reads failing, new data written under a key the old data does not open). A key is only
ever made for an empty database; a missing key file beside stored data is an error, not a reason
for a new key. A database from before the check value gets one at its first start, and only if the
key decrypts what is already stored.

`alongside key rotate` (bot/storage/rotation.py) leaves a new key in `<key file>.new` between
committing the re-encrypted database and renaming it over the key file; a start that finds the
database opened by that pending key (and not by the key file) finishes the rename.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.storage.crypto import (
    DataKeyError,
    FieldCipher,
    create_key_file,
    decode_key,
    old_key_file,
    pending_key_file,
    read_key_file,
)
from bot.storage.db import Database, Tx
from bot.storage.encrypted_columns import ENCRYPTED_COLUMNS, KEY_CHECK_PURPOSE, EncryptedColumn
from bot.storage.files import (
    PRIVATE_FILE,
    exposed,
    exposure_warning,
    make_private_folder,
    sync_folder,
)
from bot.storage.sql_dialect import POSTGRESQL

log = logging.getLogger(__name__)

KEY_CHECK_TEXT = "alongside data key check v1"
ENV_VAR = "ALONGSIDE_DATA_KEY"
# Tables that say nothing about whether members' data is stored.
_BOOKKEEPING = ("schema_version", "key_check", "sqlite_sequence")


Reader = Database | Tx


def check_value(cipher: FieldCipher) -> bytes:
    return cipher.encrypt(KEY_CHECK_TEXT, KEY_CHECK_PURPOSE)


def opens(key: bytes, check: bytes) -> bool:
    try:
        return FieldCipher(key).decrypt(check, KEY_CHECK_PURPOSE) == KEY_CHECK_TEXT
    except DataKeyError:
        return False


async def _tables(db: Reader) -> dict[str, set[str]]:
    """Each table of the store and its columns (the engines keep their catalogues differently)."""
    tables: dict[str, set[str]] = {}
    if db.dialect.name == POSTGRESQL:
        for row in await db.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        ):
            tables.setdefault(row[0], set()).add(row[1])
        return tables
    for row in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        tables[row[0]] = {column[1] for column in await db.fetchall(f"PRAGMA table_info({row[0]})")}
    return tables


async def stored_check(db: Reader) -> bytes | None:
    if "key_check" not in await _tables(db):
        return None
    row = await db.fetchone("SELECT value FROM key_check WHERE id = 1")
    return None if row is None else bytes(row[0])


async def has_data(db: Reader) -> bool:
    """Whether any table holds a row (beyond schema bookkeeping)."""
    for table in await _tables(db):
        if table in _BOOKKEEPING or table.startswith("sqlite_"):
            continue
        if await db.fetchone(f"SELECT 1 FROM {table} LIMIT 1") is not None:
            return True
    return False


async def encrypted_values(
    db: Reader, column: EncryptedColumn, *, limit: int | None = None, after: int = 0
) -> list[tuple[int, Any, list[bytes], str]]:
    """(rowid, stored value, its ciphertexts, purpose) of rows holding `column`, by rowid."""
    extra = column.purpose_columns
    # PostgreSQL has no rowid: there a key check samples values (no paging; `key rotate`, which
    # pages by rowid, is SQLite's only).
    if db.dialect.name == POSTGRESQL:
        if after:
            raise ValueError("paging by rowid needs SQLite")
        rowid, paging, order, params = "0", "", "", ()
    else:
        rowid, paging, order, params = "rowid", " AND rowid > ?", " ORDER BY rowid", (after,)
    names = ", ".join([rowid, column.column, *extra])
    where = f"{column.column} IS NOT NULL{paging}" + (f" AND ({column.where})" if column.where else "")
    sql = f"SELECT {names} FROM {column.table} WHERE {where}{order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    found = []
    for row in await db.fetchall(sql, params):
        purpose = column.purpose_for({name: row[2 + i] for i, name in enumerate(extra)})
        found.append((int(row[0]), row[1], column.layout.unpack(row[1]), purpose))
    return found


async def present_columns(db: Reader) -> list[EncryptedColumn]:
    """The declared columns this database has (an older schema may lack some)."""
    tables = await _tables(db)
    return [c for c in ENCRYPTED_COLUMNS if c.column in tables.get(c.table, set())]


async def sample_opens(db: Reader, key: bytes, *, per_column: int = 3) -> bool:
    """Whether `key` decrypts a few stored values of every encrypted column (True if none)."""
    cipher = FieldCipher(key)
    for column in await present_columns(db):
        for _, _, blobs, purpose in await encrypted_values(db, column, limit=per_column):
            for blob in blobs:
                try:
                    cipher.decrypt(blob, purpose)
                except DataKeyError:
                    return False
    return True


@dataclass
class KeyChoice:
    """The key that opens a database, and what was done or is still to do to get there."""

    key: bytes
    notes: list[str] = field(default_factory=list)


class KeyResolver:
    """Finds the key for one database from the environment or the key file, refusing any key that
    does not open it. With `write=False` (alongside check) nothing is created, recorded or renamed."""

    def __init__(self, db_path: Path | str, env_key: str | None, key_file: Path, *, write: bool = True) -> None:
        # Named in messages only: a file, or a PostgreSQL url without its password.
        self.db_path = db_path
        self.env_key = env_key or None
        self.key_file = key_file
        self.pending = pending_key_file(key_file)
        self.old = old_key_file(key_file)
        self.write = write

    def validate(self) -> None:
        """Refuse a malformed key before anything (the database file included) is created."""
        if self.env_key is not None:
            decode_key(self.env_key, ENV_VAR)
        else:
            read_key_file(self.key_file)

    # -- the one-line refusals -----------------------------------------------------------------

    def _wrong_env(self) -> DataKeyError:
        return DataKeyError(
            f"{ENV_VAR} does not open the database {self.db_path}: set it to the key this database"
            " was made with (or restore the database that goes with this key); nothing was changed"
        )

    def _wrong_env_file_right(self) -> DataKeyError:
        return DataKeyError(
            f"{ENV_VAR} does not open the database {self.db_path}, but the key file {self.key_file}"
            f" does: unset {ENV_VAR} or set it to that file's key; nothing was changed"
        )

    def _rekeyed_env(self) -> DataKeyError:
        return DataKeyError(
            f"the database {self.db_path} was re-encrypted by `alongside key rotate`: set {ENV_VAR} to"
            f" the new key kept in {self.pending} (the file is removed at the first start with it)"
        )

    def _wrong_file(self) -> DataKeyError:
        return DataKeyError(
            f"the key file {self.key_file} does not open the database {self.db_path}: put back the"
            f" key file this database was made with (from your backup), or set {ENV_VAR} to that key;"
            " nothing was changed"
        )

    def _missing_file(self) -> DataKeyError:
        return DataKeyError(
            f"the database {self.db_path} holds data but its key file {self.key_file} is missing: put"
            f" the key file back from your backup, or set {ENV_VAR} to the key (a new key would not"
            " open the stored data, so none was made)"
        )

    # -- deciding --------------------------------------------------------------------------------

    async def resolve(self, db: Reader, now: datetime) -> KeyChoice:
        check = await stored_check(db)
        pending = self._read_optional(self.pending)
        if self.env_key is not None:
            key = decode_key(self.env_key, ENV_VAR)
            if check is not None:
                if opens(key, check):
                    return self._done(key, pending=pending)
                if pending is not None and opens(pending, check):
                    raise self._rekeyed_env()
                file_key = self._read_optional(self.key_file)
                if file_key is not None and opens(file_key, check):
                    raise self._wrong_env_file_right()
                raise self._wrong_env()
            if await sample_opens(db, key):
                return await self._record(db, key, now, pending=pending)
            raise self._wrong_env()

        file_key = read_key_file(self.key_file)
        if file_key is None:
            if check is not None and pending is not None and opens(pending, check):
                return await self._finish_rotation(pending)
            if check is None and not await has_data(db):
                if not self.write:
                    return KeyChoice(b"", [f"a new key file {self.key_file} is made at the first start"])
                key = create_key_file(self.key_file)
                log.info("made a new data key file for a new database")
                return await self._record(db, key, now, pending=pending)
            raise self._missing_file()
        if check is not None:
            if opens(file_key, check):
                return self._done(file_key, pending=pending)
            if pending is not None and opens(pending, check):
                return await self._finish_rotation(pending)
            raise self._wrong_file()
        if await sample_opens(db, file_key):
            return await self._record(db, file_key, now, pending=pending)
        raise self._wrong_file()

    def _read_optional(self, path: Path) -> bytes | None:
        """A key file that may be absent; a damaged one counts as absent (it is only a candidate)."""
        try:
            return read_key_file(path)
        except (DataKeyError, OSError):
            return None

    async def _record(self, db: Reader, key: bytes, now: datetime, *, pending: bytes | None) -> KeyChoice:
        if not self.write:
            return KeyChoice(key, ["the key check value is recorded at the next start"])
        assert isinstance(db, Database)
        await db.execute(
            "INSERT INTO key_check (id, value, created_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
            (check_value(FieldCipher(key)), now.isoformat()),
        )
        check = await stored_check(db)
        if check is None or not opens(key, check):
            raise DataKeyError(
                f"another process recorded a different data key for {self.db_path} at the same moment;"
                " start again"
            )
        log.info("recorded the data key's check value")
        return self._done(key, pending=pending)

    def _done(self, key: bytes, *, pending: bytes | None) -> KeyChoice:
        """The key opens the database: a pending key from a rotation that never committed, and the
        old key kept while one was confirmed, have no use any more."""
        choice = KeyChoice(key)
        leftovers = [path for path in (self.pending, self.old) if path.exists()]
        # Half-written copies of them, from a rotation killed while writing one (only a rotation,
        # which holds the lock exclusively, makes these: none can be in progress now).
        folder = self.key_file.parent
        for made in (self.pending, self.old):
            leftovers += sorted(folder.glob(f".{made.name}.*.tmp"))
        if not leftovers:
            return choice
        if not self.write:
            choice.notes.append(f"{', '.join(map(str, leftovers))}: no longer needed, removed at the next start")
            return choice
        for path in leftovers:
            path.unlink(missing_ok=True)
        sync_folder(self.key_file.parent)
        if pending is not None and pending == key:
            log.info("the key from `alongside key rotate` is in use; removed its pending copy")
        else:
            log.info("removed key files left over from an earlier `alongside key rotate`")
        return choice

    async def _finish_rotation(self, pending: bytes) -> KeyChoice:
        """The database was committed under the pending key but the key file was not yet replaced
        (a crash between the two): replace it now."""
        if not self.write:
            note = f"an interrupted `alongside key rotate` is finished at the next start ({self.pending} becomes {self.key_file})"
            return KeyChoice(pending, [note])
        try:
            os.replace(self.pending, self.key_file)
        except FileNotFoundError:  # another start finished it a moment ago
            pass
        self.old.unlink(missing_ok=True)
        sync_folder(self.key_file.parent)
        log.warning("finished an interrupted `alongside key rotate`: the key file now holds the new key")
        return KeyChoice(pending)


def exposed_data_files(db_path: Path, key_file: Path) -> list[Path]:
    candidates = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), key_file]
    candidates += [pending_key_file(key_file), old_key_file(key_file)]
    return exposed(candidates)


def warn_if_exposed(db_path: Path, key_file: Path) -> str | None:
    """Log (once, at WARNING) and return the line naming data files others can read."""
    found = exposed_data_files(db_path, key_file)
    if not found:
        return None
    line = exposure_warning(found)
    log.warning("%s", line)
    return line


class StoreLock:
    """Held (shared) by every process using the database, and exclusively by `alongside key rotate`,
    so a key is never rotated under a running bot that would go on writing with the old one."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.path = db_path.with_name(db_path.name + ".lock")
        self._handle: IO[str] | None = None

    def acquire(self, *, exclusive: bool) -> None:
        make_private_folder(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            if exclusive:
                raise DataKeyError(
                    f"the database {self.db_path} is in use (the bot is running): stop it,"
                    " then run `alongside key rotate` again"
                ) from None
            raise DataKeyError(
                f"`alongside key rotate` is running on the database {self.db_path}: start"
                " again when it has finished"
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
