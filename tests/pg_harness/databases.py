"""Fresh PostgreSQL databases for tests, cloned from a migrated template.

Migrating a database from empty runs every migration (a second or so); cloning the migrated
template with ``CREATE DATABASE ... TEMPLATE`` copies its files instead (see
``tests/pg_harness/test_pg_harness.py`` for the measured figures). The template is made once per
server, on first use, by the store itself (``bot.storage.db.open_database``), so it is whatever
this checkout's migrations make.
"""

from __future__ import annotations

import itertools
import time

import asyncpg

from tests.pg_harness.server import PostgresServer

TEMPLATE = "alongside_template"


class PgDatabases:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self._numbers = itertools.count(1)
        self._template_ready = False
        self.timings: dict[str, list[float]] = {"template": [], "create": [], "drop": []}

    async def _admin(self) -> asyncpg.Connection:
        # One short connection per call: each test runs on its own event loop.
        return await asyncpg.connect(self.server.url("postgres"))

    async def _make_template(self) -> None:
        from bot.storage.db import open_database

        began = time.monotonic()
        conn = await self._admin()
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            await conn.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await conn.close()
        db = await open_database(self.server.url(TEMPLATE))
        await db.close()
        self._template_ready = True
        self.timings["template"].append(time.monotonic() - began)

    async def fresh(self, *, empty: bool = False) -> str:
        """The url of a new database holding the migrated schema and no rows; with `empty`, no
        schema at all (for tests of the migrations themselves)."""
        if not empty and not self._template_ready:
            await self._make_template()
        name = f"t_{next(self._numbers)}"
        began = time.monotonic()
        conn = await self._admin()
        try:
            # FILE_COPY copies the template's few MB of files at once; the default WAL_LOG
            # strategy writes each block to the WAL, slower for a database this small.
            template = "template0" if empty else TEMPLATE
            await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        finally:
            await conn.close()
        self.timings["create"].append(time.monotonic() - began)
        return self.server.url(name)

    async def drop(self, url: str) -> None:
        """Remove a database made by :meth:`fresh` (FORCE: a connection a failing test left open
        must not keep it, and its disk space, for the rest of the run)."""
        name = url.rsplit("/", 1)[1]
        began = time.monotonic()
        conn = await self._admin()
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()
        self.timings["drop"].append(time.monotonic() - began)
