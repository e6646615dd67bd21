"""SQLite through aiosqlite: WAL, foreign keys, versioned migrations, serialised transactions.

One connection per process. A transaction holds the database's asyncio lock and a
`BEGIN IMMEDIATE`, so writers are mutually exclusive (see bot/storage/db.py for the rest).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.db import Database, Row, Tx, split_sql
from bot.storage.files import create_private_file
from bot.storage.sql_dialect import SQLITE, Dialect, sqlite_path

log = logging.getLogger("bot.storage.db")

_DIALECT = Dialect(SQLITE)


class SqliteDatabase(Database):
    dialect = _DIALECT

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        super().__init__(path)
        self._conn = conn

    @classmethod
    async def open(cls, url_or_path: str | Path, *, target_version: int | None = None) -> SqliteDatabase:
        path = sqlite_path(str(url_or_path))
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
        pending = self._pending_migrations(done, target_version)
        applied = []
        # Foreign keys are off while migrating (the pragma is a no-op inside a transaction, so it
        # is set around them): a table rebuild (create new, copy, drop, rename) would otherwise
        # cascade the DROP to every row that points at the table. They are checked before commit.
        await self._conn.execute("PRAGMA foreign_keys=OFF")
        try:
            for version, name, sql in pending:
                async with self.transaction() as tx:
                    before = len(await tx.fetchall("PRAGMA foreign_key_check"))
                    # executescript would COMMIT our transaction; run statement by statement.
                    for statement in split_sql(sql):
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

    async def _begin(self) -> Tx:
        await self._conn.execute("BEGIN IMMEDIATE")
        return SqliteTx(self._conn)

    async def _end(self, tx: Tx, commit: bool) -> None:
        await self._conn.execute("COMMIT" if commit else "ROLLBACK")

    async def _after_erase(self, tx: Tx) -> None:
        # Fold the WAL back into the database and truncate it, so old page versions (holding
        # erased text) do not survive in the -wal file.
        await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def checkpoint(self) -> None:
        ambient = self._ambient()
        if ambient is not None:
            ambient.request_checkpoint()  # a checkpoint cannot run inside a transaction
            return
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        if self._ambient() is not None:
            cursor = await self._conn.execute(sql, tuple(params))
            return cursor.rowcount
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            return cursor.rowcount

    # execute_fetchall is one trip to SQLite's thread; execute + fetchone would be two.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        if self._ambient() is not None:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return rows[0] if rows else None
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        if self._ambient() is not None:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))


class SqliteTx(Tx):
    dialect = _DIALECT

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__()
        self._conn = conn

    def _nested(self) -> Tx:
        return SqliteTx(self._conn)

    async def _statement(self, sql: str) -> None:
        await self._conn.execute(sql)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, tuple(params))
        if sql.lstrip().upper().startswith("INSERT"):
            # An insert that inserted nothing (ON CONFLICT DO NOTHING) leaves a stale lastrowid.
            return cursor.lastrowid if cursor.rowcount > 0 else 0
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._conn.executemany(sql, [tuple(row) for row in rows])

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, tuple(params)))
