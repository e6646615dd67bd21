"""The store, engine-neutral: transactions, the ambient transaction, migrations, one entry point.

`open_database(url_or_path)` opens SQLite (a path or `sqlite:...`, bot/storage/sqlite_db.py) or
PostgreSQL (`postgresql://...`, bot/storage/postgres_db.py); repositories see the same API on both.

Writes go through `transaction()`, so a state change and the messages it causes (the outbox)
commit together. Transactions nest: inside an open transaction, the same task's `transaction()`
is a SAVEPOINT (undone alone if its block raises, e.g. a refusal), and the database's own
`execute`/`fetch*` run on the open transaction instead of waiting for the lock it holds. So an
adapter can wrap a whole command (recording the event as handled, the features' own
transactions, the answers written to the outbox) in one transaction that commits all or nothing.

Within one process, transactions are serialised by an asyncio lock on both engines (SQLite also
by BEGIN IMMEDIATE), so a repository's check-then-write inside one transaction cannot interleave
with another task's. Across processes (PostgreSQL only) see the module doc of postgres_db.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from bot.storage.sql_dialect import POSTGRESQL, SQLITE, Dialect, is_postgres_url

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# A row: `row["column"]` and `row[0]` work on both engines (aiosqlite.Row, asyncpg.Record).
Row = Any


def available_migrations(dialect: str = SQLITE) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every shipped migration, in order. The same numbers on both
    engines: a file in `migrations/postgresql/` replaces the shared one of that name there."""
    found = []
    base = resources.files("bot.storage.migrations")
    overrides = base / "postgresql"
    for entry in base.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            source = entry
            if dialect == POSTGRESQL and (overrides / entry.name).is_file():
                source = overrides / entry.name
            found.append((int(match.group(1)), entry.name, source.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


class NewerSchemaError(Exception):
    """The database was written by a newer release (its schema has migrations this one lacks).
    Running on it could misread or damage what the newer release stored, so nothing starts."""


async def open_database(url_or_path: str | Path, *, target_version: int | None = None) -> Database:
    """The store at `url_or_path`: `postgresql://...` is PostgreSQL, anything else (a path,
    `sqlite:path`) SQLite. Migrated up to `target_version` (default: every shipped migration)."""
    if is_postgres_url(str(url_or_path)):
        from bot.storage.postgres_db import PostgresDatabase

        return await PostgresDatabase.open(str(url_or_path), target_version=target_version)
    from bot.storage.sqlite_db import SqliteDatabase

    return await SqliteDatabase.open(url_or_path, target_version=target_version)


# The transaction the current task has open, per database (a task spawned meanwhile inherits the
# variable, so the owning task is checked too: only the task that opened it may use it).
_AMBIENT: contextvars.ContextVar[tuple[Database, Tx, asyncio.Task[Any] | None] | None] = (
    contextvars.ContextVar("alongside_ambient_tx", default=None)
)


class Database(ABC):
    """What repositories and features use; one subclass per engine."""

    dialect: Dialect
    # Where the store is, for messages: a file path, or a url without its password.
    path: str

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._savepoints = 0

    @classmethod
    async def open(cls, url_or_path: str | Path, *, target_version: int | None = None) -> Database:
        """`open_database` (kept under this name: tests and tools call `Database.open(path)`)."""
        return await open_database(url_or_path, target_version=target_version)

    def _ambient(self) -> Tx | None:
        """The transaction this task has open on this database, if any."""
        current = _AMBIENT.get()
        if current is None or current[0] is not self or not current[1].open:
            return None
        task = _current_task()
        return current[1] if current[2] is task else None

    # -- what each engine provides --------------------------------------------------------------

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _begin(self) -> Tx:
        """Start a top-level transaction (the lock is held) and return its handle."""

    @abstractmethod
    async def _end(self, tx: Tx, commit: bool) -> None:
        """Commit or roll back `tx`, and give back whatever it held (always, even on error)."""

    @abstractmethod
    async def _after_erase(self, tx: Tx) -> None:
        """After a committed transaction that erased data: make the erased bytes go away."""

    @abstractmethod
    async def checkpoint(self) -> None: ...

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def migrate(self, target_version: int | None = None) -> list[int]:
        """Apply every migration `_pending_migrations` names, each in a transaction."""

    def _pending_migrations(self, done: set[int], target_version: int | None) -> list[tuple[int, str, str]]:
        """The shipped migrations (version, file name, SQL) to apply to a database holding `done`:
        every one missing, even one numbered below the newest applied, up to `target_version`.
        A version in `done` this release does not ship: NewerSchemaError, before any change."""
        shipped = available_migrations(self.dialect.name)
        unknown = done - {version for version, _, _ in shipped}
        if unknown:
            newest = shipped[-1][0] if shipped else 0
            raise NewerSchemaError(
                f"the database {self.path} has schema version {max(done)}, newer than this Alongside"
                f" knows (up to {newest}): a newer release has used it; start that release again or"
                " restore a backup made by this one (docs/upgrade.md); nothing was changed"
            )
        return [
            migration
            for migration in shipped
            if migration[0] not in done and (target_version is None or migration[0] <= target_version)
        ]

    @abstractmethod
    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement on its own (atomic); returns rowcount. Inside this task's open
        transaction it is part of that transaction."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    # -- transactions ---------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        outer = self._ambient()
        if outer is not None:
            async with self._savepoint(outer) as inner:
                yield inner
            return
        async with self._lock:
            tx = await self._begin()
            token = _AMBIENT.set((self, tx, _current_task()))
            try:
                yield tx
            except BaseException:
                tx.open = False
                await self._end(tx, commit=False)
                raise
            else:
                tx.open = False
                await self._end(tx, commit=True)
                if tx.checkpoint_requested:
                    await self._after_erase(tx)
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
        await outer._statement(f"SAVEPOINT {name}")
        inner = outer._nested()
        token = _AMBIENT.set((self, inner, _current_task()))
        try:
            yield inner
        except BaseException:
            inner.open = False
            await outer._statement(f"ROLLBACK TO SAVEPOINT {name}")
            await outer._statement(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            inner.open = False
            await outer._statement(f"RELEASE SAVEPOINT {name}")
            outer._join(inner)
        finally:
            inner.open = False
            _AMBIENT.reset(token)


class Tx(ABC):
    """The handle repositories write through while a transaction is open."""

    dialect: Dialect

    def __init__(self) -> None:
        self.committed_callbacks: list[Callable[[], None]] = []
        self.checkpoint_requested = False
        self.open = True

    def request_checkpoint(self) -> None:
        """After commit, make erased data go from the files too (SQLite: checkpoint and truncate
        the WAL; PostgreSQL: VACUUM the tables this transaction deleted from)."""
        self.checkpoint_requested = True

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (never if it rolls back)."""
        self.committed_callbacks.append(callback)

    def _join(self, inner: Tx) -> None:
        """A savepoint released: what it asked for becomes the outer transaction's."""
        self.committed_callbacks.extend(inner.committed_callbacks)
        self.checkpoint_requested = self.checkpoint_requested or inner.checkpoint_requested

    @abstractmethod
    def _nested(self) -> Tx:
        """A handle on the same connection, for a savepoint."""

    @abstractmethod
    async def _statement(self, sql: str) -> None:
        """Run transaction control (SAVEPOINT ...) as it is."""

    async def lock(self, scope: str, key: int | str) -> None:
        """Hold (scope, key) until this transaction ends, against other processes' transactions
        taking the same lock (PostgreSQL; within one process transactions are serialised
        already, and SQLite has one writer, so there it does nothing)."""
        return None

    @abstractmethod
    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the new row's id (an INSERT into a table with an integer
        `id`; 0 when it inserted nothing) or the number of rows changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...


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


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations contain no ';' inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


_split_sql = split_sql


def __getattr__(name: str) -> Any:
    # `from bot.storage.db import SqliteDatabase` for tools that open SQLite directly.
    if name == "SqliteDatabase":
        from bot.storage.sqlite_db import SqliteDatabase

        return SqliteDatabase
    raise AttributeError(name)


__all__ = ["POSTGRESQL", "SQLITE", "Database", "NewerSchemaError", "Row", "Tx", "open_database"]
