"""One bot process of tests/trust/test_kill9_several_processes.py: a real OS process that builds
the core as `alongside run` does (build_core: the store, the data key, claims), on a simulated
clock shared through a file the test advances, and delivers to a log file.

    python -m tests.trust.several_worker STORE FOLDER INSTANCE [--setup]

STORE is a SQLite path or a postgresql:// url; FOLDER holds `clock` (the target instant, or
"stop"), `progress-INSTANCE` (the instant this process has run everything up to) and
`delivered-INSTANCE` (one line per delivery: outbox id, kind, community). `--setup` makes the
communities and schedules and exits."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from alongside.runtime import build_core
from alongside.settings import load_settings
from bot.clock import FakeClock
from bot.context import Actor, CommunityRef, Invocation
from bot.replies import Delivery
from bot.scheduling.timeline import SimulatedDriver

COMMUNITIES = ("north", "south", "east")
MEMBERS = ("alex", "sam", "kim", "lee", "ari", "jo", "max", "noa")
QUESTION_SCHEDULE = "0 */6 * * *"  # four slots a day
PAIR_SCHEDULE = "weekly mon 10:00"


def mention(token: str) -> str | None:
    return token.removeprefix("@") if token.startswith("@") and len(token) > 1 else None


class LogSink:
    """Each delivery is one line written straight to the file (no buffer a kill could lose)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def deliver(self, delivery: Delivery) -> None:
        line = f"{delivery.outbox_id}\t{type(delivery.intent).__name__}\t{delivery.community_external_id}\n"
        os.write(self._fd, line.encode())


def read_clock(folder: Path) -> datetime | None:
    text = (folder / "clock").read_text().strip()
    return None if text == "stop" else datetime.fromisoformat(text)


async def setup(app, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    for name in COMMUNITIES:
        ref = CommunityRef("console", name, name)

        async def say(user: str, line: str, channel: str | None = "circle", ref: CommunityRef = ref) -> None:
            inv = Invocation(community=ref, actor=Actor(user, user, user == "alex"), channel=channel, private=channel is None)
            await app.handle_text(inv, line, mention)

        await say("alex", f"questions schedule {QUESTION_SCHEDULE}")
        for member in MEMBERS:
            await say(member, "pair join", None)
            await say(member, "yes", None)
        await say("alex", f"pair schedule {PAIR_SCHEDULE}")
    await app.deliver_pending()


async def main(store: str, folder: Path, instance: str, do_setup: bool) -> None:
    settings = load_settings(None)
    start = read_clock(folder)
    assert start is not None
    clock = FakeClock(start)
    core = await build_core(settings, clock, db_path=store, seed=7, instance=instance)  # type: ignore[arg-type]
    app = core.app
    app.attach_sink(LogSink(folder / f"delivered-{instance}"))
    driver = SimulatedDriver(core.timeline, clock)
    try:
        if do_setup:
            await setup(app, clock)
            return
        await app.start()
        progress = folder / f"progress-{instance}"
        last_upkeep = 0.0
        while True:
            target = read_clock(folder)
            if target is None:
                break
            if target > clock.now():
                await driver.advance_to(target, after_each=app.deliver_pending)
            if time.monotonic() - last_upkeep > 1.0:
                await app.upkeep()  # what another process changed, and what it left unsent
                last_upkeep = time.monotonic()
            else:
                await app.deliver_pending()
            tmp = progress.with_suffix(".tmp")
            tmp.write_text(clock.now().isoformat())
            tmp.replace(progress)
            await asyncio.sleep(0.01)
        await app.upkeep()
    finally:
        await core.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], "--setup" in sys.argv[4:]))
