"""Running Alongside's Matrix adapter in-process against the test Synapse, and members'
helpers to talk to it.

The bot runs in the test's event loop on a real nio client, with the core on a FakeClock and
the SimulatedDriver, so a test moves time with :meth:`Bot.advance` (scheduled questions,
pairing rounds) instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nio import Event, MegolmEvent, RoomMessageNotice, RoomMessageText
from pydantic import SecretStr

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import connect, crypto_store_key
from adapters.matrix.cross_signing import Outcome, bootstrap
from adapters.matrix.key_backup import KeyBackup, start_backup
from adapters.matrix.settings import MatrixSettings
from alongside.settings import Settings, load_settings
from bot.app import App
from bot.clock import FakeClock
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.adapter_state import AdapterState
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.synapse import RegisteredUser, SynapseServer

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
TEST_KEY = bytes(range(32))
MESSAGES = (RoomMessageText, RoomMessageNotice)


@dataclass
class Bot:
    synapse: SynapseServer
    user: RegisteredUser
    settings: Settings
    matrix: MatrixSettings
    db_path: Path
    clock: FakeClock
    app: App | None = None
    db: Database | None = None
    driver: SimulatedDriver | None = None
    adapter: MatrixAdapter | None = None
    starts: int = 0
    cross_signing: Outcome | None = None
    key_backup: KeyBackup | None = None

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def start(self) -> Bot:
        self.db = await Database.open(self.db_path)
        timeline = Timeline()
        self.app = App(
            settings=self.settings,
            db=self.db,
            clock=self.clock,
            catalog=Catalog(self.settings.prompts_dir),
            cipher=FieldCipher(TEST_KEY),
            timeline=timeline,
            seed=1,
        )
        self.driver = SimulatedDriver(timeline, self.clock)
        pickle_key = await crypto_store_key(self.app.adapter_state("matrix"), self.app.cipher)
        client = await connect(self.matrix, SecretStr(self.user.access_token), None, pickle_key=pickle_key)
        # As `alongside run` does (adapters/matrix/runner.py): the device is cross-signed.
        self.cross_signing = await bootstrap(client, self.app.adapter_state("matrix"), self.app.cipher, None)
        # ... and room keys are backed up, a new store filled from the backup before the first sync.
        self.key_backup = await start_backup(client, self.app.adapter_state("matrix"), self.app.cipher)
        self.adapter = MatrixAdapter(self.app, client, self.matrix, sync_timeout_ms=10_000, retry_seconds=2.0)
        self.adapter.key_backup = self.key_backup
        await self.adapter.start()
        await self.adapter.wait_first_sync()
        self.starts += 1
        return self

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop()
            self.adapter = None
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def set_state(self, key: str, value: str) -> None:
        """Change the adapter's stored state while the bot is stopped."""
        assert self.adapter is None, "stop the bot first"
        db = await Database.open(self.db_path)
        try:
            await AdapterState(db, "matrix").put(key, value)
        finally:
            await db.close()

    async def advance(self, delta: timedelta) -> None:
        assert self.driver is not None and self.app is not None
        await self.driver.advance(delta, after_each=self.app.deliver_pending)
        await self.app.deliver_pending()

    async def idle(self) -> None:
        assert self.adapter is not None
        await self.adapter.idle()

    async def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        assert self.db is not None
        row = await self.db.fetchone(sql, params)
        return None if row is None else row[0]


async def start_bot(
    synapse: SynapseServer,
    tmp_path: Path,
    localpart: str,
    *,
    allowed_inviters: tuple[str, ...] = (),
    **matrix: Any,
) -> Bot:
    user = await asyncio.to_thread(synapse.register, localpart)
    settings = load_settings(None)
    matrix_settings = MatrixSettings(
        homeserver=synapse.base_url,
        user_id=user.user_id,
        store_path=tmp_path / "bot-store",
        allowed_inviters=list(allowed_inviters),
        reconnect_max_seconds=1.0,
        **matrix,
    )
    bot = Bot(synapse, user, settings, matrix_settings, tmp_path / "alongside.db", FakeClock(START))
    return await bot.start()


