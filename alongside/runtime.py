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
from bot.scheduling.timeline import Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.storage.keycheck import KeyResolver, StoreLock, warn_if_exposed
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
) -> tuple[Database, FieldCipher, StoreLock]:
    """The database and the key that opens it; a DataKeyError (one line: what to fix) otherwise.

    Every command that opens the database comes through here, so none can run with a wrong key,
    make a new key beside stored data, or run while `alongside key rotate` does."""
    path = Path(db_path or settings.storage.path)
    key_file = key_file_for(settings, path)
    resolver = KeyResolver(path, env_key_of(settings), key_file)
    resolver.validate()
    lock = StoreLock(path)
    lock.acquire(exclusive=False)
    try:
        db = await Database.open(path)
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


async def build_core(
    settings: Settings,
    clock: Clock,
    *,
    db_path: Path | None = None,
    seed: int = 0,
    ids: IdSource | None = None,
    owns: Owns = owns_everything,
) -> Core:
    register_all_platforms()
    catalog = Catalog(settings.prompts_dir)
    db, cipher, lock = await open_store(settings, clock, db_path)
    timeline = Timeline()
    app = App(
        settings=settings,
        db=db,
        clock=clock,
        catalog=catalog,
        cipher=cipher,
        timeline=timeline,
        seed=seed,
        ids=ids,
        owns=owns,
    )
    return Core(app, db, timeline, lock)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
