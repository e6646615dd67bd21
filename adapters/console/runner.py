"""`alongside run` with the console adapter: interactive on a terminal, scripted otherwise."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from adapters.console.adapter import ConsoleAdapter
from alongside.runtime import build_core
from alongside.settings import Settings
from bot.clock import FakeClock
from bot.ids import SeededIds
from bot.scheduling.timeline import SimulatedDriver


async def run_console(settings: Settings, *, db_path: Path | None, seed: int, start: datetime) -> int:
    clock = FakeClock(start)
    # Every random choice comes from the seed here, ids too, so a script's transcript repeats.
    core = await build_core(settings, clock, db_path=db_path, seed=seed, ids=SeededIds(seed), instance="console")
    driver = SimulatedDriver(core.timeline, clock)

    def write(text: str) -> None:
        print(text, flush=True)

    adapter = ConsoleAdapter(core.app, clock, driver, settings.console, write)
    interactive = sys.stdin.isatty()
    try:
        await adapter.start()
        if interactive:
            write(adapter.t("console.welcome"))
        loop = asyncio.get_running_loop()
        while adapter.running:
            if interactive:
                line = await loop.run_in_executor(None, _read_prompt, adapter.prompt())
                if line is None:
                    break
            else:
                line = sys.stdin.readline()
                if not line:
                    break
                if line.strip():
                    write(adapter.prompt() + line.strip())
            await adapter.handle_line(line)
    finally:
        await core.close()
    return 0


def _read_prompt(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