# -- members ---------------------------------------------------------------------------------


def seen(client: Any) -> list[tuple[str, Event]]:
    """(room id, event) for every timeline event the member's client received."""
    return list(kit._INBOXES[client].events)


async def accept_bot_invites(member: kit.Member, bot_id: str) -> list[str]:
    joined = []
    for room_id, room in list(member.client.invited_rooms.items()):
        if room.inviter == bot_id:
            await kit.join(member.client, room_id)
            joined.append(room_id)
    return joined


def _fmt(events: list[tuple[str, Event]]) -> str:
    return "; ".join(
        f"{type(e).__name__}[{r[:8]}]({getattr(e, 'body', '')[:60]!r})" for r, e in events[-8:]
    )


async def wait_bot(
    member: kit.Member,
    bot_id: str,
    predicate: Callable[[str], bool] | str,
    *,
    room_id: str | None = None,
    after: int = 0,
    timeout: float = 20.0,
) -> tuple[str, Any]:
    """The first message from the bot (in `room_id`, or anywhere) whose body matches, joining
    the bot's invites (private and pair rooms) on the way. `after` skips the first events
    already seen (see :func:`mark`)."""
    if isinstance(predicate, str):
        needle = predicate
        predicate = lambda body: needle in body  # noqa: E731
    deadline = time.monotonic() + timeout
    while True:
        member.sync.check()
        await accept_bot_invites(member, bot_id)
        for index, (room, event) in enumerate(seen(member.client)):
            if index < after or not isinstance(event, MESSAGES) or event.sender != bot_id:
                continue
            if room_id is not None and room != room_id:
                continue
            if predicate(event.body):
                return room, event
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{member.user_id}: no matching message from the bot; saw {_fmt(seen(member.client))}"
            )
        await asyncio.sleep(0.05)


def help_for(command: str) -> Callable[[str], bool]:
    """Matches the bot's answer to `help <command>` (not the full list, which names it too)."""
    return lambda body: body.startswith(f"!{command}") and "Who can use it" in body


def mark(member: kit.Member) -> int:
    return len(seen(member.client))


def bot_messages(member: kit.Member, bot_id: str, room_id: str | None = None, after: int = 0) -> list[Any]:
    return [
        event
        for index, (room, event) in enumerate(seen(member.client))
        if index >= after
        and isinstance(event, (*MESSAGES, MegolmEvent))
        and event.sender == bot_id
        and (room_id is None or room == room_id)
    ]


async def quiet(seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)


@dataclass
class Space:
    """A community room with its members, the first of whom created it (power 100)."""

    room_id: str
    members: list[kit.Member] = field(default_factory=list)


async def community_room(
    bot: Bot,
    members: list[kit.Member],
    *,
    encrypted: bool,
    name: str = "circle",
) -> str:
    """members[0] creates the room and invites the bot and the others; everyone joins."""
    owner = members[0]
    room_id = await kit.create_room(
        owner.client,
        name=name,
        encrypted=encrypted,
        invite=[bot.user_id, *(m.user_id for m in members[1:])],
    )
    for other in members[1:]:
        await kit.accept_invite(other.client, room_id)
    for other in members[1:]:
        await kit.wait_for_member(owner.client, room_id, other.user_id)
    await kit.wait_for_member(owner.client, room_id, bot.user_id, timeout=30)
    for member in members:
        await kit.wait_for_member(member.client, room_id, bot.user_id, timeout=30)
        if encrypted:
            others = [m.user_id for m in members if m is not member]
            await kit.trust_all_devices(member.client, [bot.user_id, *others])
    return room_id


async def say(member: kit.Member, room_id: str, text: str, **extra: Any) -> str:
    return await kit.send_text(member.client, room_id, text, extra_content=extra or None)
