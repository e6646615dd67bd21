"""Every story in ``tests/journeys/stories`` played in full through the console (a month, the
same transcript on every run), and its first week through the Matrix adapter on the test Synapse
(plain rooms). On failure the transcript's end is shown, and on Matrix what each person saw."""

from __future__ import annotations

import importlib
import pkgutil
import time
from types import ModuleType

import pytest

from tests.journeys import stories
from tests.journeys.console_world import ConsoleWorld
from tests.journeys.matrix_world import MatrixWorld
from tests.journeys.world import WeekOver

STORIES: list[ModuleType] = [
    importlib.import_module(f"{stories.__name__}.{info.name}")
    for info in pkgutil.iter_modules(stories.__path__)
]
IDS = [s.__name__.rsplit(".", 1)[-1] for s in STORIES]


@pytest.mark.parametrize("story", STORIES, ids=IDS)
async def test_story_in_the_console(story: ModuleType, tmp_path, store) -> None:
    world = await ConsoleWorld.open(tmp_path, list(story.PEOPLE))
    try:
        await story.play(world)
    except AssertionError:
        print("\n".join(world.transcript[-80:]))
        raise
    finally:
        await world.close()


@pytest.mark.timeout(240)  # the first Synapse test of a session also starts Synapse
@pytest.mark.parametrize("story", STORIES, ids=IDS)
async def test_story_first_week_on_matrix(story: ModuleType, synapse, tmp_path) -> None:
    began = time.monotonic()
    world = await MatrixWorld.open(synapse, tmp_path, list(story.PEOPLE))
    opened = time.monotonic() - began
    try:
        await story.play(world)
    except WeekOver:
        pass  # the first week played; the rest is the console's
    except BaseException:
        print("\n".join(world.transcript[-80:]))
        for name, person in world.people.items():
            print(f"\n== what {name} saw ==")
            for seen in person.inbox.items[-30:]:
                print(f"[{seen.where}] {seen.text}")
        raise
    finally:
        print(f"first week on Matrix: {time.monotonic() - began:.1f} s ({opened:.1f} s to open)")
        await world.close()
