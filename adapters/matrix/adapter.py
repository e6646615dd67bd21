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

Because sending never blocks the sync loop, a new room can be waited for (its members must be
known before an encrypted message can carry its key to them) without a deadlock.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    MegolmEvent,
    MessageDirection,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomResolveAliasResponse,
    SyncError,
    SyncResponse,
    UploadResponse,
)

from adapters.matrix import PLATFORM
from adapters.matrix.events import (
    first_word,
    is_edit,
    is_room_state,
    make_resolver,
    read_command,
    replied_to,
    thread_root,
)
from adapters.matrix.personal_data import MatrixData
from adapters.matrix.render import NO_MENTIONS, NOTICE, TEXT, Renderer
from adapters.matrix.rooms import MARKER_TYPE, Rooms
from adapters.matrix.sender import (
    PermanentSendError,
    SendQueues,
    Transport,
    is_rate_limited,
    retry_after,
    with_rate_limit,
)
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.traits import TRAITS
from bot.app import App, Once
from bot.clock import Clock
from bot.context import Actor, CommunityRef, Invocation
from bot.features.dialogs import COMMANDS as DIALOG_COMMANDS
from bot.features.pairing.checkins import DONE_WORDS, SKIP_WORDS
from bot.features.setup import ChannelVerdict
from bot.outbox import TransientDeliveryError
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
    RemoveMessage,
    Reply,
)
from bot.storage.adapter_state import AdapterState

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
NOTE_EVERY = timedelta(minutes=10)  # the undecryptable / unlinked notes, per room and member

Job = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class _Invite:
    room_id: str
    inviter: str | None
    is_direct: bool


@dataclass(frozen=True)
class _Timeline:
    room_id: str
    event: Any


@dataclass(frozen=True)
class _Token:
    token: str


@dataclass(frozen=True)
class Where:
    """What kind of room a message came from."""

    # "room" (a community room), "private", "pair", "direct" (a DM a member opened, not linked
    # yet), "own" (a private room whose link was forgotten)
    kind: str
    community: str | None
    user: str | None = None


