"""`alongside db copy`: every table of one store into another (SQLite <-> PostgreSQL).

Values are copied as they are (encrypted fields stay ciphertext under the same data key, and the
key check and blinding secret go with them, so the same key opens the copy), table by table in
foreign-key order, in one transaction on the target. A target holding any row is refused unless
`replace` is given (its rows are then deleted in the same transaction). Afterwards both stores are
read again and each table's row count and content hash compared: the hash is over every row's
values with their types, taken in sorted order (the engines sort text differently), so equal
hashes mean equal contents whichever engine holds them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.storage.db import Database, Tx
from bot.storage.sql_dialect import POSTGRESQL

# Bookkeeping each store keeps for itself (both have the same migrations applied).
_SKIP = {"schema_version", "sqlite_sequence"}


class CopyRefused(Exception):
    """A one-line reason the copy did not start (nothing was written)."""


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_hash: str
    target_hash: str

    @property
    def same(self) -> bool:
        return self.source_rows == self.target_rows and self.source_hash == self.target_hash


async def tables_in_order(db: Database) -> list[str]:
    """The store's tables, each after every table it points at (foreign keys)."""
    parents: dict[str, set[str]] = {}
    if db.dialect.name == POSTGRESQL:
        for row in await db.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE'"
        ):
            parents[row[0]] = set()
        for row in await db.fetchall(
            "SELECT tc.table_name, ccu.table_name FROM information_schema.table_constraints tc"
            " JOIN information_schema.constraint_column_usage ccu"
            " ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema"
            " WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"
        ):
            parents.setdefault(row[0], set()).add(row[1])
    else:
        for row in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
            parents[row[0]] = set()
        for table in list(parents):
            for row in await db.fetchall(f"SELECT * FROM pragma_foreign_key_list('{table}')"):
                parents[table].add(row["table"])
    ordered: list[str] = []
    done: set[str] = set()

    def visit(table: str, path: tuple[str, ...]) -> None:
        if table in done or table in path:
            return
        for parent in sorted(parents.get(table, ())):
            if parent != table:
                visit(parent, (*path, table))
        done.add(table)
        ordered.append(table)

    for table in sorted(parents):
        visit(table, ())
    return [table for table in ordered if table not in _SKIP and not table.startswith("sqlite_")]


async def columns(db: Database, table: str) -> list[str]:
    if db.dialect.name == POSTGRESQL:
        rows = await db.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [row[0] for row in rows]
    return [row["name"] for row in await db.fetchall(f"SELECT name FROM pragma_table_info('{table}')")]


async def count_rows(db: Database, table: str) -> int:
    row = await db.fetchone(f'SELECT COUNT(*) FROM "{table}"')
    return int(row[0]) if row is not None else 0


async def content_hash(db: Database, table: str, names: list[str]) -> str:
    """sha256 over the table's rows (values with their types), in sorted order."""
    listed = ", ".join(f'"{name}"' for name in names)
    digests = sorted(
        hashlib.sha256(repr([_canonical(value) for value in row]).encode()).digest()
        for row in await db.fetchall(f'SELECT {listed} FROM "{table}"')
    )
    return hashlib.sha256(b"".join(digests)).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, bool):
        return int(value)
    return value


async def copy_tables(source: Database, target: Database, *, replace: bool = False) -> list[TableCheck]:
    """Copy every table of `source` into `target` and check the copy (see the module doc)."""
    if await source.schema_version() != await target.schema_version():
        raise CopyRefused("the two stores have different schema versions: start this release on both first")
    tables = await tables_in_order(source)
    missing = [table for table in tables if table not in set(await tables_in_order(target))]
    if missing:
        raise CopyRefused(f"the target has no table {missing[0]}")
    shape = {table: await columns(source, table) for table in tables}
    filled = [table for table in tables if await count_rows(target, table)]
    if filled and not replace:
        raise CopyRefused(f"the target already holds data (table {filled[0]}); nothing was copied (--replace empties it first)")
    async with target.transaction() as tx:
        for table in reversed(tables):
            await tx.execute(f'DELETE FROM "{table}"')
        for table in tables:
            await _copy_table(source, tx, table, shape[table])
        if target.dialect.name == POSTGRESQL:
            for table in tables:
                if "id" in shape[table]:
                    # Identity columns go on from the highest id copied (ids are never reused).
                    sequence = await tx.fetchone("SELECT pg_get_serial_sequence(?, 'id')", (f'"{table}"',))
                    if sequence is not None and sequence[0] is not None:
                        await tx.fetchall(
                            f'SELECT setval(?, COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)',
                            (sequence[0],),
                        )
    checks = []
    for table in tables:
        names = shape[table]
        checks.append(
            TableCheck(
                table,
                await count_rows(source, table),
                await count_rows(target, table),
                await content_hash(source, table, names),
                await content_hash(target, table, names),
            )
        )
    return checks


async def _copy_table(source: Database, tx: Tx, table: str, names: list[str]) -> None:
    listed = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" * len(names))
    rows = await source.fetchall(f'SELECT {listed} FROM "{table}"')
    if rows:
        await tx.executemany(
            f'INSERT INTO "{table}" ({listed}) VALUES ({marks})', [[_canonical(v) for v in row] for row in rows]
        )
