"""The console world: the real console adapter in-process, with the console's seeded ids, so a
journey's transcript is the same on every run. Who sees what follows the intents: an answer
reaches the person who typed, a private message its addressee, a post in a channel everyone,
a pair space's post its members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.adapter import ConsoleAdapter
from alongside.runtime import Core, build_core
from alongside.settings import Settings, load_settings
from bot.clock import FakeClock
from bot.ids import SeededIds
from bot.replies import (
    ActionButtons,
    Answer,
    ChannelPost,
    ConfirmPrompt,
    Delivery,
    FormRequest,
    Intent,
    PairSpaceClose,
    PairSpaceOpen,
    PairSpacePost,
    PrivateFile,
    PrivateMessage,
    Reply,
)
from bot.scheduling.timeline import SimulatedDriver
from tests.harness import store_location
from tests.journeys.world import Inbox, Seen, WeekOver, joined

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


class ConsoleWorld:
    prefix = "/"

    def __init__(
        self,
        core: Core,
        adapter: ConsoleAdapter,
        clock: FakeClock,
        people: list[str],
        horizon: timedelta | None,
    ) -> None:
        self.core = core
        self.adapter = adapter
        self.time = clock
        self.people = people
        self.facilitator = people[0]
        self.start = clock.now()
        self.horizon = horizon
        self.transcript: list[str] = []
        self.inboxes: dict[str, Inbox] = {name: Inbox() for name in people}
        self.pair_spaces: dict[str, tuple[str, ...]] = {}
        # Both ways intents reach people: answers returned to the typist, and the outbox.
        adapter.write = self.transcript.append
        shown = adapter.show

        def show(member: str, intents: list[Intent]) -> None:
            for intent in intents:
                self._record(intent, typist=member)
            shown(member, intents)

        adapter.show = show  # type: ignore[method-assign]
        core.app.attach_sink(self)

    @classmethod
    async def open(
        cls, tmp_path: Path, people: list[str], *, seed: int = 1, horizon: timedelta | None = None
    ) -> ConsoleWorld:
        settings = load_settings(None).model_copy(deep=True)
        settings.console.members = list(people)
        settings.console.facilitators = [people[0]]
        # The key beside the SQLite file, as by default; named here because a PostgreSQL store
        # has no file to put it beside.
        settings.storage.key_file = tmp_path / "journey.db.key"
        settings = Settings.model_validate(settings.model_dump())
        clock = FakeClock(START)
        # The test's engine (tests/harness.py): this folder's SQLite file or PostgreSQL database.
        location = await store_location(tmp_path, "journey.db")
        core = await build_core(settings, clock, db_path=location, seed=seed, ids=SeededIds(seed))
        driver = SimulatedDriver(core.timeline, clock)
        adapter = ConsoleAdapter(core.app, clock, driver, settings.console, lambda _: None)
        world = cls(core, adapter, clock, people, horizon)
        await adapter.start()
        return world

    async def close(self) -> None:
        await self.core.close()

    # -- the World protocol ------------------------------------------------------------------

    def command(self, line: str) -> str:
        return self.prefix + line

    async def type(self, who: str, line: str, *, private: bool = False) -> str:
        mark = len(self.inbox(who).items)
        await self.adapter.handle_line(f"/as {who}")
        await self.adapter.handle_line(
            "/in private" if private else f"/in #{self.adapter.settings.channel}"
        )
        self.transcript.append(f"{who}> {line}")
        await self.adapter.handle_line("/" + line)
        return joined(self.inbox(who).since(mark))

    async def answer(self, who: str, text: str) -> str:
        mark = len(self.inbox(who).items)
        await self.adapter.handle_line(f"/as {who}")
        await self.adapter.handle_line("/in private")
        self.transcript.append(f"{who}> {text}")
        await self.adapter.handle_line(text)
        return joined(self.inbox(who).since(mark))

    async def clock_to(self, when: datetime) -> None:
        await self.clock_by(when - self.time.now())

    async def clock(self, delta: timedelta) -> None:
        await self.clock_by(delta)
        if self.horizon is not None and self.time.now() - self.start >= self.horizon:
            raise WeekOver

    async def clock_by(self, delta: timedelta) -> None:
        self.transcript.append(f"... {delta}")
        await self.adapter.driver.advance(delta, after_each=self.core.app.deliver_pending)

    def inbox(self, who: str) -> Inbox:
        return self.inboxes.setdefault(who, Inbox())

    def news(self, who: str) -> str:
        inbox = self.inbox(who)
        items = inbox.since(inbox.read)
        inbox.read = len(inbox.items)
        return joined(items)

    # -- who sees what -----------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        self._record(delivery.intent, typist=None)
        await self.adapter.deliver(delivery)

    def _to(self, who: str, where: str, text: str) -> None:
        self.inbox(who).items.append(Seen(where, text))

    def _everyone(self, text: str) -> None:
        for name in list(self.inboxes):
            self._to(name, "room", text)

    def _record(self, intent: Intent, typist: str | None) -> None:
        match intent:
            case Answer():
                if intent.private or typist is None:
                    self._to(typist or self.facilitator, "private", intent.text)
                else:
                    self._everyone(intent.text)
            case Reply():
                if intent.private:
                    self._to(intent.user_id, "private", intent.text)
                else:
                    self._everyone(intent.text)
            case ChannelPost():
                self._everyone(intent.text)
            case (
                PrivateMessage() | ConfirmPrompt() | FormRequest() | ActionButtons() | PrivateFile()
            ):
                self._to(intent.user_id, "private", intent.text)
            case PairSpaceOpen():
                self.pair_spaces[intent.space_key] = intent.member_ids
                for name in intent.member_ids:
                    self._to(name, "pair", intent.text)
            case PairSpacePost() | PairSpaceClose():
                for name in self.pair_spaces.get(intent.space_key, ()):
                    self._to(name, "pair", intent.text)