class MatrixAdapter:
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
        self.state = AdapterState(app.db, PLATFORM)
        self.rooms = Rooms(
            client,
            app.db,
            self.state,
            encrypt_new_rooms=settings.encrypt_new_rooms,
            share_space_community=settings.share_space_community,
        )
        self.queues = SendQueues()
        self.transport = Transport(client, self.rooms.wait_ready, before_send=self.rooms.before_send)
        specs = app.registry.specs()
        self.groups = frozenset(spec.group for spec in specs)
        self.renderer = Renderer(self.prefix, [spec.name for spec in specs])
        self._dialog_words = frozenset(spec.name for spec in DIALOG_COMMANDS)
        # A waiting check-in's own words: `skip` and `done` are also step-by-step commands, but
        # with no step-by-step answer open they belong to the check-in.
        self._checkin_words = frozenset((*SKIP_WORDS, *DONE_WORDS))
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
        self.handled = 0  # commands handled (for tests and the benchmark)
        # Take part in `mydata export/forget` when the core offers it (once per core: a new
        # adapter on the same core, after a reconnect, takes the existing source over).
        source = getattr(app, "_matrix_personal_data", None)
        add_source = getattr(getattr(app, "mydata", None), "add_source", None)
        if source is not None:
            source.rooms = self.rooms
        elif add_source is not None:
            source = MatrixData(app.db, self.rooms)
            add_source(source)
            app._matrix_personal_data = source  # type: ignore[attr-defined]

    @property
    def user_id(self) -> str:
        return self.client.user_id

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
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("key upkeep failed: %s", type(error).__name__)
            if not self._housekeeping_again:
                return

    # -- processing --------------------------------------------------------------------------------

    async def _process_loop(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                if isinstance(item, _Token):
                    await self.state.put("sync_token", item.token)
                elif isinstance(item, _Invite):
                    await self._on_invite(item)
                elif isinstance(item.event, RoomMessageText):
                    await self._on_message(item.room_id, item.event)
                elif isinstance(item.event, MegolmEvent):
                    await self._on_undecryptable(item.room_id, item.event)
                elif isinstance(item.event, RoomMemberEvent):
                    await self._on_member(item.room_id, item.event)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never log the event itself: it may hold someone's words.
                log.exception("handling a Matrix event failed")
            finally:
                self._inbox.task_done()

    def _inviter_allowed(self, inviter: str | None) -> bool:
        allowed = self.settings.allowed_inviters
        if not allowed:
            return True
        if inviter is None:
            return False
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        return inviter in allowed or f"@*:{server}" in allowed

    async def _on_invite(self, invite: _Invite) -> None:
        if not self._inviter_allowed(invite.inviter):
            log.info("declining an invite to %s from %s (not an allowed inviter)", invite.room_id, invite.inviter)
            await with_rate_limit(lambda: self.client.room_leave(invite.room_id), what="declining")
            return
        response = await with_rate_limit(lambda: self.client.join(invite.room_id), what="joining")
        if getattr(response, "room_id", None) != invite.room_id:
            log.warning("could not join %s: %s", invite.room_id, getattr(response, "status_code", "?"))
            return
        self.rooms.expect(invite.room_id)
        if invite.is_direct and invite.inviter and invite.room_id not in self.rooms.private:
            await self.rooms.remember_direct(invite.room_id, invite.inviter)
        log.info("joined %s (invited by %s)", invite.room_id, invite.inviter)

    def where(self, room_id: str) -> Where:
        private = self.rooms.private.get(room_id)
        if private is not None:
            return Where("private", private.community, private.user_id)
        pair = self.rooms.pairs.get(room_id)
        if pair is not None:
            return Where("pair", pair.community)
        if room_id in self.rooms.direct:
            return Where("direct", None, self.rooms.direct[room_id] or None)
        if room_id in self.rooms.own:
            return Where("own", self.rooms.own[room_id])  # a private room whose link was forgotten
        return Where("room", None)

    async def _on_message(self, room_id: str, event: RoomMessageText) -> None:
        content = event.source.get("content", {})
        if content.get("msgtype") != "m.text" or is_edit(content):
            return
        where = self.where(room_id)
        # Only the member's own private room with the bot takes commands without the prefix
        # (and step-by-step answers); a pair room is the pair's conversation, read like a
        # community room: prefixed commands only.
        one_to_one = where.kind in ("private", "direct", "own")
        private = where.kind != "room"
        if where.user is not None and event.sender != where.user:
            return  # a private room is one member's; nobody else's lines count there
        read = read_command(content, self.prefix, private=one_to_one, groups=self.groups)
        if read is None:
            return  # not for the bot: not read further, not stored
        text, command = read.text, read.command
        if where.kind in ("direct", "own"):
            if self.rooms.sole_member(room_id) != event.sender:
                return  # only a one-to-one room with the bot can be someone's private room
            if where.kind == "own":
                assert where.community is not None
                await self.rooms.remember_private(room_id, where.community, event.sender)
                where = Where("private", where.community, event.sender)
            else:
                linked = await self._link_direct(room_id, event.sender)
                if linked is None:
                    return
                where = linked
        if where.kind == "room":
            community, community_name = await self.rooms.community_of(room_id)
        else:
            assert where.community is not None
            community = where.community
            community_name = await self._community_name(community)
        plain = False
        if one_to_one and not read.too_long and not text.strip().startswith(self.prefix):
            # An open step-by-step answer reads every line but its own words (skip, back, done);
            # a waiting check-in reads a line that is not a command, and its skip and done.
            reader = await self.app.plain_reader(PLATFORM, community, event.sender)
            word = first_word(text)
            if reader == "dialog" and word not in self._dialog_words:
                plain = True
            elif reader == "checkin" and (word not in self.groups or word in self._checkin_words):
                plain = True
        power_rooms = [community, room_id] if where.kind == "room" else await self._power_rooms(community)
        if where.kind == "room":
            await self._community_ready(community, community_name, room_id)
        inv = Invocation(
            community=CommunityRef(PLATFORM, community, community_name),
            actor=Actor(
                event.sender,
                self.rooms.display_name([room_id, *power_rooms], event.sender),
                await self._is_facilitator(community, event.sender, power_rooms),
            ),
            channel=None if private else room_id,
            private=private,
            prefix=self.prefix,
            # In a shared room the member's line can be taken down on their yes, if the bot may.
            message_ref=event.event_id if where.kind == "room" else "",
            removable=where.kind == "room" and self.rooms.may_redact(room_id, self.user_id),
        )
        # Exactly once: the core records the event id with the command's effects and writes the
        # answers to the outbox in that same transaction; a replayed event is skipped there.
        once = Once(event.event_id, room_id, thread_root(content) or "", where.kind == "private")
        if plain:
            await self.app.handle_plain(inv, text.strip(), once=once)
        else:
            resolver = make_resolver(lambda: self.rooms.members([room_id, *power_rooms]))
            await self.app.handle_text(inv, command, resolver, once=once)
        self.handled += 1
        await self.app.deliver_pending()

    async def _community_name(self, community_external_id: str) -> str:
        found = await self.app.communities.find(self.app.db, PLATFORM, community_external_id)
        if found is not None and found.name:
            return found.name
        room = self.client.rooms.get(community_external_id)
        return room.display_name if room is not None else community_external_id

    async def _community_ready(self, community: str, name: str, room_id: str) -> None:
        """On first contact a community room is also the community's question channel, so
        commands typed in a private room have somewhere to post (`setup` changes it)."""
        if (community, room_id) in self._ready_communities:
            return
        inv = Invocation(CommunityRef(PLATFORM, community, name), Actor(""), room_id)
        found = await self.app.community_for(inv)
        if not found.question_channel:
            async with self.app.db.transaction() as tx:
                await self.app.communities.update(tx, found.id, question_channel=room_id)
        self._ready_communities.add((community, room_id))

    async def _power_rooms(self, community: str) -> list[str]:
        rooms = [community]
        found = await self.app.communities.find(self.app.db, PLATFORM, community)
        if found is not None and found.question_channel.startswith("!"):
            rooms.append(found.question_channel)
        return rooms

    async def _is_facilitator(self, community: str, user_id: str, rooms: list[str]) -> bool:
        """The community's own rule (`setup facilitator-rule`), else the power level in its
        room: at least `facilitator_power_level` (50 by default)."""
        found = await self.app.communities.find(self.app.db, PLATFORM, community)
        return self._under_rule(found.facilitator_rule if found is not None else "", user_id, rooms)

    # -- what only the platform knows (asked by `setup`) ---------------------------------------

    async def check_channel(self, community: str, value: str) -> ChannelVerdict:
        """A room of this community the bot is in and may post to: by room id, or by its name
        (stored as the room id, which does not change when the room is renamed)."""
        if value.startswith("!"):
            candidates = [value] if value in self.client.rooms else []
        else:
            wanted = value.lower()
            candidates = [
                room_id for room_id, room in self.client.rooms.items()
                if room.display_name.lower() == wanted and room_id not in self.rooms.own
                and room_id not in self.rooms.direct
            ]
        mine = [room_id for room_id in candidates if (await self.rooms.community_of(room_id))[0] == community]
        if len(mine) != 1:
            return ChannelVerdict(None, "missing")
        if not self.rooms.may_post(mine[0], self.client.user_id):
            return ChannelVerdict(None, "no_post")
        return ChannelVerdict(mine[0])

    async def facilitator_under(self, community: str, user_id: str, rule: str) -> bool | None:
        return self._under_rule(rule, user_id, await self._power_rooms(community))

    def _under_rule(self, rule: str, user_id: str, rooms: list[str]) -> bool:
        if rule.startswith("members:"):
            return user_id in rule.removeprefix("members:").split(",")
        threshold = self.settings.facilitator_power_level
        if rule.startswith("power:"):
            threshold = int(rule.removeprefix("power:"))
        for room_id in rooms:
            level = self.rooms.power(room_id, user_id)
            if level is not None:
                return level >= threshold
        return False

    async def _link_direct(self, room_id: str, user_id: str) -> Where | None:
        """A direct room the member opened with the bot belongs to their one community; if they
        are in none or several, say so (now and then) and do nothing else."""
        rows = await self.app.db.fetchall(
            "SELECT c.external_id, c.name FROM members m JOIN communities c ON c.id = m.community_id"
            " WHERE c.platform = ? AND m.platform_user_id = ? ORDER BY c.id",
            (PLATFORM, user_id),
        )
        if len(rows) == 1:
            await self.rooms.remember_private(room_id, rows[0][0], user_id)
            return Where("private", rows[0][0], user_id)
        if self._note_due(room_id, user_id):
            if rows:
                names = ", ".join(row[1] or row[0] for row in rows)
                text = self.app.catalog.text("en", "matrix.direct_several", communities=names, prefix=self.prefix)
            else:
                text = self.app.catalog.text("en", "matrix.direct_none", prefix=self.prefix)
            self._submit(f"room:{room_id}", self._room_job(room_id, [(self._content(text), self._txn())]))
        return None

    def _note_due(self, room_id: str, user_id: str) -> bool:
        now = self.clock.now()
        last = self._notes.get((room_id, user_id))
        if last is not None and now - last < NOTE_EVERY:
            return False
        self._notes[(room_id, user_id)] = now
        return True

    async def _on_undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        log.warning(
            "could not decrypt event %s in %s from %s (session %s)",
            event.event_id,
            room_id,
            event.sender,
            event.session_id,
        )
        with contextlib.suppress(Exception):
            await self.client.request_room_key(event)
        where = self.where(room_id)
        content = event.source.get("content", {})
        if where.kind == "private" and where.user == event.sender:
            community = where.community
        elif where.kind == "direct" and where.user == event.sender:
            community = None
        elif where.kind == "room" and replied_to(content) in self._sent and not thread_root(content):
            community, _ = await self.rooms.community_of(room_id)
        else:
            return  # nothing says it was meant for the bot
        if not await self.state.first_sighting(event.event_id, self.clock.now()):
            return
        if not self._note_due(room_id, event.sender):
            return
        locale = await self._locale(community)
        text = self.app.catalog.text(locale, "matrix.undecryptable", prefix=self.prefix)
        if community is None:
            self._submit(f"room:{room_id}", self._room_job(room_id, [(self._content(text), self._txn())]))
        else:
            key, job = self._private_job(community, event.sender, [(text, NOTICE)], self._txn)
            self._submit(key, job)

    async def _on_member(self, room_id: str, event: RoomMemberEvent) -> None:
        known = self.rooms.private.get(room_id)
        if known is None or event.state_key != known.user_id:
            return
        if event.membership in ("leave", "ban"):
            await self.rooms.forget_private(room_id)
            await self.rooms.leave(room_id)

    async def _locale(self, community: str | None) -> str:
        if community is None:
            return "en"
        found = await self.app.communities.find(self.app.db, PLATFORM, community)
        return found.locale if found is not None else "en"

    async def _ticker(self) -> None:
        """Retry postponed deliveries now and then. (Old event ids are forgotten by the core's
        retention job, after [retention] seen_events_days.)"""
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self.app.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic delivery failed")

    # -- rendering and sending -------------------------------------------------------------------

    def _txn(self) -> str:
        self._answers += 1
        return f"al.{self._salt}.a{self._answers}.{secrets.token_hex(4)}"

    def _content(self, text: str, msgtype: str = NOTICE, thread: str | None = None) -> dict[str, Any]:
        return self.renderer.content(text, msgtype=msgtype, rooms=self.rooms.names(), thread_root=thread)

    async def _send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        event_id = await self.transport.send(room_id, content, txn_id)
        self._sent.append(event_id)
        return event_id

    def _submit(self, key: str, job: Job) -> asyncio.Future[Any]:
        future = self.queues.submit(key, job)
        future.add_done_callback(_log_failure)
        return future

    def _room_job(self, room_id: str, contents: list[tuple[dict[str, Any], str]]) -> Job:
        async def job() -> None:
            for content, txn in contents:
                await self._send(room_id, content, txn)

        return job

    def _private_job(
        self,
        community: str,
        user_id: str,
        texts: list[tuple[str, str]],
        txn: Callable[[], str],
        file: tuple[str, str] | None = None,
        room_id: str | None = None,
    ) -> tuple[str, Job]:
        """Messages for one member's private room in one community (`room_id` when the room
        is already known: the answer to a command typed there goes back there)."""
        txns = [txn() for _ in texts]
        file_txn = txn() if file is not None else ""
        known = room_id

        async def job() -> None:
            room_id = known or await self._private_room(community, user_id)
            for (text, msgtype), txn_id in zip(texts, txns, strict=True):
                await self._send(room_id, self._content(text, msgtype), txn_id)
            if file is not None:
                await self._send_file(room_id, file[0], file[1], file_txn)

        return f"private:{community}|{user_id}", job

    async def _private_room(self, community: str, user_id: str) -> str:
        name = await self._community_name(community)
        locale = await self._locale(community)
        catalog = self.app.catalog
        return await self.rooms.private_room(
            community,
            user_id,
            catalog.text(locale, "matrix.private_room_name", community=name),
            catalog.text(locale, "matrix.private_room_topic", community=name, prefix=self.prefix),
        )

    async def _send_file(self, room_id: str, filename: str, text: str, txn_id: str) -> None:
        data = text.encode("utf-8")
        room = self.client.rooms.get(room_id)
        encrypt = room is not None and room.encrypted
        while True:
            response, keys = await self.client.upload(
                io.BytesIO(data),
                content_type="text/plain",
                filename=filename,
                encrypt=encrypt,
                filesize=len(data),
            )
            if not is_rate_limited(response):
                break
            await asyncio.sleep(retry_after(response))
        if not isinstance(response, UploadResponse):
            raise PermanentSendError(str(getattr(response, "status_code", "upload failed")))
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": filename,
            "filename": filename,
            "info": {"mimetype": "text/plain", "size": len(data)},
            "m.mentions": dict(NO_MENTIONS),
        }
        if encrypt and keys:
            content["file"] = {**keys, "url": response.content_uri}
        else:
            content["url"] = response.content_uri
        await self._send(room_id, content, txn_id)

    async def _channel_room(self, channel: str, community: str) -> str | None:
        """The room a channel name from the core means: a room id, an alias, a room name the
        bot knows, or else the community's own room."""
        name = channel.strip()
        if name.startswith("!"):
            return name  # a room id
        if ":" in name:
            alias = "#" + name.lstrip("#")
            if alias not in self._aliases:
                response = await with_rate_limit(
                    lambda: self.client.room_resolve_alias(alias), what="alias"
                )
                if isinstance(response, RoomResolveAliasResponse):
                    self._aliases[alias] = response.room_id
            if alias in self._aliases:
                return self._aliases[alias]
        wanted = name.lstrip("#").lower()
        for room_id, room in self.client.rooms.items():
            if wanted and wanted in (room.display_name.lstrip("#").lower(), (room.name or "").lower()):
                return room_id
        return community if community.startswith("!") else None

    async def _submit_all(
        self, intents: list[Intent], community: str, base: str | None
    ) -> list[asyncio.Future[Any]]:
        """Queue every intent on its destination. `base` makes transaction ids stable for outbox
        deliveries (a retry after a crash is then recognised by the homeserver)."""
        futures = []
        for index, intent in enumerate(intents):
            if base is None:
                txn = self._txn
            else:
                counter = iter(range(1000))
                prefix = f"al.{self._salt}.{base}.{index}"

                def txn(prefix: str = prefix, counter: Any = counter) -> str:
                    return f"{prefix}.{next(counter)}"

            planned = await self._plan(intent, community, txn)
            if planned is None:
                continue
            futures.append(self._submit(*planned))
        return futures

    async def _plan(
        self, intent: Intent, community: str, txn: Callable[[], str]
    ) -> tuple[str, Job] | None:
        catalog = self.app.catalog
        locale = await self._locale(community)
        match intent:
            case Answer():
                # Answers reach the outbox addressed (as a Reply) by App.handle_text(once=...).
                log.warning("an answer without anyone to answer; not sent")
                return None
            case Reply(private=False) if intent.channel:
                content = self._content(intent.text, NOTICE, intent.thread or None)
                return f"room:{intent.channel}", self._room_job(intent.channel, [(content, txn())])
            case Reply():
                here = intent.channel if intent.here and intent.channel else None
                return self._private_job(community, intent.user_id, [(intent.text, NOTICE)], txn, room_id=here)
            case PrivateMessage() | FormRequest() | ActionButtons():
                text = intent.text or getattr(intent, "title", "")
                return self._private_job(community, intent.user_id, [(text, NOTICE)], txn)
            case ConfirmPrompt():
                hint = catalog.text(locale, "matrix.confirm_hint", prefix=self.prefix)
                return self._private_job(community, intent.user_id, [(f"{intent.text}\n{hint}", NOTICE)], txn)
            case PrivateFile():
                return self._private_job(
                    community, intent.user_id, [(intent.text, NOTICE)], txn, (intent.filename, intent.content)
                )
            case ChannelPost():
                room_id = await self._channel_room(intent.channel, community)
                if room_id is None:
                    log.warning("no room for channel %s; post not sent", intent.channel)
                    return None
                return f"room:{room_id}", self._post_job(room_id, community, intent, txn, locale)
            case PairSpaceOpen() | PairSpacePost() | PairSpaceClose():
                return f"pair:{community}|{intent.space_key}", self._pair_job(community, intent, txn, locale)
            case RemoveMessage():
                return f"room:{intent.channel}", self._redact_job(intent, txn())
        log.warning("no Matrix form for %s; not sent", type(intent).__name__)
        return None

    def _post_job(
        self, room_id: str, community: str, post: ChannelPost, txn: Callable[[], str], locale: str
    ) -> Job:
        post_txn, thread_txn = txn(), txn()
        thread_text = (
            self.app.catalog.text(locale, "matrix.thread_start", title=post.thread_title)
            if post.thread_title
            else ""
        )

        async def job() -> None:
            existing = None
            if post.thread_key and not post.thread_title:
                existing = await self.state.get(f"thread:{community}|{post.thread_key}")
            event_id = await self._send(room_id, self._content(post.text, TEXT, existing), post_txn)
            if post.thread_title:
                # The question is the thread's root; a first reply opens the thread in clients.
                await self._send(room_id, self._content(thread_text, NOTICE, event_id), thread_txn)
                if post.thread_key:
                    await self.state.put(f"thread:{community}|{post.thread_key}", event_id)
            if post.pin:
                await self._pin(room_id, event_id)

        return job

    async def _pin(self, room_id: str, event_id: str) -> None:
        current = await self.client.room_get_state_event(room_id, "m.room.pinned_events")
        pinned = list(getattr(current, "content", {}).get("pinned", []) or [])
        if event_id in pinned:
            return
        response = await with_rate_limit(
            lambda: self.client.room_put_state(
                room_id, "m.room.pinned_events", {"pinned": [*pinned, event_id]}
            ),
            what="pinning",
        )
        if not hasattr(response, "event_id"):
            log.info("could not pin in %s: %s", room_id, getattr(response, "status_code", "?"))

    def _pair_job(
        self,
        community: str,
        intent: PairSpaceOpen | PairSpacePost | PairSpaceClose,
        txn: Callable[[], str],
        locale: str,
    ) -> Job:
        txn_id = txn()
        topic = self.app.catalog.text(locale, "matrix.pair_room_topic")

        async def job() -> None:
            if isinstance(intent, PairSpaceOpen):
                room_id = await self.rooms.open_pair_room(
                    community, intent.space_key, tuple(intent.member_ids), intent.title, topic
                )
            else:
                room_id = await self.rooms.pair_room(community, intent.space_key)
                if not room_id or room_id not in self.client.rooms:
                    log.info("pair room %s is gone; message not sent", intent.space_key)
                    if isinstance(intent, PairSpaceClose):
                        await self.rooms.close_pair_room(community, intent.space_key, self.clock.now())
                    return
            await self._send(room_id, self._content(intent.text, TEXT), txn_id)
            if isinstance(intent, PairSpaceClose):
                await self.rooms.close_pair_room(community, intent.space_key, self.clock.now())

        return job

    def _redact_job(self, intent: RemoveMessage, txn_id: str) -> Job:
        """Redact the member's own line, on their yes. Checked again here, when it happens: the
        bot must still have the power, and the event must be theirs (never anyone else's)."""

        async def job() -> None:
            room_id, event_id = intent.channel, intent.message_ref
            if not self.rooms.may_redact(room_id, self.user_id):
                log.info("no power to remove a line in %s any more; left as it is", room_id)
                return
            found = await self.client.room_get_event(room_id, event_id)
            sender = getattr(getattr(found, "event", None), "sender", None)
            if sender != intent.user_id:
                log.warning("a line to remove is not its asker's (or is gone); left as it is")
                return
            response = await with_rate_limit(
                lambda: self.client.room_redact(room_id, event_id, tx_id=txn_id), what="removing a line"
            )
            if not hasattr(response, "event_id"):
                raise PermanentSendError(str(getattr(response, "status_code", "redaction failed")))

        return job

    async def deliver(self, delivery: Delivery) -> None:
        """The outbox's sink: send one intent, and return only once it is sent (so the outbox
        marks it delivered only then). Rate limits are waited out; failures that a later try
        may mend raise TransientDeliveryError (retried, in order); permanent ones are logged."""
        if delivery.platform != PLATFORM:
            log.warning("delivery %s is for %s, not Matrix; skipped", delivery.outbox_id, delivery.platform)
            return
        futures = await self._submit_all(
            [delivery.intent], delivery.community_external_id, f"o{delivery.outbox_id}"
        )
        for future in futures:
            try:
                await asyncio.shield(future)
            except PermanentSendError as error:
                log.warning("delivery %s could not be sent: %s", delivery.outbox_id, error)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                raise TransientDeliveryError(type(error).__name__) from None


def _log_failure(future: asyncio.Future[Any]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        log.warning("a Matrix message was not sent: %s %s", type(error).__name__, error)
