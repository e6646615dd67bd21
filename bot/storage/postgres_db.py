"""PostgreSQL through asyncpg: the same API as SQLite, for one store shared by several processes.

A pool of connections. A transaction runs on one pooled connection (held by the task that opened
it, as the ambient transaction, bot/storage/db.py), at READ COMMITTED; `execute`/`fetch*` outside
a transaction take any free connection (each statement commits alone).

Serialisation. SQLite's BEGIN IMMEDIATE made writers mutually exclusive. Here, transactions of one
process are still serialised (the same asyncio lock), so a repository's check-then-write inside
one transaction cannot interleave with another task's in that process. Between processes, READ
COMMITTED plus:
- find-then-create of a community or a member (bot/storage/communities.py) inserts with
  `ON CONFLICT ... DO NOTHING` and reads the row back, so two processes meeting the same new
  community or member make one row and both use it;
- counters read as MAX(number) + 1 (round numbers, agreement versions, space-agreement versions
  and changes) and once-only records (question slots, seen events, reminders, acceptances) are
  backed by UNIQUE constraints or primary keys: a racing second writer's transaction fails and
  rolls back whole (the member is told nothing changed), never writes a duplicate;
- per-member limits read as COUNT(*) (pending suggestions, not-with entries, open proposals,
  resources) could be passed by one only if the same member's commands raced through two
  processes at once, which routing rules out (a Discord guild's shard and a Matrix account
  belong to one process each);
- `Tx.lock(scope, key)` takes a transaction-scoped advisory lock (`pg_advisory_xact_lock`) for
  any other check-then-write that must hold across processes; scheduled work (question slots,
  round steps, reminders, retention) is claimed in the database by the scheduling code.

Erasing: after a committed transaction that asked for it (`mydata forget`, key rotation),
`VACUUM` runs on every table the transaction deleted from or updated, and on the tables whose
rows a deletion cascades to (docs/privacy.md says what that does and does not guarantee).

The url's password is never logged or put in an error message: the store is named by
`redact_url(url)` everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import asyncpg

from bot.storage.db import Database, Row, Tx, split_sql
from bot.storage.sql_dialect import (
    POSTGRESQL,
    Dialect,
    inserted_table,
    postgres_ddl,
    redact_url,
    to_numbered_placeholders,
)

log = logging.getLogger("bot.storage.db")

_DIALECT = Dialect(POSTGRESQL)
# Held (session-wide) while migrating, so processes starting together migrate one at a time.
_MIGRATION_LOCK = 0x616C6F6E  # "alon"
_WRITTEN = re.compile(r"^\s*(?:DELETE\s+FROM|UPDATE)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class StoreConnectError(Exception):
    """PostgreSQL could not be reached or refused us; the message names the server without its
    password."""


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs on going back to the pool, past the rollback of an unfinished
    transaction that asyncpg always does: nothing. The store keeps no session state (no SET, no
    LISTEN, no cursor outside a transaction; the migration lock is released where it is taken),
    and asyncpg's default reset is one more round trip after every statement run outside a
    transaction (RESET ALL, pg_advisory_unlock_all, ...): measured with bench/soak.py, one in
    eight of all statements the bot sent."""


