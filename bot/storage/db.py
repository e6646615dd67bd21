"""SQLite through aiosqlite: WAL, foreign keys, versioned migrations, serialised transactions.

One connection per process. Writes go through `transaction()`, which holds an asyncio lock and a
`BEGIN IMMEDIATE`, so a state change and the messages it causes (the outbox) commit together.

Transactions nest: inside an open transaction, the same task's `transaction()` is a SAVEPOINT
(undone alone if its block raises, e.g. a refusal), and the database's own `execute`/`fetch*`
run on the open transaction instead of waiting for the lock it holds. So an adapter can wrap a
whole command (recording the event as handled, the features' own transactions, the answers
written to the outbox) in one transaction that commits all of it or nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
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


# The transaction the current task has open, per database (a task spawned meanwhile inherits the
# variable, so the owning task is checked too: only the task that opened it may use it).
_AMBIENT: contextvars.ContextVar[tuple[Database, Tx, asyncio.Task[Any] | None] | None] = (
    contextvars.ContextVar("alongside_ambient_tx", default=None)
)


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._savepoints = 0

    def _ambient(self) -> Tx | None:
        """The transaction this task has open on this database, if any."""
        current = _AMBIENT.get()
        if current is None or current[0] is not self or not current[1].open:
            return None
        task = _current_task()
        return current[1] if current[2] is task else None

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
        outer = self._ambient()
        if outer is not None:
            async with self._savepoint(outer) as inner:
                yield inner
            return
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self._conn)
            token = _AMBIENT.set((self, tx, _current_task()))
            try:
                yield tx
            except BaseException:
                tx.open = False
                await self._conn.execute("ROLLBACK")
                raise
            else:
                tx.open = False
                await self._conn.execute("COMMIT")
                if tx.checkpoint_requested:
                    # Fold the WAL back into the database and truncate it, so old page versions
                    # (holding erased text) do not survive in the -wal file.
                    await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                tx.open = False
                _AMBIENT.reset(token)
        for callback in tx.committed_callbacks:
            callback()

    @asynccontextmanager
    async def _savepoint(self, outer: Tx) -> AsyncIterator[Tx]:
        """A transaction inside `outer`: its changes, callbacks and checkpoint request join the
        outer transaction when the block ends normally, and are undone alone if it raises."""
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        await self._conn.execute(f"SAVEPOINT {name}")
        inner = Tx(self._conn)
        token = _AMBIENT.set((self, inner, _current_task()))
        try:
            yield inner
        except BaseException:
            inner.open = False
            await self._conn.execute(f"ROLLBACK TO {name}")
            await self._conn.execute(f"RELEASE {name}")
            raise
        else:
            inner.open = False
            await self._conn.execute(f"RELEASE {name}")
            outer.committed_callbacks.extend(inner.committed_callbacks)
            outer.checkpoint_requested = outer.checkpoint_requested or inner.checkpoint_requested
        finally:
            inner.open = False
            _AMBIENT.reset(token)

    async def checkpoint(self) -> None:
        ambient = self._ambient()
        if ambient is not None:
            ambient.request_checkpoint()  # a checkpoint cannot run inside a transaction
            return
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement on its own (SQLite makes a single statement atomic); returns rowcount.
        Inside this task's open transaction it is part of that transaction."""
        if self._ambient() is not None:
            cursor = await self._conn.execute(sql, tuple(params))
            return cursor.rowcount
        async with self._lock:
            cursor = await self._conn.execute(sql, tuple(params))
            return cursor.rowcount

    # execute_fetchall is one trip to SQLite's thread; execute + fetchone would be two.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        if self._ambient() is not None:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return rows[0] if rows else None
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
            return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        if self._ambient() is not None:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))


class Tx:
    """The handle repositories write through while a transaction is open."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.committed_callbacks: list[Callable[[], None]] = []
        self.checkpoint_requested = False
        self.open = True

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


def open_transaction(reader: Database | Tx | Any) -> Tx | None:
    """The transaction a read through `reader` belongs to (None: it read committed data). A
    cache filled from such a read must wait for that transaction to commit (`after_commit`)."""
    if isinstance(reader, Tx):
        return reader if reader.open else None
    if isinstance(reader, Database):
        return reader._ambient()
    return None


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations contain no ';' inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
