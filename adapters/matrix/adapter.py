"""The Matrix adapter: syncs with the homeserver, hands commands to the core, renders intents.

Three tasks run side by side:

* the **sync loop** long-polls ``/sync``, lets nio decrypt and track room state, and queues the
  events that may matter (invites, text messages, undecryptable messages, a member leaving
  their private room) together with the batch's sync token;
* the **processor** takes them in order: it decides whether a message is a command for the bot
  (anything else is dropped on the spot and never stored), has the core run it exactly once
  (the event id is recorded in the same transaction as the command's effects and its answers,
  which go to the durable outbox) and delivers the outbox; only then is the batch's sync token
  saved, so a restart neither misses a command that arrived while the bot was away nor runs
  one twice (a replayed event finds its id recorded, and its answers are already in the outbox);
* the **senders** (one ordered queue per destination, see :mod:`adapters.matrix.sender`) create
  private and pair rooms on first need, wait out rate limits and never drop a message.

The class is put together from two halves, each in its own module: the inbound half
(:mod:`adapters.matrix.inbound`: event to invocation, and `setup`'s platform checks) and the
outbound half (:mod:`adapters.matrix.outgoing`: plan and deliver intents). This module holds
the lifecycle and the sync loop.

Because sending never blocks the sync loop, a new room can be waited for (its members must be
known before an encrypted message can carry its key to them) without a deadlock.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    MegolmEvent,
    MessageDirection,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    SyncError,
    SyncResponse,
)

from adapters.matrix import PLATFORM
from adapters.matrix.events import is_room_state
from adapters.matrix.inbound import NOTE_EVERY, Inbound, Origin, _Invite, _Timeline, _Token
from adapters.matrix.key_backup import KeyBackup
from adapters.matrix.outgoing import SendTask
from adapters.matrix.personal_data import MatrixData
from adapters.matrix.render import Renderer
from adapters.matrix.rooms import MARKER_TYPE, Rooms
from adapters.matrix.sender import (
    SendQueues,
    Transport,
    is_rate_limited,
    retry_after,
    with_rate_limit,
)
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.traits import TRAITS
from bot.app import App, Clock

# Names other modules and tests know from here.
__all__ = ["NOTE_EVERY", "SendTask", "MatrixAdapter", "Origin"]
log = logging.getLogger(__name__)

SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "room": {
        "timeline": {"limit": 50},
        "ephemeral": {"types": []},
        "account_data": {"types": []},
    },
}
BACKFILL_PAGES = 10  # a limited timeline is filled in from /messages, up to this many pages


class MatrixAdapter(Inbound):
    """Lifecycle and syncing here; inbound and outbound halves inherited (Inbound is an Outgoing)."""

    # Outbox deliveries to different rooms go out side by side (each room in order), so one
    # slow or unreachable room does not hold up the others.
    parallel_destinations = True

    def __init__(
        self,
        app: App,
        client: AsyncClient,
        settings: MatrixSettings,
        *,
        clock: Clock | None = None,
        sync_timeout_ms: int = 30_000,
        retry_seconds: float = 30.0,
    ) -> None:
        self.app = app
        self.client = client
        self.settings = settings
        self.clock = clock or app.clock
        self.prefix = settings.command_prefix
        self.sync_timeout_ms = sync_timeout_ms
        self.retry_seconds = retry_seconds
        self.state = app.adapter_state(PLATFORM)
        self.rooms = Rooms(
            client,
            self.state,
            encrypt_new_rooms=settings.encrypt_new_rooms,
            share_space_community=settings.share_space_community,
        )
        self.queues = SendQueues()
        self.transport = Transport(client, self.rooms.wait_ready, before_send=self.rooms.before_send)
        # A command starts with one of its first words in any locale (`!pair`, `!parejas`).
        self.groups = app.command_heads()
        self.renderer = Renderer(self.prefix, sorted(app.command_names()))
        # The words a plain line in a private room may not be read as (see App.private_words).
        self._dialog_words, self._checkin_words = app.private_words()
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []
        self._sync_task: asyncio.Task[None] | None = None
        self._housekeeping_task: asyncio.Task[None] | None = None
        self._housekeeping_again = False
        self._salt = ""
        self._answers = 0
        self._sent: deque[str] = deque(maxlen=2000)  # recent event ids the bot sent
        self._notes: dict[tuple[str, str], Any] = {}
        self._aliases: dict[str, str] = {}
        self._ready_communities: set[tuple[str, str]] = set()
        self.stopped = asyncio.Event()
        self.fatal: str | None = None
        self.key_backup: KeyBackup | None = None  # set by the runner: room keys go to the backup
        self.handled = 0  # commands handled (for tests and the benchmark)
        # Take part in `mydata export/forget` when the core offers it (once per core: a new
        # adapter on the same core, after a reconnect, takes the existing source over).
        source = app.personal_data_source(PLATFORM)
        if source is not None:
            source.rooms = self.rooms
        else:
            app.add_personal_data_source(PLATFORM, MatrixData(self.state, self.rooms))

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, *, start_app: bool = True) -> None:
        """Begin syncing and handling; with `start_app`, also start the core (rebuild its jobs,
        catch up, deliver what is pending)."""
        self._salt = await self.state.get("txn_salt") or ""
        if not self._salt:
            self._salt = secrets.token_hex(4)
            await self.state.put("txn_salt", self._salt)
        self.rooms.salt = self._salt
        await self.rooms.load()
        self.app.register_platform(PLATFORM, TRAITS)
        self.app.attach_sink(self)
        self.app.register_checks(self)
        self._sync_task = asyncio.create_task(self._sync_loop(), name="matrix-sync")
        self._tasks = [
            self._sync_task,
            asyncio.create_task(self._process_loop(), name="matrix-process"),
            asyncio.create_task(self._ticker(), name="matrix-tick"),
        ]
        if start_app:
            await self.app.start()

    async def wait_first_sync(self, timeout: float = 30.0) -> None:
        await asyncio.wait_for(self.rooms.first_sync.wait(), timeout)

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until everything synced so far is handled and sent (for tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await asyncio.wait_for(self._inbox.join(), timeout)
        if not await self.queues.drain(max(0.1, deadline - loop.time())):
            raise TimeoutError("the Matrix adapter still has messages to send")

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop syncing, finish what was already received, send what is queued, close."""
        # Finish what was received (the sync keeps running meanwhile: a reply may need a new
        # room to appear), then stop syncing and finish what the last sync brought.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._inbox.join(), drain_timeout)
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sync_task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._inbox.join(), 2.0)
        for task in [*self._tasks, self._housekeeping_task]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if not await self.queues.drain(drain_timeout):
            log.warning("stopping with %d messages not sent yet", self.queues.pending())
        if self.key_backup is not None:
            await self.key_backup.flush()
        await self.queues.close()
        await self.client.close()
        self.stopped.set()

    # -- syncing -----------------------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        since = await self.state.get("sync_token")
        first = True
        # Synapse keeps a sync's answer for two minutes, keyed by the request's parameters: a
        # restart repeating the last start's first request (same token, as after a crash) would
        # get that old answer, without the rooms joined since (a private room would then look
        # gone and be opened again). A full-state sync returns at once whatever its timeout, so
        # a timeout of its own makes each start's first request new.
        first_timeout = 1 + secrets.randbelow(60_000)
        failures = 0
        while True:
            try:
                response = await self.client.sync(
                    timeout=first_timeout if first else self.sync_timeout_ms,
                    sync_filter=SYNC_FILTER,
                    since=since,
                    full_state=True if first else None,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                log.warning("sync failed (%s); trying again", type(error).__name__)
                await asyncio.sleep(min(2**failures * 0.5, self.settings.reconnect_max_seconds))
                continue
            if isinstance(response, SyncError):
                if await self._sync_refused(response):
                    return
                failures += 1
                await asyncio.sleep(
                    retry_after(response)
                    if is_rate_limited(response)
                    else min(2**failures * 0.5, self.settings.reconnect_max_seconds)
                )
                continue
            failures = 0
            if not isinstance(response, SyncResponse):
                continue
            items = await self._collect(response, since)
            for item in items:
                self._inbox.put_nowait(item)
            self._inbox.put_nowait(_Token(response.next_batch))
            since = response.next_batch
            first = False
            self.rooms.synced()
            self._kick_housekeeping()

    async def _sync_refused(self, response: SyncError) -> bool:
        if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_USER_DEACTIVATED"):
            self.fatal = (
                f"the homeserver no longer accepts the bot's access token ({response.status_code})"
            )
            log.error("%s; stopping", self.fatal)
            self.stopped.set()
            return True
        log.warning("sync refused: %s", response.status_code)
        return False

    async def _collect(self, response: SyncResponse, since: str | None) -> list[Any]:
        """What the processor needs from one sync. On the very first sync (no token yet) only
        invites count: earlier messages are history, not commands for this bot."""
        items: list[Any] = []
        me = self.client.user_id
        for room_id, info in response.rooms.invite.items():
            inviter, is_direct = None, False
            for event in info.invite_state:
                if (
                    isinstance(event, InviteMemberEvent)
                    and event.state_key == me
                    and event.membership == "invite"
                ):
                    inviter = event.sender
                    is_direct = bool(event.content.get("is_direct"))
            items.append(_Invite(room_id, inviter, is_direct))
        for room_id, info in response.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                # Room state only from real state events: a message event of a state type, or a
                # decrypted one (whatever its payload says), is anyone's to make.
                if not is_room_state(event):
                    continue
                kind = event.source["type"]
                if kind == "m.room.create":
                    self.rooms.note_create(room_id, event.source)
                elif kind == "m.room.power_levels":
                    self.rooms.note_power_levels(room_id, event.source)
                elif kind == MARKER_TYPE:
                    self.rooms.note_marker(room_id, event.source)
        if since is None:
            return items
        return items + await self._timeline_items(response, since)

    async def _timeline_items(self, response: SyncResponse, since: str) -> list[Any]:
        """The joined rooms' new events that may matter (messages, a member leaving their
        private room), and the space changes that move a room between communities."""
        items: list[Any] = []
        me = self.client.user_id
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._backfill(room_id, info.timeline.prev_batch, since) + events
            # In a room the bot has just joined, what was said before it came was not said to it.
            for index in range(len(events) - 1, -1, -1):
                event = events[index]
                if (
                    isinstance(event, RoomMemberEvent)
                    and is_room_state(event)
                    and event.state_key == me
                    and event.membership == "join"
                    and event.prev_membership != "join"
                ):
                    events = events[index + 1 :]
                    break
            for event in events:
                if getattr(event, "sender", None) == me:
                    continue
                if isinstance(event, RoomMessageText | MegolmEvent):
                    items.append(_Timeline(room_id, event))
                elif not is_room_state(event):
                    continue
                elif isinstance(event, RoomMemberEvent) and room_id in self.rooms.private:
                    items.append(_Timeline(room_id, event))
                elif event.source["type"] == "m.space.parent":
                    self.rooms.forget_parent(room_id)
                elif event.source["type"] == "m.space.child":
                    # A space listing (or unlisting) a room changes which community it is in.
                    child = event.source.get("state_key")
                    if isinstance(child, str):
                        self.rooms.forget_parent(child)
        return items

    async def _backfill(self, room_id: str, start: str, since: str) -> list[Any]:
        """Messages a limited sync left out (many arrived while the bot was away)."""
        older: list[Any] = []
        token = start
        for _ in range(BACKFILL_PAGES):
            response = await with_rate_limit(
                lambda token=token: self.client.room_messages(
                    room_id,
                    start=token,
                    end=since,
                    direction=MessageDirection.back,
                    limit=100,
                    message_filter={"types": ["m.room.message", "m.room.encrypted"]},
                ),
                what="history",
            )
            if not isinstance(response, RoomMessagesResponse):
                break
            older.extend(response.chunk)
            if not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        older.reverse()
        return older

    def _kick_housekeeping(self) -> None:
        if self.client.olm is None:
            return
        if self._housekeeping_task is not None and not self._housekeeping_task.done():
            self._housekeeping_again = True
            return
        self._housekeeping_task = asyncio.create_task(self._housekeeping(), name="matrix-keys")

    async def _housekeeping(self) -> None:
        """What nio's sync_forever does between syncs: keep the device's keys in order and send
        the to-device messages (room keys) that are waiting."""
        while True:
            self._housekeeping_again = False
            try:
                if self.client.should_upload_keys:
                    await self.client.keys_upload()
                await self.rooms.query_keys()
                if self.client.should_claim_keys:
                    await self.client.keys_claim(self.client.get_users_for_key_claiming())
                await self.client.send_to_device_messages()
                if self.key_backup is not None:
                    await self.key_backup.upload_new()  # new room keys, off the command path
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("key upkeep failed: %s", type(error).__name__)
            if not self._housekeeping_again:
                return