class PostgresDatabase(Database):
    dialect = _DIALECT

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        super().__init__(redact_url(url))
        self._pool = pool
        self._id_tables: frozenset[str] = frozenset()
        self._children: dict[str, set[str]] = {}

    @classmethod
    async def open(cls, url_or_path: Any, *, target_version: int | None = None) -> PostgresDatabase:
        url = str(url_or_path)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=6,
                statement_cache_size=1024,
                server_settings={"application_name": "alongside"},
                reset=_keep_session,
            )
        except Exception as error:  # noqa: BLE001 - re-raised without the password
            raise StoreConnectError(
                f"cannot open the PostgreSQL store {redact_url(url)}: {_without_secret(str(error), url)}"
            ) from None
        db = cls(pool, url)
        try:
            await db.migrate(target_version)
            await db._load_schema()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        # A connection still held (a task killed mid-transaction) must not keep close waiting.
        try:
            await asyncio.wait_for(self._pool.close(), timeout=10)
        except TimeoutError:
            self._pool.terminate()

    async def _load_schema(self) -> None:
        """Which tables number their rows (`id`), and where deletions cascade to."""
        rows = await self._pool.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'id' AND data_type IN ('bigint', 'integer')"
        )
        self._id_tables = frozenset(row[0] for row in rows)
        children: dict[str, set[str]] = {}
        for row in await self._pool.fetch(
            "SELECT confrelid::regclass::text, conrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
        ):
            children.setdefault(row[0], set()).add(row[1])
        self._children = children

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            return int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)

    async def migrate(self, target_version: int | None = None) -> list[int]:
        """Apply every migration not yet applied (up to `target_version`), each in a transaction."""
        applied = []
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
                done = {row[0] for row in await conn.fetch("SELECT version FROM schema_version")}
                for version, name, sql in self._pending_migrations(done, target_version):
                    async with conn.transaction():
                        for statement in split_sql(sql):
                            await conn.execute(postgres_ddl(statement))
                        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
                    log.info("applied migration %s", name)
                    applied.append(version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        if applied:
            await self._load_schema()
        return applied

    # -- transactions ---------------------------------------------------------------------------

    async def _begin(self) -> Tx:
        conn = await self._pool.acquire()
        try:
            await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        except BaseException:
            await self._pool.release(conn)
            raise
        return PostgresTx(conn, self, set())

    async def _end(self, tx: Tx, commit: bool) -> None:
        assert isinstance(tx, PostgresTx)
        try:
            await tx._conn.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            await self._pool.release(tx._conn)

    async def _after_erase(self, tx: Tx) -> None:
        assert isinstance(tx, PostgresTx)
        await self.vacuum(self._cascade(tx._written))

    def _cascade(self, tables: set[str]) -> list[str]:
        """`tables` and every table whose rows a deletion from them cascades to."""
        seen: set[str] = set()
        todo = list(tables)
        while todo:
            table = todo.pop()
            if table not in seen:
                seen.add(table)
                todo.extend(self._children.get(table, ()))
        return sorted(seen)

    async def vacuum(self, tables: list[str] | None = None) -> None:
        """VACUUM (outside any transaction): the space of deleted and updated rows is freed
        for reuse. `tables` None: every table of the store.

        Without truncating the files: giving empty trailing pages back to the system needs an
        exclusive lock on the table, which VACUUM waits for (up to 5 s) while other processes
        sharing the store are using it, and which stops them while held. Autovacuum truncates
        in the background instead; what erasure needs is the rows' space freed, done either way."""
        names = ", ".join(_quote(table) for table in tables or [])
        async with self._pool.acquire() as conn:
            await conn.execute(f"VACUUM (TRUNCATE false) {names}".strip())

    async def checkpoint(self) -> None:
        ambient = self._ambient()
        if ambient is not None:
            ambient.request_checkpoint()  # VACUUM cannot run inside a transaction
            return
        await self.vacuum(None)

    # -- statements -----------------------------------------------------------------------------

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        ambient = self._ambient()
        if ambient is not None:
            assert isinstance(ambient, PostgresTx)
            return _count(await ambient._conn.execute(to_numbered_placeholders(sql), *_args(params)))
        # A write waits for this process's open transaction, as on SQLite: code relies on its
        # writes not interleaving with another task's transaction. Reads see committed rows only.
        async with self._lock, self._pool.acquire() as conn:
            return _count(await conn.execute(to_numbered_placeholders(sql), *_args(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        ambient = self._ambient()
        if ambient is not None:
            return await ambient.fetchone(sql, params)
        async with self._pool.acquire() as conn:
            return await conn.fetchrow(to_numbered_placeholders(sql), *_args(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        ambient = self._ambient()
        if ambient is not None:
            return await ambient.fetchall(sql, params)
        async with self._pool.acquire() as conn:
            return list(await conn.fetch(to_numbered_placeholders(sql), *_args(params)))


class PostgresTx(Tx):
    dialect = _DIALECT

    def __init__(self, conn: asyncpg.Connection, db: PostgresDatabase, written: set[str]) -> None:
        super().__init__()
        self._conn = conn
        self._db = db
        # Tables deleted from or updated in this transaction (shared with its savepoints).
        self._written = written

    def _nested(self) -> Tx:
        return PostgresTx(self._conn, self._db, self._written)

    async def _statement(self, sql: str) -> None:
        await self._conn.execute(sql)

    async def lock(self, scope: str, key: int | str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{scope}:{key}")

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        args = _args(params)
        table = inserted_table(sql)
        if table is not None and table in self._db._id_tables:
            # SQLite's lastrowid: the new row's id, 0 when nothing was inserted.
            row = await self._conn.fetchrow(_returning_id(sql), *args)
            return int(row[0]) if row is not None else 0
        written = _WRITTEN.match(sql)
        if written:
            self._written.add(written.group(1).lower())
        return _count(await self._conn.execute(to_numbered_placeholders(sql), *args))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        written = _WRITTEN.match(sql)
        if written:
            self._written.add(written.group(1).lower())
        await self._conn.executemany(to_numbered_placeholders(sql), [_args(row) for row in rows])

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        return await self._conn.fetchrow(to_numbered_placeholders(sql), *_args(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self._conn.fetch(to_numbered_placeholders(sql), *_args(params)))


@lru_cache(maxsize=1024)
def _returning_id(sql: str) -> str:
    statement = to_numbered_placeholders(sql).rstrip().rstrip(";")
    if re.search(r"\bRETURNING\b", statement, re.IGNORECASE):
        return statement
    return statement + " RETURNING id"


def _args(params: Iterable[Any]) -> list[Any]:
    # SQLite stores booleans as 0/1 in INTEGER columns; so do we (asyncpg wants an int there).
    return [int(value) if isinstance(value, bool) else value for value in params]


def _count(status: str) -> int:
    """Rows changed, from a command status such as 'UPDATE 3' or 'INSERT 0 1'."""
    last = status.rsplit(" ", 1)[-1] if status else ""
    return int(last) if last.isdigit() else 0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _without_secret(message: str, url: str) -> str:
    """`message` with the url and its password taken out (a driver may echo either)."""
    message = message.replace(url, redact_url(url))
    password = _password(url)
    return message.replace(password, "***") if password else message


def _password(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return unquote(parts.password)
    match = re.search(r"(?i)password=([^&]*)", parts.query)
    return unquote(match.group(1)) if match else None
