"""Builds a core App from settings: database, data key, prompts, timeline."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alongside.platforms import register_all_platforms
from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from bot.ids import IdSource
from bot.ownership import Owns, owns_everything
from bot.scheduling.claims import WorkClaims
from bot.scheduling.timeline import Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, open_database
from bot.storage.keycheck import KeyResolver, StoreLock, warn_if_exposed
from bot.storage.sql_dialect import is_postgres_url, redact_url, sqlite_path
from bot.texts.catalog import Catalog


@dataclass
class Core:
    app: App
    db: Database
    timeline: Timeline
    lock: StoreLock | None = None

    async def close(self) -> None:
        await self.db.close()
        if self.lock is not None:
            self.lock.release()


def key_file_for(settings: Settings, db_path: Path) -> Path:
    if settings.storage.key_file is not None:
        return settings.storage.key_file
    return db_path.with_name(db_path.name + ".key")


def env_key_of(settings: Settings) -> str | None:
    return settings.data_key.get_secret_value() if settings.data_key is not None else None


async def open_store(
    settings: Settings, clock: Clock, db_path: Path | None = None
) -> tuple[Database, FieldCipher, StoreLock | None]:
    """The database and the key that opens it; a DataKeyError (one line: what to fix) otherwise.

    Every command that opens the database comes through here, so none can run with a wrong key,
    make a new key beside stored data, or run while `alongside key rotate` does."""
    location = str(db_path) if db_path is not None else settings.store_location()
    if is_postgres_url(location):
        return await _open_postgres(settings, clock, location)
    path = Path(sqlite_path(location))
    key_file = key_file_for(settings, path)
    resolver = KeyResolver(path, env_key_of(settings), key_file)
    resolver.validate()
    lock = StoreLock(path)
    lock.acquire(exclusive=False)
    try:
        db = await open_database(path)
        try:
            choice = await resolver.resolve(db, clock.now())
        except BaseException:
            await db.close()
            raise
    except BaseException:
        lock.release()
        raise
    warn_if_exposed(path, key_file)
    return db, FieldCipher(choice.key), lock


async def _open_postgres(settings: Settings, clock: Clock, url: str) -> tuple[Database, FieldCipher, None]:
    """PostgreSQL: the key as for SQLite (ALONGSIDE_DATA_KEY, or the key file, by default beside
    storage.path); no file lock (the processes sharing the store may be on several machines)."""
    key_file = key_file_for(settings, Path(settings.storage.path))
    resolver = KeyResolver(redact_url(url), env_key_of(settings), key_file)
    resolver.validate()
    db = await open_database(url)
    try:
        choice = await resolver.resolve(db, clock.now())
    except BaseException:
        await db.close()
        raise
    return db, FieldCipher(choice.key), None


async def build_core(
    settings: Settings,
    clock: Clock,
    *,
    db_path: Path | None = None,
    seed: int = 0,
    ids: IdSource | None = None,
    instance: str = "main",
    owns: Owns = owns_everything,
) -> Core:
    """`instance`: this process's name among several sharing the store, unless `[processes]
    instance` names it (runners pass their platform's name)."""
    register_all_platforms()
    catalog = Catalog(settings.prompts_dir)
    db, cipher, lock = await open_store(settings, clock, db_path)
    instance = settings.processes.instance or instance
    # Every job run is claimed in the database, so processes sharing the store run each once.
    timeline = Timeline(claims=WorkClaims(db, instance))
    app = App(
        settings=settings,
        db=db,
        clock=clock,
        catalog=catalog,
        cipher=cipher,
        timeline=timeline,
        seed=seed,
        ids=ids,
        instance=instance,
        owns=owns,
    )
    return Core(app, db, timeline, lock)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
