"""An in-process core for tests: an App on a temporary store, a fake clock, the simulated driver
and a sink that keeps every delivery. Command lines are typed as in the console.

The store is SQLite (a file in the test's folder) unless the test runs under the `store`
fixture's `postgresql` parameter (tests/conftest.py): then each folder a test opens a store in
gets its own fresh PostgreSQL database, so "the same folder" still means "the same store" (a
test reopening it after a restart) and another folder another store."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alongside.platforms import register_all_platforms
from alongside.settings import Settings, load_settings
from bot.app import App
from bot.clock import FakeClock
from bot.context import Actor, CommunityRef, Invocation
from bot.ownership import Owns, owns_everything
from bot.replies import Answer, Delivery, Intent
from bot.scheduling.claims import WorkClaims
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, open_database
from bot.texts.catalog import Catalog

ENGINES = ("sqlite", "postgresql")


class StoreChoice:
    """Where the stores of one test live. SQLite: a file in the folder asked for. PostgreSQL: a
    fresh database per folder (made by `fresh`, from tests/pg_harness), the same one each time
    the same folder is asked for."""

    def __init__(
        self,
        engine: str,
        fresh: Callable[..., Awaitable[str]] | None = None,
        clone: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        assert engine in ENGINES, engine
        self.engine = engine
        self._fresh = fresh
        self._clone = clone
        self.urls: dict[Path, str] = {}

    async def location(self, folder: Path, name: str = "alongside.db", *, empty: bool = False) -> str:
        """The store `name` in `folder`. A new PostgreSQL database holds the migrated schema
        (cloned from a template: fast), or nothing at all with `empty` (for tests that migrate
        from an older version; a new SQLite file is always empty)."""
        if self.engine == "sqlite":
            return str(folder / name)
        key = folder.resolve() / name
        if key not in self.urls:
            assert self._fresh is not None
            self.urls[key] = await self._fresh(empty=empty)
        return self.urls[key]


    async def copy(self, source: Path, target: Path, name: str = "alongside.db") -> None:
        """What the store in folder `source` holds, as the store of folder `target` (SQLite: its
        files; PostgreSQL: a clone of its database, which must have no open connection)."""
        if self.engine == "sqlite":
            for file in source.iterdir():
                shutil.copy2(file, target / file.name)
            return
        assert self._clone is not None
        self.urls[target.resolve() / name] = await self._clone(self.urls[source.resolve() / name])


# The choice of the running test (set by the `store` fixture); SQLite when none is set.
_current: StoreChoice | None = None


def current_store() -> StoreChoice:
    return _current or StoreChoice("sqlite")


def use_store(choice: StoreChoice | None) -> None:
    global _current
    _current = choice


async def copy_store(source: Path, target: Path) -> None:
    """The store of folder `source`, copied as the store of folder `target` (the running test's
    engine)."""
    await current_store().copy(source, target)


async def store_location(folder: Path, name: str = "alongside.db", *, empty: bool = False) -> str:
    """Where the running test's store for `folder` is: a file path or a postgresql:// url."""
    return await current_store().location(folder, name, empty=empty)


START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
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
    path: Path  # the SQLite file; on PostgreSQL, where it would be (see `location`)
    engine: str = "sqlite"
    location: str = ""  # what the store was opened from: the file's path or the database's url
    facilitators: set[str] = field(default_factory=lambda: {"alex"})
    community: CommunityRef = CommunityRef("console", "demo", "demo")

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
    tmp_path: Path,
    *,
    seed: int = 1,
    start: datetime = START,
    settings: Settings | None = None,
    instance: str = "harness",
    clock: FakeClock | None = None,
    owns: Owns = owns_everything,
) -> Harness:
    """`instance`: a second harness on the same `tmp_path` under another name is a second
    process sharing the store (its own connection, caches and outbox); `clock` one the
    processes share, `owns` the communities this one serves."""
    settings = settings or load_settings(None)
    register_all_platforms()
    clock = clock or FakeClock(start)
    path = tmp_path / "alongside.db"
    choice = current_store()
    location = await choice.location(tmp_path)
    db = await open_database(location)
    # Claimed like a real process's runs (bot/scheduling/claims.py), so every test exercises it.
    timeline = Timeline(claims=WorkClaims(db, instance))
    app = App(
        settings=settings,
        db=db,
        clock=clock,
        catalog=Catalog(settings.prompts_dir),
        cipher=FieldCipher(TEST_KEY),
        timeline=timeline,
        seed=seed,
        instance=instance,
        owns=owns,
    )
    sink = ListSink()
    app.attach_sink(sink)
    driver = SimulatedDriver(timeline, clock)
    await app.start()
    return Harness(app, db, clock, driver, sink, path, engine=choice.engine, location=location)


async def stored_bytes(location: str | Path) -> bytes:
    """Everything a closed store holds, as bytes, for tests that check what is never stored
    readably (a member's words, the data key). SQLite: the database file and its WAL, as on
    disk. PostgreSQL: every value of every table, text as UTF-8 and bytea as is (PostgreSQL's
    files hold the same values, but only after a checkpoint, and laid out in pages: what matters
    here is what a reader of the database gets)."""
    location = str(location)
    if not location.startswith(("postgresql://", "postgres://")):
        path = Path(location.removeprefix("sqlite:"))
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    import asyncpg

    conn = await asyncpg.connect(location)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            )
        ]
        parts: list[bytes] = []
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                for value in row.values():
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value))
                    elif value is not None:
                        parts.append(str(value).encode())
        return b"\n".join(parts)
    finally:
        await conn.close()
