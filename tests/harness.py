"""An in-process core for tests: an App on a temporary SQLite file, a fake clock, the simulated
driver and a sink that keeps every delivery. Command lines are typed as in the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alongside.platforms import register_all_platforms
from alongside.settings import Settings, load_settings
from bot.app import App
from bot.clock import FakeClock
from bot.context import Actor, CommunityRef, Invocation
from bot.replies import Answer, Delivery, Intent
from bot.scheduling.claims import WorkClaims
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog

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
    path: Path
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
) -> Harness:
    """`instance`: a second harness on the same `tmp_path` under another name is a second
    process sharing the store (its own connection, caches and outbox)."""
    settings = settings or load_settings(None)
    register_all_platforms()
    clock = FakeClock(start)
    path = tmp_path / "alongside.db"
    db = await Database.open(path)
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
    )
    sink = ListSink()
    app.attach_sink(sink)
    driver = SimulatedDriver(timeline, clock)
    await app.start()
    return Harness(app, db, clock, driver, sink, path)
