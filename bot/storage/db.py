"""SQLite through aiosqlite: WAL, foreign keys, versioned migrations, serialised transactions.

One connection per process. Writes go through `transaction()`, which holds an asyncio lock and a
`BEGIN IMMEDIATE`, so a state change and the messages it causes (the outbox) commit together.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.files import create_private_file

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every shipped migration, in order."""
    found = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


class NewerSchemaError(Exception):
    """The database was written by a newer release (its schema has migrations this one lacks).
    Running on it could misread or damage what the newer release stored, so nothing starts."""


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, target_version: int | None = None) -> Database:
        path = str(path)
        # At DEBUG aiosqlite logs every SQL parameter, i.e. members' words: never let it.
        if logging.getLogger("aiosqlite").level < logging.WARNING:
            logging.getLogger("aiosqlite").setLevel(logging.WARNING)
        if path != ":memory:":
            # Created 0600 (in a 0700 folder when the bot makes it) before SQLite opens it, so the
            # file, and the -wal and -shm files SQLite gives the same mode, are never readable by
            # others, whatever the umask.
            create_private_file(Path(path))
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        # Deleted content is overwritten, so erased answers do not linger in free pages.
        await conn.execute("PRAGMA secure_delete=ON")
        db = cls(conn, path)
        try:
            await db.migrate(target_version)
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        row = await (await self._conn.execute("SELECT MAX(version) FROM schema_version")).fetchone()
        return int(row[0] or 0)

    async def migrate(self, target_version: int | None = None) -> list[int]:
        """Apply every migration above the current version (up to `target_version`)."""
        await self.schema_version()  # creates the table on a new database
        done = {row[0] for row in await self.fetchall("SELECT version FROM schema_version")}
        shipped = available_migrations()
        unknown = done - {version for version, _, _ in shipped}
        if unknown:
            newest = shipped[-1][0] if shipped else 0
            raise NewerSchemaError(
                f"the database {self.path} has schema version {max(done)}, newer than this Alongside"
                f" knows (up to {newest}): a newer release has used it; start that release again or"
                " restore a backup made by this one (docs/upgrade.md); nothing was changed"
            )
        applied = []
        # Foreign keys are off while migrating (the pragma is a no-op inside a transaction, so it
        # is set around them): a table rebuild (create new, copy, drop, rename) would otherwise
        # cascade the DROP to every row that points at the table. They are checked before commit.
        await self._conn.execute("PRAGMA foreign_keys=OFF")
        try:
            for version, name, sql in shipped:
                # Every missing migration runs, even one numbered below the newest applied.
                if version in done or (target_version is not None and version > target_version):
                    continue
                async with self.transaction() as tx:
                    before = len(await tx.fetchall("PRAGMA foreign_key_check"))
                    # executescript would COMMIT our transaction; run statement by statement.
                    for statement in _split_sql(sql):
                        await tx.execute(statement)
                    broken = len(await tx.fetchall("PRAGMA foreign_key_check")) - before
                    if broken > 0:
                        raise RuntimeError(f"migration {name} broke {broken} foreign keys")
                    await tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                log.info("applied migration %s", name)
                applied.append(version)
        finally:
            await self._conn.execute("PRAGMA foreign_keys=ON")
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self._conn)
            try:
                yield tx
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")
                if tx.checkpoint_requested:
                    # Fold the WAL back into the database and truncate it, so old page versions
                    # (holding erased text) do not survive in the -wal file.
                    await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for callback in tx.committed_callbacks:
            callback()

    async def checkpoint(self) -> None:
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement on its own (SQLite makes a single statement atomic); returns rowcount."""
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            return cursor.rowcount

    # execute_fetchall is one trip to SQLite's thread; execute + fetchone would be two.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))


class Tx:
    """The handle repositories write through while a transaction is open."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.committed_callbacks: list[Callable[[], None]] = []
        self.checkpoint_requested = False

    def request_checkpoint(self) -> None:
        """After commit, checkpoint and truncate the WAL (used when data is erased)."""
        self.checkpoint_requested = True

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (never if it rolls back)."""
        self.committed_callbacks.append(callback)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns lastrowid (for INSERT) or rowcount."""
        cursor = await self._conn.execute(sql, tuple(params))
        if sql.lstrip().upper().startswith("INSERT"):
            # An INSERT OR IGNORE that inserted nothing leaves a stale lastrowid: report 0.
            return cursor.lastrowid if cursor.rowcount > 0 else 0
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._conn.executemany(sql, [tuple(row) for row in rows])

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, tuple(params)))


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations contain no ';' inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
