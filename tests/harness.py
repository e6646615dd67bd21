"""An in-process core for tests: an App on a temporary SQLite file, a fake clock, the simulated
driver and a sink that keeps every delivery. Command lines are typed as in the console."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alongside.platforms import register_all_platforms
from alongside.settings import Settings, load_settings
from bot.app import App
from bot.clock import FakeClock
from bot.context import Actor, CommunityRef, Invocation
from bot.replies import Answer, Delivery, Intent
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
POSTGRES_URL_VARIABLE = "ALONGSIDE_TEST_POSTGRES_URL"


async def create_postgres_database(*, migrated: bool = True, for_path: Path | None = None) -> str:
    """A database on the server ALONGSIDE_TEST_POSTGRES_URL names (a copy of one migrated once
    per set of migrations, or empty); its url. `for_path`: the one standing for that SQLite
    file, made on first use and found again after."""
    import asyncpg

    base = os.environ[POSTGRES_URL_VARIABLE]
    if for_path is not None:
        name = _postgres_name(for_path)
    else:
        name = f"t_{uuid.uuid4().hex[:16]}"
    url = base.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(base)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return url
        template = await _migrated_template(base) if migrated else "template0"
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return url


def _postgres_name(path: Path) -> str:
    import hashlib

    return "t_" + hashlib.sha256(str(path).encode()).hexdigest()[:24]


async def copy_store(source: Path, target: Path) -> None:
    """What a harness on folder `source` stored, as the store of a harness on folder `target`
    (SQLite: the files; PostgreSQL: a copy of its database)."""
    if not os.environ.get(POSTGRES_URL_VARIABLE):
        for file in source.iterdir():
            shutil.copy2(file, target / file.name)
        return
    import asyncpg

    conn = await asyncpg.connect(os.environ[POSTGRES_URL_VARIABLE])
    try:
        await conn.execute(
            f'CREATE DATABASE "{_postgres_name(target / "alongside.db")}"'
            f' TEMPLATE "{_postgres_name(source / "alongside.db")}"'
        )
    finally:
        await conn.close()


async def _migrated_template(base: str) -> str:
    """A database with every migration applied, made once: built under a private name and then
    renamed, so a concurrent worker never copies a half-migrated one."""
    import hashlib

    import asyncpg

    from bot.storage.db import available_migrations, open_database, split_sql
    from bot.storage.sql_dialect import postgres_ddl

    # What runs on PostgreSQL: the migrations as translated (a change to either is a new template).
    ddl = [postgres_ddl(statement) for _, _, sql in available_migrations("postgresql") for statement in split_sql(sql)]
    digest = hashlib.sha256(repr(ddl).encode()).hexdigest()[:16]
    name = f"tpl_{digest}"
    conn = await asyncpg.connect(base)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return name
        building = f"build_{uuid.uuid4().hex[:16]}"
        await conn.execute(f'CREATE DATABASE "{building}"')
        db = await open_database(base.rsplit("/", 1)[0] + "/" + building)
        await db.close()
        try:
            await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        except asyncpg.DuplicateDatabaseError:
            await conn.execute(f'DROP DATABASE "{building}"')
    finally:
        await conn.close()
    return name


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ[POSTGRES_URL_VARIABLE])
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()
TEST_KEY = bytes(range(32))


def mention(token: str) -> str | None:
    return token.removeprefix("@") if token.startswith("@") and len(token) > 1 else None


@dataclass
class ListSink:
    deliveries: list[Delivery] = field(default_factory=list)

    async def deliver(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    def intents(self) -> list[Intent]:
        return [d.intent for d in self.deliveries]

    def take(self) -> list[Intent]:
        taken = self.intents()
        self.deliveries.clear()
        return taken


@dataclass
class Harness:
    app: App
    db: Database
    clock: FakeClock
    driver: SimulatedDriver
    sink: ListSink
    path: Path
    facilitators: set[str] = field(default_factory=lambda: {"alex"})
    community: CommunityRef = CommunityRef("console", "demo", "demo")
    # Set when the harness runs on PostgreSQL (its own database, dropped on close).
    postgres_url: str | None = None

    def inv(self, user: str, channel: str | None = "circle", community: CommunityRef | None = None) -> Invocation:
        return Invocation(
            community=community or self.community,
            actor=Actor(user, user, user in self.facilitators),
            channel=channel,
            private=channel is None,
        )

    async def run(
        self, user: str, line: str, channel: str | None = "circle", community: CommunityRef | None = None
    ) -> list[Intent]:
        intents = await self.app.handle_text(self.inv(user, channel, community), line.removeprefix("/"), mention)
        await self.app.deliver_pending()
        return intents

    async def say(self, user: str, line: str, channel: str | None = "circle") -> str:
        """Run a command and return the text of its answers (joined)."""
        return "\n".join(i.text for i in await self.run(user, line, channel) if isinstance(i, Answer))

    async def advance(self, delta: timedelta) -> None:
        await self.driver.advance(delta, after_each=self.app.deliver_pending)

    async def close(self) -> None:
        await self.db.close()


async def make_harness(
    tmp_path: Path, *, seed: int = 1, start: datetime = START, settings: Settings | None = None
) -> Harness:
    settings = settings or load_settings(None)
    register_all_platforms()
    clock = FakeClock(start)
    path = tmp_path / "alongside.db"
    # For now (pgharness owns the real parametrisation): ALONGSIDE_TEST_POSTGRES_URL runs every
    # harness on a fresh database of that PostgreSQL server.
    # The same tmp_path is the same store (a test "restarts" the bot on it).
    postgres_url = await create_postgres_database(for_path=path) if os.environ.get(POSTGRES_URL_VARIABLE) else None
    db = await Database.open(postgres_url or path)
    timeline = Timeline()
    app = App(
        settings=settings,
        db=db,
        clock=clock,
        catalog=Catalog(settings.prompts_dir),
        cipher=FieldCipher(TEST_KEY),
        timeline=timeline,
        seed=seed,
    )
    sink = ListSink()
    app.attach_sink(sink)
    driver = SimulatedDriver(timeline, clock)
    await app.start()
    return Harness(app, db, clock, driver, sink, path, postgres_url=postgres_url)
