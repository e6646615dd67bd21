"""matrix-nio helpers for tests that act as room members against :class:`SynapseServer`.

Typical use::

    alice = await connect_member(synapse, "alice-x", tmp_path)       # register+login+sync
    bob = await connect_member(synapse, "bob-x", tmp_path)
    room_id = await create_room(alice.client, encrypted=True, invite=[bob.user_id])
    await accept_invite(bob.client, room_id)
    await wait_for_member(alice.client, room_id, bob.user_id)
    await trust_all_devices(alice.client, [bob.user_id])
    await send_text(alice.client, room_id, "hello")
    event = await wait_for_message(bob.client, room_id, lambda e: e.body == "hello")
    await alice.close(); await bob.close()

Every client made by :func:`make_client` records the room events it receives (see
:func:`events_seen`), so a ``wait_for_*`` call also finds events that arrived before it
was called. Waits poll every 50 ms and raise :class:`TimeoutError` with a summary of what
was seen; they also raise at once if the client's sync loop died.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    Event,
    KeysUploadResponse,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    RoomVisibility,
)
from nio.crypto import OlmDevice

from .synapse import RegisteredUser, SynapseServer

MEGOLM = "m.megolm.v1.aes-sha2"
ENCRYPTION_STATE_EVENT = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": MEGOLM},
}
POLL_S = 0.05


class MatrixRequestError(RuntimeError):
    """A matrix-nio call answered with an error response."""

    def __init__(self, what: str, response: Any):
        self.response = response
        self.status_code = getattr(response, "status_code", None)
        self.retry_after_ms = getattr(response, "retry_after_ms", None)
        super().__init__(f"{what} failed: {response}")


def _check(what: str, response: Any, ok: type | tuple[type, ...]) -> Any:
    if not isinstance(response, ok):
        raise MatrixRequestError(what, response)
    return response


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------


def client_config(encrypted: bool = True, **overrides: Any) -> AsyncClientConfig:
    """Test defaults: e2e store, stored sync tokens, and reconnect back-off capped at
    1 s (nio's default is 60 s) so clients resume quickly after ``synapse.restart()``.
    nio retries 429s forever by default; pass ``max_limit_exceeded=0`` to see them."""
    values: dict[str, Any] = {
        "encryption_enabled": encrypted,
        "store_sync_tokens": True,
        "max_timeout_retry_wait_time": 1.0,
        "request_timeout": 30,
    }
    values.update(overrides)
    return AsyncClientConfig(**values)


@dataclass
class _Inbox:
    events: list[tuple[str, Event]] = field(default_factory=list)

    async def on_event(self, room: MatrixRoom, event: Event) -> None:
        self.events.append((room.room_id, event))


_INBOXES: weakref.WeakKeyDictionary[AsyncClient, _Inbox] = weakref.WeakKeyDictionary()
_LOOPS: weakref.WeakKeyDictionary[AsyncClient, SyncLoop] = weakref.WeakKeyDictionary()


def _syncing(client: AsyncClient) -> bool:
    loop = _LOOPS.get(client)
    return loop is not None and loop.task is not None and not loop.task.done()


async def make_client(
    server: SynapseServer,
    user: RegisteredUser,
    store_dir: Path,
    encrypted: bool = True,
    *,
    config: AsyncClientConfig | None = None,
) -> AsyncClient:
    """An ``AsyncClient`` logged in with ``restore_login`` (the user's registration
    device and token), its e2e store (SQLite) in ``store_dir``; device keys are uploaded
    before returning when ``encrypted``. No sync has run yet: see :func:`start_sync_loop`.
    """
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        server.base_url,
        user.user_id,
        device_id=user.device_id,
        store_path=str(store_dir),
        config=config or client_config(encrypted),
    )
    client.restore_login(user.user_id, user.device_id, user.access_token)
    if encrypted and client.should_upload_keys:
        _check("keys_upload", await client.keys_upload(), KeysUploadResponse)
    inbox = _Inbox()
    client.add_event_callback(inbox.on_event, Event)
    _INBOXES[client] = inbox
    return client


def events_seen(client: AsyncClient, room_id: str | None = None) -> list[Event]:
    """Room timeline events the client has received so far (decrypted where possible;
    undecryptable ones are ``MegolmEvent``)."""
    inbox = _INBOXES.get(client)
    if inbox is None:
        raise ValueError("client was not made by nio_kit.make_client")
    return [e for r, e in inbox.events if room_id is None or r == room_id]


class SyncLoop:
    """``client.sync_forever`` in a background task.

    nio retries connection errors itself (so the loop survives a Synapse restart);
    any other exception ends the task and is re-raised by :meth:`check`/:meth:`stop`
    and by the ``wait_*`` helpers.
    """

    def __init__(self, client: AsyncClient, timeout_ms: int = 5000):
        self.client = client
        self.timeout_ms = timeout_ms
        self.task: asyncio.Task[None] | None = None

    async def start(self, wait_first_sync: bool = True, timeout: float = 30.0) -> SyncLoop:
        if self.task is not None and not self.task.done():
            return self
        self.task = asyncio.create_task(
            self.client.sync_forever(timeout=self.timeout_ms, full_state=True),
            name=f"sync:{self.client.user_id}",
        )
        _LOOPS[self.client] = self
        if wait_first_sync:
            await wait_until(
                self.client,
                lambda: bool(self.client.next_batch),
                timeout,
                "the first sync",
            )
        return self

    def check(self) -> None:
        if self.task is not None and self.task.done() and not self.task.cancelled():
            exc = self.task.exception()
            if exc is not None:
                raise RuntimeError(f"sync loop of {self.client.user_id} died") from exc

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if not task.cancelled() and task.exception() is not None:
            raise RuntimeError(f"sync loop of {self.client.user_id} died") from task.exception()

    async def __aenter__(self) -> SyncLoop:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_sync_loop(
    client: AsyncClient, *, timeout_ms: int = 5000, wait_first_sync: bool = True
) -> SyncLoop:
    """Start syncing in the background; by default wait for the first sync."""
    return await SyncLoop(client, timeout_ms).start(wait_first_sync=wait_first_sync)


@dataclass
class Member:
    """A registered user with a logged-in client that is syncing in the background."""

    user: RegisteredUser
    client: AsyncClient
    sync: SyncLoop

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def close(self) -> None:
        try:
            await self.sync.stop()
        finally:
            await self.client.close()


async def connect_member(
    server: SynapseServer,
    localpart: str,
    store_root: Path,
    *,
    encrypted: bool = True,
    user: RegisteredUser | None = None,
    config: AsyncClientConfig | None = None,
) -> Member:
    """Register ``localpart`` (unless ``user`` is given), make a client with its store in
    ``store_root/<localpart>``, and start its sync loop."""
    if user is None:
        user = await asyncio.to_thread(server.register, localpart)
    client = await make_client(
        server, user, Path(store_root) / user.localpart, encrypted, config=config
    )
    loop = await start_sync_loop(client)
    return Member(user, client, loop)


async def close_clients(*clients: AsyncClient | Member) -> None:
    """Stop sync loops and close sessions; tolerant of partial set-up."""
    for c in clients:
        with contextlib.suppress(Exception):
            if isinstance(c, Member):
                await c.close()
            else:
                loop = _LOOPS.get(c)
                if loop is not None:
                    await loop.stop()
                await c.close()


# --------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------


async def wait_until(
    client: AsyncClient,
    condition: Callable[[], Any] | Callable[[], Awaitable[Any]],
    timeout: float = 15.0,
    what: str = "condition",
) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        loop = _LOOPS.get(client)
        if loop is not None:
            loop.check()
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{client.user_id}: timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_S)


async def wait_for_event(
    client: AsyncClient,
    room_id: str,
    predicate: Callable[[Event], bool] | None = None,
    timeout: float = 15.0,
    *,
    event_type: type | tuple[type, ...] = Event,
) -> Event:
    """The first received timeline event in ``room_id`` of ``event_type`` matching
    ``predicate`` (including events that arrived before this call)."""

    def find() -> Event | None:
        for e in events_seen(client, room_id):
            if isinstance(e, event_type) and (predicate is None or predicate(e)):
                return e
        return None

    try:
        return await wait_until(client, find, timeout, f"an event in {room_id}")
    except TimeoutError as e:
        seen = events_seen(client, room_id)
        undecryptable = [x for x in seen if isinstance(x, MegolmEvent)]
        summary = [
            f"{type(x).__name__}({x.sender}: {getattr(x, 'body', '')!r})" for x in seen[-10:]
        ]
        raise TimeoutError(
            f"{e}; saw {len(seen)} events ({len(undecryptable)} undecryptable): {summary}"
        ) from None


async def wait_for_message(
    client: AsyncClient,
    room_id: str,
    predicate: Callable[[RoomMessageText], bool] | str | None = None,
    timeout: float = 15.0,
    *,
    sender: str | None = None,
) -> RoomMessageText:
    """The first (decrypted, if the room is encrypted) ``RoomMessageText`` in ``room_id``
    matching ``predicate`` -- a callable, or a string the body must equal -- and, if
    given, sent by ``sender``."""
    if isinstance(predicate, str):
        body = predicate
        predicate = lambda e: e.body == body  # noqa: E731

    def match(e: Event) -> bool:
        if sender is not None and e.sender != sender:
            return False
        return predicate is None or predicate(e)  # type: ignore[arg-type]

    event = await wait_for_event(client, room_id, match, timeout, event_type=RoomMessageText)
    return event  # type: ignore[return-value]


async def wait_for_room(client: AsyncClient, room_id: str, timeout: float = 15.0) -> MatrixRoom:
    """Wait until the client has synced ``room_id`` as a joined room."""
    return await wait_until(
        client, lambda: client.rooms.get(room_id), timeout, f"joined room {room_id}"
    )


def is_joined(room: MatrixRoom, user_id: str) -> bool:
    return user_id in room.users and user_id not in room.invited_users


async def wait_for_member(
    client: AsyncClient,
    room_id: str,
    user_id: str,
    timeout: float = 15.0,
    *,
    membership: str = "join",
) -> MatrixRoom:
    """Wait until ``client``'s view of ``room_id`` has ``user_id`` joined (or invited,
    with ``membership="invite"``). Send encrypted messages only after this, or the
    newcomer gets no room key."""

    def ok() -> MatrixRoom | None:
        room = client.rooms.get(room_id)
        if room is None:
            return None
        if membership == "join":
            return room if is_joined(room, user_id) else None
        if membership == "invite":
            return room if user_id in room.invited_users else None
        raise ValueError(membership)

    return await wait_until(client, ok, timeout, f"{user_id} to {membership} {room_id}")


async def wait_for_invite(client: AsyncClient, room_id: str, timeout: float = 15.0) -> None:
    await wait_until(
        client, lambda: room_id in client.invited_rooms, timeout, f"an invite to {room_id}"
    )


# --------------------------------------------------------------------------------------
# Rooms
# --------------------------------------------------------------------------------------


async def create_room(
    client: AsyncClient,
    *,
    name: str | None = None,
    topic: str | None = None,
    encrypted: bool = False,
    public: bool = False,
    invite: Iterable[str] = (),
    direct: bool = False,
    initial_state: Iterable[dict[str, Any]] = (),
    power_level_override: dict[str, Any] | None = None,
    wait: bool = True,
) -> str:
    """Create a room and return its id.

    ``public`` -> preset ``public_chat`` (anyone may join) and listed in the directory;
    otherwise ``private_chat`` (invite only). ``encrypted`` adds an
    ``m.room.encryption`` (Megolm) initial state event. With ``wait`` the call returns
    once the creator's sync has the room, so ``room_send`` can encrypt for it.
    """
    state = list(initial_state)
    if encrypted:
        state.append(ENCRYPTION_STATE_EVENT)
    resp = await client.room_create(
        visibility=RoomVisibility.public if public else RoomVisibility.private,
        name=name,
        topic=topic,
        preset=RoomPreset.public_chat if public else RoomPreset.private_chat,
        invite=list(invite),
        is_direct=direct,
        initial_state=state,
        power_level_override=power_level_override,
    )
    room_id = _check("room_create", resp, RoomCreateResponse).room_id
    if wait and _syncing(client):
        room = await wait_for_room(client, room_id)
        if encrypted:
            await wait_until(client, lambda: room.encrypted, 15.0, f"{room_id} to be encrypted")
    return room_id


async def invite(client: AsyncClient, room_id: str, user_id: str) -> None:
    resp = await client.room_invite(room_id, user_id)
    if isinstance(resp, ErrorResponse):
        raise MatrixRequestError(f"invite {user_id} to {room_id}", resp)


async def join(client: AsyncClient, room_id: str, *, wait: bool = True) -> None:
    """Join by id or alias; with ``wait``, return once the room is in ``client.rooms``."""
    resp = await client.join(room_id)
    if isinstance(resp, ErrorResponse):
        raise MatrixRequestError(f"join {room_id}", resp)
    if wait and _syncing(client):
        await wait_for_room(client, resp.room_id)


async def accept_invite(client: AsyncClient, room_id: str, timeout: float = 15.0) -> None:
    """Wait for the invite to arrive by sync, then join."""
    await wait_for_invite(client, room_id, timeout)
    await join(client, room_id)


async def send_text(
    client: AsyncClient,
    room_id: str,
    body: str,
    *,
    msgtype: str = "m.text",
    ignore_unverified_devices: bool = True,
    extra_content: dict[str, Any] | None = None,
) -> str:
    """Send a text message (encrypted automatically in an encrypted room); return the
    event id. ``ignore_unverified_devices=False`` makes nio refuse to share the room
    key with devices that were not trusted (``OlmUnverifiedDeviceError``)."""
    content = {"msgtype": msgtype, "body": body, **(extra_content or {})}
    resp = await client.room_send(
        room_id,
        "m.room.message",
        content,
        ignore_unverified_devices=ignore_unverified_devices,
    )
    return _check(f"send to {room_id}", resp, RoomSendResponse).event_id


async def trust_all_devices(
    client: AsyncClient, user_ids: Iterable[str], timeout: float = 15.0
) -> list[OlmDevice]:
    """Fetch the device keys of ``user_ids`` and mark every device as verified, so
    Megolm room keys are shared with them (tests have no interactive verification).

    Waits until each user has at least one device with uploaded keys. Returns the
    devices newly verified. Works before sharing a room (it forces a /keys/query).
    """
    if client.olm is None:
        raise ValueError("client has encryption disabled")
    wanted = {u for u in user_ids}

    def missing() -> set[str]:
        return {
            u for u in wanted if not any(True for _ in client.device_store.active_user_devices(u))
        }

    async def have_all() -> bool:
        gone = missing()
        if not gone:
            return True
        client.olm.users_for_key_query.update(gone)
        with contextlib.suppress(LocalProtocolError):  # the sync loop may have just done it
            await client.keys_query()
        return not missing()

    await wait_until(client, have_all, timeout, f"device keys of {sorted(wanted)}")
    newly: list[OlmDevice] = []
    for user_id in wanted:
        for device in client.device_store.active_user_devices(user_id):
            if device.id == client.device_id:
                continue
            if not client.olm.is_device_verified(device):
                client.verify_device(device)
                newly.append(device)
    return newly
