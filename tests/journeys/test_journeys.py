"""Every story in ``tests/journeys/stories`` played in full through the console (a month, the
same transcript on every run). On failure the console transcript's end is shown."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

from tests.journeys import stories
from tests.journeys.console_world import ConsoleWorld

STORIES: list[ModuleType] = [
    importlib.import_module(f"{stories.__name__}.{info.name}")
    for info in pkgutil.iter_modules(stories.__path__)
]


@pytest.mark.parametrize("story", STORIES, ids=[s.__name__.rsplit(".", 1)[-1] for s in STORIES])
async def test_story_in_the_console(story: ModuleType, tmp_path) -> None:
    world = await ConsoleWorld.open(tmp_path, list(story.PEOPLE))
    try:
        await story.play(world)
    except AssertionError:
        print("\n".join(world.transcript[-80:]))
        raise
    finally:
        await world.close()
