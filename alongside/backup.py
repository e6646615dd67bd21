"""`alongside backup DEST` and `alongside restore SRC`.

A backup is a folder: the database (copied with SQLite's online backup API, so it is consistent
even while the bot writes, including what still sits in the -wal file), the Matrix store (its
crypto database copied the same way, and credentials.json), and manifest.json naming the release,
the schema version, the data key's check value (never the key) and each file's sha256.

The data key is not in the backup, on purpose: a backup that travels with its key protects
nothing. Keep the key (and the tokens) with the other secrets, apart from the backups.

A restore checks everything before it writes anything: the manifest, every hash, the schema (not
newer than this release), and that the data key this installation has opens the backup. It
refuses to touch a database a running bot holds, and moves files it replaces aside, never
deleting them.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from bot.storage.crypto import DataKeyError
from bot.storage.db import available_migrations
from bot.storage.files import PRIVATE_FILE, PRIVATE_FOLDER, make_private_folder, sync_folder

MANIFEST = "manifest.json"
DATABASE = "alongside.db"
MATRIX_STORE = "matrix-store"
FORMAT = 1
_SQLITE_HEADER = b"SQLite format 3\x00"
# Files in the Matrix store that are not state: SQLite's side files (folded in by the online
# backup) and the adapter's write probe and half-written temporary files.
_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".tmp")
_SKIPPED_NAMES = (".alongside-write-test",)


class BackupError(Exception):
    """One line: what is wrong and what to do; nothing was changed."""


@dataclass
class BackupDone:
    folder: Path
    schema_version: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RestoreDone:
    database: Path
    store: Path | None
    moved_aside: list[Path] = field(default_factory=list)
    schema_version: int = 0


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("alongside")
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (one step of the online backup API, so one
    read transaction: a snapshot, whatever other connections write meanwhile)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        os.close(fd)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # One self-contained file: no -wal beside it to forget when it is copied on.
            dst.execute("PRAGMA journal_mode=DELETE")
            problem = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"{source}: the copy failed SQLite's integrity check ({problem})")
        finally:
            dst.close()
    finally:
        src.close()
    _fsync(target)


def _schema_and_check(database: Path) -> tuple[int, list[int], bytes | None]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = []
        if "schema_version" in tables:
            versions = sorted(row[0] for row in conn.execute("SELECT version FROM schema_version"))
        check = None
        if "key_check" in tables:
            row = conn.execute("SELECT value FROM key_check WHERE id = 1").fetchone()
            check = None if row is None else bytes(row[0])
        return (max(versions) if versions else 0), versions, check
    finally:
        conn.close()


@contextmanager
def _database_lock(db_path: Path, *, exclusive: bool) -> Iterator[None]:
    """The lock every process using the database holds (shared; `alongside key rotate` and a
    restore exclusively): a backup runs beside the bot but never during a key rotation."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    make_private_folder(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            if exclusive:
                raise BackupError(
                    f"the database {db_path} is in use (the bot is running): stop it"
                    " (systemctl stop …), then restore; nothing was changed"
                ) from None
            raise BackupError(
                f"`alongside key rotate` is running on {db_path}: back up when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)


def _store_files(store: Path) -> list[Path]:
    found = []
    for path in sorted(store.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        if path.name in _SKIPPED_NAMES or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        found.append(path)
    return found


def backup(db_path: Path, store: Path | None, dest: Path, *, now: datetime | None = None) -> BackupDone:
    """Copy the database (and the Matrix store, when there is one) into the new folder `dest`."""
    if not db_path.is_file():
        raise BackupError(f"there is no database at {db_path} to back up (check --config or --db)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists: back up into a new, empty folder")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    make_private_folder(dest)
    os.chmod(dest, PRIVATE_FOLDER)
    with _database_lock(db_path, exclusive=False):
        # The database first, then the store: keys the store gains meanwhile are kept, and a
        # restored bot resumes syncing from the database's (older) position.
        _copy_sqlite(db_path, dest / DATABASE)
        stored: list[str] = [DATABASE]
        if store is not None and store.is_dir():
            target_store = dest / MATRIX_STORE
            target_store.mkdir(mode=PRIVATE_FOLDER)
            for path in _store_files(store):
                relative = path.relative_to(store)
                target = target_store / relative
                target.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
                if _is_sqlite(path):
                    _copy_sqlite(path, target)
                else:
                    shutil.copyfile(path, target)
                    os.chmod(target, PRIVATE_FILE)
                    _fsync(target)
                stored.append(str(PurePosixPath(MATRIX_STORE, *relative.parts)))
    schema, versions, check = _schema_and_check(dest / DATABASE)
    files = {name: {"sha256": _sha256(dest / name), "size": (dest / name).stat().st_size} for name in stored}
    manifest = {
        "format": FORMAT,
        "alongside_version": _version(),
        "created_at": moment.isoformat(),
        "schema_version": schema,
        "migrations": versions,
        # Tells a restore whether a key opens this backup; it is a value encrypted with the key,
        # not the key, and opens nothing by itself.
        "key_check": None if check is None else base64.b64encode(check).decode(),
        "database": DATABASE,
        "matrix_store": MATRIX_STORE if any(n.startswith(MATRIX_STORE + "/") for n in stored) else None,
        "files": files,
    }
    tmp = dest / (MANIFEST + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    # The manifest last: a folder without one is an unfinished backup, and restore says so.
    os.replace(tmp, dest / MANIFEST)
    sync_folder(dest)
    return BackupDone(dest, schema, files)


# -- restore ---------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not source.is_dir():
        raise BackupError(f"{source}: no such backup folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source}: no {MANIFEST}, so not a finished `alongside backup`; nothing was changed") from None
    except (OSError, ValueError) as error:
        raise BackupError(f"{path}: unreadable ({error}); nothing was changed") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: not a backup format this Alongside reads (format {FORMAT}); nothing was changed")
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("database") not in files:
        raise BackupError(f"{path}: lists no database; nothing was changed")
    for name in files:
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts or not parts:
            raise BackupError(f"{path}: names a file outside the backup ({name!r}); nothing was changed")
    return manifest


def verify(source: Path, manifest: dict[str, Any]) -> None:
    """Every listed file is there with its hash; the schema is one this release knows."""
    for name, entry in sorted(manifest["files"].items()):
        path = source / name
        if not path.is_file():
            raise BackupError(f"{path}: missing from the backup; nothing was changed")
        if _sha256(path) != entry.get("sha256"):
            raise BackupError(f"{path}: changed or damaged since the backup was made (its sha256 differs); nothing was changed")
    database = source / manifest["database"]
    schema, versions, check = _schema_and_check(database)
    known = {version for version, _, _ in available_migrations()}
    newest = max(known, default=0)
    if set(versions) - known:
        raise BackupError(
            f"{source} was made by a newer Alongside ({manifest.get('alongside_version')}, schema version"
            f" {schema}; this one knows up to {newest}): restore it with that release; nothing was changed"
        )
    if schema != manifest.get("schema_version"):
        raise BackupError(f"{database}: its schema version is {schema}, the manifest says {manifest.get('schema_version')}; nothing was changed")
    listed = manifest.get("key_check")
    if (None if check is None else base64.b64encode(check).decode()) != listed:
        raise BackupError(f"{database}: its key check value differs from the manifest's; nothing was changed")


async def _key_opens(database: Path, env_key: str | None, key_file: Path) -> list[str]:
    """Whether the data key this installation will start with opens the backup (raises the
    KeyResolver's one-line DataKeyError if not); writes nothing."""
    import aiosqlite

    from bot.storage.keycheck import KeyResolver
    from bot.storage.sqlite_db import SqliteDatabase

    conn = await aiosqlite.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
    try:
        choice = await KeyResolver(database, env_key, key_file, write=False).resolve(
            SqliteDatabase(conn, str(database)), datetime.now(UTC)
        )
        return choice.notes
    finally:
        await conn.close()


def _aside(path: Path, stamp: str) -> Path:
    target = path.with_name(f"{path.name}.before-restore-{stamp}")
    os.replace(path, target)
    return target


def _give_to_folder_owner(folder: Path, made: list[Path]) -> None:
    """Run as root (a restore typed without runuser), the restored files would be root's and the
    bot's own user could not open them: give them to whoever owns the data folder."""
    if os.geteuid() != 0:
        return
    owner = folder.stat()
    if owner.st_uid == 0:
        return
    for top in made:
        for path in [top, *(top.rglob("*") if top.is_dir() else [])]:
            os.chown(path, owner.st_uid, owner.st_gid)


def restore(
    source: Path,
    db_path: Path,
    store: Path | None,
    *,
    env_key: str | None,
    key_file: Path,
    replace: bool = False,
    now: datetime | None = None,
) -> RestoreDone:
    manifest = read_manifest(source)
    verify(source, manifest)
    try:
        asyncio.run(_key_opens(source / manifest["database"], env_key, key_file))
    except DataKeyError as error:
        raise BackupError(f"the data key does not open this backup: {error}") from None
    store_source = source / manifest["matrix_store"] if manifest.get("matrix_store") else None
    if store_source is not None and store is None:
        raise BackupError("the backup holds a Matrix store but no [matrix] store_path is configured; nothing was changed")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    make_private_folder(db_path.parent)
    with _database_lock(db_path, exclusive=True):
        present = [p for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")) if p.exists()]
        store_present = store_source is not None and store is not None and store.exists() and any(store.iterdir())
        if (present or store_present) and not replace:
            what = db_path if present else store
            raise BackupError(
                f"{what} already exists: restore into a new place (--db, or another --config), or add"
                " --replace to move the present files aside first; nothing was changed"
            )
        done = RestoreDone(db_path, None, schema_version=int(manifest["schema_version"]))
        # Copy next to the target first, so the move into place is one rename on one filesystem.
        staged = db_path.with_name(f".{db_path.name}.restore-{stamp}.tmp")
        staged.unlink(missing_ok=True)
        shutil.copyfile(source / manifest["database"], staged)
        os.chmod(staged, PRIVATE_FILE)
        _fsync(staged)
        staged_store = None
        if store_source is not None and store is not None:
            make_private_folder(store.parent)
            staged_store = store.with_name(f".{store.name}.restore-{stamp}.tmp")
            if staged_store.exists():
                shutil.rmtree(staged_store)
            shutil.copytree(store_source, staged_store)
            for path in [staged_store, *staged_store.rglob("*")]:
                os.chmod(path, PRIVATE_FOLDER if path.is_dir() else PRIVATE_FILE)
        _give_to_folder_owner(db_path.parent, [staged, *([staged_store] if staged_store else [])])
        for path in present:
            done.moved_aside.append(_aside(path, stamp))
        os.replace(staged, db_path)
        sync_folder(db_path.parent)
        if staged_store is not None and store is not None:
            if store.exists():
                done.moved_aside.append(_aside(store, stamp))
            os.replace(staged_store, store)
            sync_folder(store.parent)
            done.store = store
    return done
