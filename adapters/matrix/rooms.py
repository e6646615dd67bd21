"""Rooms the bot keeps: each member's private room (one per community), each pair's room, and
what the bot knows about community rooms (names, power levels, parent space).

Private and pair rooms are created on first need, end-to-end encrypted unless configured
otherwise or refused by the homeserver, and remembered in the core's database (AdapterState),
so a restart reuses them. A room is only written to once the bot's sync has seen it with the
people it invited: an encrypted message needs the recipients' devices to get its key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from nio import AsyncClient, ErrorResponse, RoomCreateResponse, RoomPreset, RoomVisibility

from adapters.matrix.sender import PermanentSendError, TransientSendError, with_rate_limit
from bot.app import AdapterState

log = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"
# A state event the bot puts in every room it creates, naming (by an opaque hash) what the room
# is for. If the bot is killed between creating a room and recording it, the next start finds
# the room by it instead of creating a second one.
MARKER_TYPE = "org.alongside.room"
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
READY_TIMEOUT = 30.0
CREATOR_POWER = 2**53  # "infinite": a room creator in room version 12 and later


def creators_privileged(room_version: str) -> bool:
    """Room versions in which the creators hold unlimited power (MSC4289)."""
    if room_version.isascii() and room_version.isdigit():
        return int(room_version) >= 12
    return "hydra" in room_version


def private_key(community: str, user_id: str) -> str:
    return f"{community}|{user_id}"


@dataclass(frozen=True)
class PrivateRoom:
    community: str
    user_id: str


@dataclass(frozen=True)
class PairRoom:
    community: str
    space_key: str


@dataclass
class _Expected:
    encrypted: bool
    invited: tuple[str, ...]


class Rooms:
    def __init__(
        self,
        client: AsyncClient,
        state: AdapterState,
        *,
        encrypt_new_rooms: bool,
        share_space_community: bool,
    ) -> None:
        self.client = client
        self._state = state
        self._encrypt = encrypt_new_rooms
        self._share_space = share_space_community
        self.private: dict[str, PrivateRoom] = {}  # room id -> whose, for which community
        # Every private room (made by the bot, or a DM it adopted) -> its community. Unlike
        # `private` this names nobody, so it outlives `mydata forget`: a line typed in such a
        # room later links it again instead of making it a community.
        self.own: dict[str, str] = {}
        self.pairs: dict[str, PairRoom] = {}
        self.direct: dict[str, str] = {}  # DMs a member opened with the bot -> who ("" forgotten)
        self._parents: dict[str, tuple[str | None, float]] = {}
        self._creators: dict[str, set[str]] = {}
        self._power: dict[str, tuple[int, dict]] = {}
        self._marked: dict[str, str] = {}  # marker -> room id, for rooms the bot created
        self._links: dict[str, str] = {}  # "<community>|<user>" -> their private room (as stored)
        self.salt = ""
        self._expect: dict[str, _Expected] = {}
        self._synced = asyncio.Event()
        self.first_sync = asyncio.Event()
        self._keys_lock = asyncio.Lock()
        self._create_lock = asyncio.Lock()

    # -- loading and sync notifications --------------------------------------------------------

    async def load(self) -> None:
        for key, value in await self._state.items("private:", "direct:", "own:"):
            kind, _, room_id = key.partition(":")
            if kind == "private" and "|" in value:
                community, _, user_id = value.partition("|")
                self.private[room_id] = PrivateRoom(community, user_id)
            elif kind == "own":
                self.own[room_id] = value
            elif kind == "direct":
                self.direct[room_id] = value
        links = await self._state.private_channels()
        self._links = {key: room_id for key, room_id in links.items() if room_id}
        for community, space_key, room_id in await self._state.open_pair_spaces():
            self.pairs[room_id] = PairRoom(community, space_key)

    def synced(self) -> None:
        """Called after every sync: wakes whoever waits for a room to appear."""
        event, self._synced = self._synced, asyncio.Event()
        self.first_sync.set()
        event.set()

    async def _next_sync(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            pass

    def expect(self, room_id: str, *, encrypted: bool = False, invited: tuple[str, ...] = ()) -> None:
        """A room the bot just created or joined: the next syncs will bring it."""
        self._expect[room_id] = _Expected(encrypted, invited)

    async def wait_ready(self, room_id: str, timeout: float = READY_TIMEOUT) -> None:
        """Return once the bot's sync knows the room (and whom it invited there)."""
        await self.first_sync.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            room = self.client.rooms.get(room_id)
            expected = self._expect.get(room_id)
            if room is not None and (
                expected is None
                or (
                    (room.encrypted or not expected.encrypted)
                    and all(user in room.users for user in expected.invited)
                )
            ):
                self._expect.pop(room_id, None)
                return
            if room is None and expected is None:
                raise PermanentSendError("M_FORBIDDEN")  # not a room the bot is in
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransientSendError("room not synced yet")
            await self._next_sync(remaining)

    async def query_keys(self) -> None:
        """Fetch the device keys of people the bot has not seen yet (before encrypting)."""
        if self.client.olm is None:
            return
        async with self._keys_lock:
            if self.client.should_query_keys:
                response = await self.client.keys_query()
                if isinstance(response, ErrorResponse):
                    log.warning("device key query failed: %s", response.status_code)

    async def before_send(self, room_id: str) -> None:
        room = self.client.rooms.get(room_id)
        if room is not None and room.encrypted:
            await self.query_keys()

    # -- what a room is --------------------------------------------------------------------------

    def names(self) -> dict[str, str]:
        return {room_id: room.display_name for room_id, room in self.client.rooms.items()}

    def note_create(self, room_id: str, source: dict) -> None:
        """From room version 12 on, a room's creators outrank every power level and are not
        listed in `m.room.power_levels`; remember who they are."""
        content = source.get("content") or {}
        if not creators_privileged(str(content.get("room_version", "1"))):
            return
        extra = content.get("additional_creators")
        creators = {source.get("sender")} | set(extra if isinstance(extra, list) else [])
        self._creators[room_id] = {c for c in creators if isinstance(c, str)}

    def marker(self, *parts: str) -> str:
        return hashlib.sha256("|".join((self.salt, *parts)).encode()).hexdigest()[:32]

    def note_marker(self, room_id: str, source: dict) -> None:
        content = source.get("content")
        key = content.get("key") if isinstance(content, dict) else None
        if isinstance(key, str) and source.get("sender") == self.client.user_id:
            self._marked[key] = room_id

    def _made_before(self, marker: str) -> str | None:
        """A room this bot created for `marker` and is still in (after a crash mid-way)."""
        room_id = self._marked.get(marker)
        return room_id if room_id is not None and room_id in self.client.rooms else None

    def note_power_levels(self, room_id: str, source: dict) -> None:
        """Keep the newest `m.room.power_levels` of a room whole. (nio merges each new one into
        the old, so someone taken out of `users` would keep their level; and a homeserver may
        repeat an older power-levels event in a later sync's state, which must not win.)"""
        stamp = source.get("origin_server_ts")
        stamp = stamp if isinstance(stamp, int) else 0
        known = self._power.get(room_id)
        if known is None or stamp >= known[0]:
            content = source.get("content")
            self._power[room_id] = (stamp, content if isinstance(content, dict) else {})

    def power(self, room_id: str, user_id: str) -> int | None:
        room = self.client.rooms.get(room_id)
        if room is None:
            return None
        if user_id in self._creators.get(room_id, ()):
            return CREATOR_POWER
        known = self._power.get(room_id)
        if known is None:
            return room.power_levels.get_user_level(user_id)
        content = known[1]
        users = content.get("users") if isinstance(content.get("users"), dict) else {}
        level = users.get(user_id, content.get("users_default", 0))
        try:
            return int(level)
        except (TypeError, ValueError):
            return 0

    def may_post(self, room_id: str, user_id: str) -> bool:
        """Joined, and at least the power level the room asks for an `m.room.message`."""
        room = self.client.rooms.get(room_id)
        if room is None or user_id not in room.users:
            return False
        known = self._power.get(room_id)
        content = known[1] if known is not None else {}
        events = content.get("events") if isinstance(content.get("events"), dict) else {}
        try:
            needed = int(events.get("m.room.message", content.get("events_default", 0)))
        except (TypeError, ValueError):
            needed = 0
        return (self.power(room_id, user_id) or 0) >= needed

    def may_redact(self, room_id: str, user_id: str) -> bool:
        """Joined, and at least the power level the room asks to redact others' events."""
        room = self.client.rooms.get(room_id)
        if room is None or user_id not in room.users:
            return False
        known = self._power.get(room_id)
        try:
            needed = int(known[1].get("redact", 50)) if known is not None else room.power_levels.defaults.redact
        except (TypeError, ValueError):
            needed = 50
        return (self.power(room_id, user_id) or 0) >= needed

    def display_name(self, room_ids: list[str], user_id: str) -> str:
        for room_id in room_ids:
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                name = room.user_name(user_id)
                if name:
                    return name
        return ""

    def members(self, room_ids: list[str]) -> list[tuple[str, str | None]]:
        """(user id, display name) of everyone joined to these rooms, the bot excepted."""
        found: dict[str, str | None] = {}
        for room_id in room_ids:
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            for user_id, user in room.users.items():
                if user_id != self.client.user_id and user_id not in room.invited_users:
                    found.setdefault(user_id, user.display_name)
        return list(found.items())

    async def community_of(self, room_id: str) -> tuple[str, str]:
        """(community external id, name) for a community room: the room itself, or its parent
        space when `share_space_community` is on and the room names one."""
        room = self.client.rooms.get(room_id)
        name = room.display_name if room is not None else room_id
        if not self._share_space:
            return room_id, name
        known = self._parents.get(room_id)
        # "No parent" is checked again after a minute: a space may list the room only later.
        if known is None or (known[0] is None and time.monotonic() - known[1] > 60):
            known = self._parents[room_id] = (await self._parent_space(room_id), time.monotonic())
        parent = known[0]
        if parent is None:
            return room_id, name
        space = self.client.rooms.get(parent)
        return parent, space.display_name if space is not None else name

    def forget_parent(self, room_id: str) -> None:
        self._parents.pop(room_id, None)

    async def _parent_space(self, room_id: str) -> str | None:
        response = await with_rate_limit(lambda: self.client.room_get_state(room_id), what="room state")
        events = getattr(response, "events", None)
        if not isinstance(events, list):
            return None
        parents = [
            event
            for event in events
            if event.get("type") == "m.space.parent"
            and event.get("state_key")
            and event.get("content", {}).get("via")
        ]
        parents.sort(key=lambda e: (not e.get("content", {}).get("canonical"), e["state_key"]))
        # A room can name any space as its parent; only trust the claim when the space lists the
        # room as its child too. Otherwise anyone could make a room, point it at a community's
        # space and, by inviting the bot, act inside that community.
        for parent in parents:
            if await self._space_lists_child(parent["state_key"], room_id):
                return parent["state_key"]
        return None

    async def _space_lists_child(self, space_id: str, room_id: str) -> bool:
        response = await with_rate_limit(lambda: self.client.room_get_state(space_id), what="space state")
        events = getattr(response, "events", None)
        if not isinstance(events, list):
            return False  # the bot cannot read the space: the claim cannot be checked
        return any(
            event.get("type") == "m.space.child"
            and event.get("state_key") == room_id
            and isinstance(event.get("content"), dict)
            and event["content"].get("via")
            for event in events
        )

    # -- creating rooms --------------------------------------------------------------------------

    async def create(
        self, *, name: str, topic: str, invite: tuple[str, ...], direct: bool, marker: str
    ) -> str:
        """A new private room with `invite` invited, encrypted unless that is refused."""
        encrypted = self._encrypt
        marked = {"type": MARKER_TYPE, "state_key": "", "content": {"key": marker}}
        while True:

            def call(encrypted: bool = encrypted):  # noqa: ANN202
                return self.client.room_create(
                    visibility=RoomVisibility.private,
                    name=name[:250],
                    topic=topic[:1000] or None,
                    preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
                    invite=list(invite),
                    is_direct=direct,
                    initial_state=[marked, ENCRYPTION_STATE] if encrypted else [marked],
                )

            response = await with_rate_limit(call, what="room creation")
            if isinstance(response, RoomCreateResponse):
                self.expect(response.room_id, encrypted=encrypted, invited=invite)
                self._marked[marker] = response.room_id
                return response.room_id
            code = getattr(response, "status_code", None)
            if encrypted and code in ("M_FORBIDDEN", "M_UNKNOWN", "M_INVALID_PARAM", "M_BAD_JSON"):
                log.warning("the homeserver refused an encrypted room (%s); creating it without", code)
                encrypted = False
                continue
            if code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON"):
                raise PermanentSendError(str(code))
            raise TransientSendError(f"room creation failed: {code}")

    def _usable(self, room_id: str | None, user_id: str) -> bool:
        if not room_id:
            return False
        if room_id in self._expect:
            return True
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users

    def sole_member(self, room_id: str) -> str | None:
        """The one person other than the bot in a room (joined or invited), if there is one."""
        room = self.client.rooms.get(room_id)
        if room is None:
            return None
        others = [user for user in room.users if user != self.client.user_id]
        return others[0] if len(others) == 1 else None

    async def private_room(self, community: str, user_id: str, name: str, topic: str) -> str:
        """The member's private room for this community, created on first need."""
        key = private_key(community, user_id)
        await self.first_sync.wait()
        known = self._links.get(key)
        if known is not None and self._usable(known, user_id):
            return known  # the common case, without touching the database
        async with self._create_lock:
            existing = await self._state.private_channel(key)
            if self._usable(existing, user_id):
                assert existing is not None
                return existing
            if existing:
                log.info("private room %s is no longer shared with its member; opening another", existing)
                await self.leave(existing)
            for room_id, owner in self.own.items():
                # A private room whose link was forgotten (`mydata forget`) is used again.
                if owner == community and room_id not in self.private and self.sole_member(room_id) == user_id:
                    await self.remember_private(room_id, community, user_id)
                    return room_id
            marker = self.marker("private", community, user_id)
            made = self._made_before(marker)
            room_id = made if made and self._usable(made, user_id) else await self.create(
                name=name, topic=topic, invite=(user_id,), direct=True, marker=marker
            )
            await self.remember_private(room_id, community, user_id)
            return room_id

    async def remember_private(self, room_id: str, community: str, user_id: str) -> None:
        await self._state.set_private_channel(private_key(community, user_id), room_id)
        self._links[private_key(community, user_id)] = room_id
        await self._state.put(f"private:{room_id}", private_key(community, user_id))
        await self._state.put(f"own:{room_id}", community)
        if room_id in self.direct:
            await self._state.delete(f"direct:{room_id}")
            self.direct.pop(room_id, None)
        self.private[room_id] = PrivateRoom(community, user_id)
        self.own[room_id] = community

    async def forget_private(self, room_id: str) -> None:
        """The member left their private room (the bot leaves too): the next private message
        opens a new one, and nothing about the old one is kept."""
        known = self.private.get(room_id)
        if known is None:
            return
        key = private_key(known.community, known.user_id)
        if await self._state.private_channel(key) == room_id:
            await self._state.set_private_channel(key, "")
        if self._links.get(key) == room_id:
            del self._links[key]
        await self._state.delete(f"private:{room_id}", f"own:{room_id}")
        self.private.pop(room_id, None)
        self.own.pop(room_id, None)

    def forgotten(self, community: str, user_id: str) -> None:
        """After `mydata forget` (the stored rows are already gone): forget the links here too."""
        self._links.pop(private_key(community, user_id), None)
        for room_id, known in list(self.private.items()):
            if known == PrivateRoom(community, user_id):
                del self.private[room_id]
        for room_id, who in list(self.direct.items()):
            if who == user_id:
                self.direct[room_id] = ""

    async def remember_direct(self, room_id: str, inviter: str) -> None:
        await self._state.put(f"direct:{room_id}", inviter)
        self.direct[room_id] = inviter

    async def pair_room(self, community: str, space_key: str) -> str | None:
        return await self._state.pair_space(community, space_key)

    async def open_pair_room(
        self, community: str, space_key: str, members: tuple[str, ...], name: str, topic: str
    ) -> str:
        await self.first_sync.wait()
        async with self._create_lock:
            existing = await self._state.pair_space(community, space_key)
            if existing and (existing in self._expect or existing in self.client.rooms):
                return existing
            marker = self.marker("pair", community, space_key)
            room_id = self._made_before(marker) or await self.create(
                name=name, topic=topic, invite=members, direct=False, marker=marker
            )
            await self._state.set_pair_space(community, space_key, room_id)
            self.pairs[room_id] = PairRoom(community, space_key)
            return room_id

    async def close_pair_room(self, community: str, space_key: str, now: datetime) -> None:
        room_id = await self._state.pair_space(community, space_key)
        await self._state.close_pair_space(community, space_key, now)
        if room_id:
            self.pairs.pop(room_id, None)
            await self.leave(room_id)

    async def leave(self, room_id: str) -> None:
        """Leave a room and forget it (nio would otherwise keep it among its rooms)."""
        response = await with_rate_limit(lambda: self.client.room_leave(room_id), what="leaving a room")
        if isinstance(response, ErrorResponse):
            log.info("leaving %s: %s", room_id, response.status_code)
        response = await with_rate_limit(lambda: self.client.room_forget(room_id), what="forgetting a room")
        if isinstance(response, ErrorResponse):
            log.info("forgetting %s: %s", room_id, response.status_code)
        self.client.rooms.pop(room_id, None)
        self._expect.pop(room_id, None)
