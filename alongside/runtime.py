"""Builds a core App from settings: database, data key, prompts, timeline."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from bot.scheduling.timeline import Timeline
from bot.storage.crypto import FieldCipher, load_or_create_key
from bot.storage.db import Database
from bot.texts.catalog import Catalog


@dataclass
class Core:
    app: App
    db: Database
    timeline: Timeline

    async def close(self) -> None:
        await self.db.close()


def key_file_for(settings: Settings, db_path: Path) -> Path:
    if settings.storage.key_file is not None:
        return settings.storage.key_file
    return db_path.with_name(db_path.name + ".key")


async def build_core(settings: Settings, clock: Clock, *, db_path: Path | None = None, seed: int = 0) -> Core:
    path = db_path or settings.storage.path
    env_key = settings.data_key.get_secret_value() if settings.data_key is not None else None
    key = load_or_create_key(env_key, key_file_for(settings, Path(path)))
    catalog = Catalog(settings.prompts_dir)
    db = await Database.open(path)
    timeline = Timeline()
    app = App(
        settings=settings,
        db=db,
        clock=clock,
        catalog=catalog,
        cipher=FieldCipher(key),
        timeline=timeline,
        seed=seed,
    )
    return Core(app, db, timeline)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
