"""The loopback gateway: one websocket endpoint that speaks Discord's gateway v10.

Implements HELLO / IDENTIFY / READY / GUILD_CREATE, HEARTBEAT -> HEARTBEAT_ACK,
sequence numbers, RESUME (replaying every dispatch after the client's seq, then
RESUMED), INVALID_SESSION, RECONNECT and server-side disconnects.

Sharding as Discord does it: IDENTIFY's ``shard`` is ``[shard_id, num_shards]``; a session sees
only the servers on its shard (``(guild_id >> 22) % num_shards``) in READY and GUILD_CREATE, and
only their events; events without a server (direct messages) go to shard 0 alone.  A shard id
outside ``0..num_shards-1`` or a malformed field closes with 4010 (Invalid shard); a shard that
would hold more than ``server.max_guilds_per_shard`` servers closes with 4011 (Sharding required).  Transport
compression follows the ``compress`` query parameter: ``zlib-stream`` (one
shared zlib context, each message ending in a Z_SYNC_FLUSH) or ``zstd-stream``
(when a zstd compressor is importable); without it frames are plain text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import payloads as P

if TYPE_CHECKING:
    from .server import LoopbackDiscord

_log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Events naming their server as "id" rather than "guild_id".
GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def shard_of(guild_id: int, num_shards: int) -> int:
    """The shard Discord sends a server's events to."""
    return (guild_id >> 22) % num_shards


def guild_of(event: str, data: Any) -> int | None:
    """The server an event belongs to, or None (direct messages, the bot's own user)."""
    if not isinstance(data, dict):
        return None
    raw = data.get("id") if event in GUILD_EVENTS else data.get("guild_id")
    return int(raw) if raw is not None else None


# Close codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes)
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SEQ = 4007
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014


def _make_zstd_compressor():
    """Return a callable compressing one gateway message into a flushed zstd block."""
    try:
        import zstandard  # type: ignore[import-not-found]

        obj = zstandard.ZstdCompressor().compressobj()

        def compress(data: bytes) -> bytes:
            return obj.compress(data) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

        return compress
    except ImportError:
        pass
    try:
        from compression.zstd import ZstdCompressor  # type: ignore[import-not-found]

        comp = ZstdCompressor()
        return lambda data: comp.compress(data, mode=ZstdCompressor.FLUSH_BLOCK)
    except ImportError:
        return None


@dataclass
class GatewayConnection:
    """One websocket connection (a session may see several through resumes)."""

    ws: web.WebSocketResponse
    request: web.Request
    path: str
    query: dict[str, str]
    compression: str | None
    session: GatewaySession | None = None
    closed: bool = False
    closed_by_server: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if self.compression == "zlib-stream" else None
        self._zstd = _make_zstd_compressor() if self.compression == "zstd-stream" else None
        if self.compression == "zstd-stream" and self._zstd is None:
            self.compression = None  # cannot compress: plain text frames are accepted too

    async def send_text(self, text: str) -> None:
        async with self._lock:
            if self.closed or self.ws.closed:
                raise ConnectionResetError("gateway connection closed")
            if self._zlib is not None:
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            elif self._zstd is not None:
                await self.ws.send_bytes(self._zstd(text.encode()))
            else:
                await self.ws.send_str(text)
            self.sent.append(json.loads(text))

    async def send(self, payload: dict[str, Any]) -> None:
        await self.send_text(json.dumps(payload, separators=(",", ":")))

    def abort(self) -> None:
        self.closed = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int, message: str = "") -> None:
        self.closed = True
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode())


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    identify: dict[str, Any]
    shard: tuple[int, int] = (0, 1)  # (shard id, number of shards) from IDENTIFY
    seq: int = 0
    alive: bool = True  # False once invalidated: no further dispatches, no resume
    resumable: bool = True
    conn: GatewayConnection | None = None
    # every dispatch ever sent in this session, as (seq, event name, serialized payload)
    log: list[tuple[int, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = asyncio.Lock()

    def events(self) -> list[tuple[int, str]]:
        return [(s, t) for s, t, _ in self.log]

    def sees(self, guild_id: int | None) -> bool:
        """Whether Discord would send this session a server's events (None: a direct message)."""
        shard_id, num_shards = self.shard
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, num_shards) == shard_id


@dataclass
class ResumeRecord:
    session_id: str
    seq: int
    replayed: list[int]
    ok: bool


class GatewayHub:
    def __init__(self, server: LoopbackDiscord) -> None:
        self.server = server
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[ResumeRecord] = []
        self.heartbeats = 0
        self.ack_heartbeats = True
        self.presence_updates: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ websocket handler

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        compression = query.get("compress") if self.server.gateway_compression else None
        if compression not in (None, "zlib-stream", "zstd-stream"):
            compression = None
        conn = GatewayConnection(ws, request, request.path, query, compression)
        self.connections.append(conn)
        try:
            if query.get("v") not in (None, "10"):
                await conn.close(CLOSE_INVALID_API_VERSION, "Invalid API version")
                return ws
            if query.get("encoding", "json") != "json":
                await conn.close(CLOSE_DECODE_ERROR, "Only json encoding is supported here")
                return ws
            await conn.send(
                {
                    "op": OP_HELLO,
                    "d": {
                        "heartbeat_interval": self.server.heartbeat_interval_ms,
                        "_trace": ["loopback"],
                    },
                    "s": None,
                    "t": None,
                }
            )
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    payload = json.loads(msg.data)
                    op = payload["op"]
                except (ValueError, KeyError, TypeError):
                    await conn.close(CLOSE_DECODE_ERROR, "Decode error")
                    break
                conn.received.append(payload)
                await self._on_payload(conn, op, payload.get("d"))
                if conn.closed:
                    break
        finally:
            conn.closed = True
            session = conn.session
            if session is not None:
                async with session.lock:
                    if session.conn is conn:
                        session.conn = None
                # A client closing with 1000/1001 ends its session, as on Discord.
                if ws.close_code in (1000, 1001) and not conn.closed_by_server:
                    session.alive = False
                    session.resumable = False
        return ws

    async def _on_payload(self, conn: GatewayConnection, op: int, d: Any) -> None:
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            if self.ack_heartbeats:
                await self._safe_send(
                    conn, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None}
                )
        elif op == OP_IDENTIFY:
            await self._identify(conn, d or {})
        elif op == OP_RESUME:
            await self._resume(conn, d or {})
        elif conn.session is None:
            await self._close(conn, CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
        elif op == OP_PRESENCE_UPDATE:
            self.presence_updates.append(d)
        elif op == OP_VOICE_STATE_UPDATE:
            pass
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._request_guild_members(conn, d or {})
        else:
            await self._close(conn, CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")

    async def _close(self, conn: GatewayConnection, code: int, message: str) -> None:
        conn.closed_by_server = True
        await conn.close(code, message)

    async def _safe_send(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        try:
            await conn.send(payload)
        except (ConnectionResetError, RuntimeError):
            pass

    # ------------------------------------------------------------------ identify / resume

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        self.identifies.append(d)
        if conn.session is not None:
            await self._close(conn, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if d.get("token") != self.server.token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await self._close(conn, CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return
        if intents & P.PRIVILEGED_INTENTS & ~self.server.allowed_privileged_intents:
            await self._close(conn, CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        shard = d.get("shard", [0, 1])
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
            and shard[1] >= 1
            and 0 <= shard[0] < shard[1]
        ):
            await self._close(conn, CLOSE_INVALID_SHARD, "Invalid shard.")
            return
        on_shard = sum(1 for g in self.server.guilds if shard_of(g, shard[1]) == shard[0])
        if on_shard > self.server.max_guilds_per_shard:
            await self._close(conn, CLOSE_SHARDING_REQUIRED, "Sharding required.")
            return
        session = GatewaySession(secrets.token_hex(16), intents, d, (shard[0], shard[1]))
        self.sessions[session.session_id] = session
        async with session.lock:
            session.conn = conn
            conn.session = session
            ready = self.server._ready_payload(session)
            await self._dispatch_locked(session, "READY", ready)
            if intents & P.INTENT_GUILDS:
                for guild in list(self.server.guilds.values()):
                    if not session.sees(guild.id):
                        continue
                    await self._dispatch_locked(
                        session, "GUILD_CREATE", self.server._guild_create_payload(guild, intents)
                    )

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        if d.get("token") != self.server.token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = self.sessions.get(d.get("session_id") or "")
        seq = d.get("seq") or 0
        if session is None or not session.resumable or not session.alive:
            self.resumes.append(ResumeRecord(str(d.get("session_id")), seq, [], False))
            await self._safe_send(
                conn, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}
            )
            return
        if seq > session.seq:
            self.resumes.append(ResumeRecord(session.session_id, seq, [], False))
            await self._close(conn, CLOSE_INVALID_SEQ, "Invalid seq.")
            return
        async with session.lock:
            old = session.conn
            if old is not None and old is not conn:
                old.closed_by_server = True
                old.closed = True
                self._spawn(old.ws.close(code=4000))
            session.conn = conn
            conn.session = session
            replayed = []
            for s, _event, text in session.log:
                if s > seq:
                    replayed.append(s)
                    await conn.send_text(text)
            self.resumes.append(ResumeRecord(session.session_id, seq, replayed, True))
            await self._dispatch_locked(session, "RESUMED", {"_trace": ["loopback"]})

    async def _request_guild_members(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        session = conn.session
        assert session is not None
        guild = self.server.guilds.get(int(d.get("guild_id", 0)))
        if guild is None:
            return
        members = list(guild.members.values())
        if d.get("user_ids"):
            wanted = {int(u) for u in d["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        elif d.get("query"):
            members = [m for m in members if m.user.username.startswith(d["query"])]
        if d.get("limit"):
            members = members[: d["limit"]]
        data = {
            "guild_id": str(guild.id),
            "members": [P.member_payload(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            data["nonce"] = d["nonce"]
        async with session.lock:
            await self._dispatch_locked(session, "GUILD_MEMBERS_CHUNK", data)

    # ------------------------------------------------------------------ dispatching

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: Any) -> int:
        session.seq += 1
        text = json.dumps(
            {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}, separators=(",", ":")
        )
        session.log.append((session.seq, event, text))
        conn = session.conn
        if conn is not None:
            try:
                await conn.send_text(text)
            except (ConnectionResetError, RuntimeError):
                session.conn = None
        return session.seq

    async def dispatch(
        self, event: str, data: Any, *, intent: int = 0, transform=None, guild_id: int | None = None
    ) -> int:
        """Send a dispatch to every live session (whose intents include ``intent``) on the
        shard that owns the event's server (``guild_id``, else read from ``data``; none: shard 0).

        ``transform(session, data)`` may tailor the payload per session (or return
        None to skip it).  Returns how many sessions received it.
        """
        guild = guild_id if guild_id is not None else guild_of(event, data)
        count = 0
        for session in list(self.sessions.values()):
            if not session.alive or not session.sees(guild):
                continue
            if intent and not session.intents & intent:
                continue
            d = transform(session, data) if transform is not None else data
            if d is None:
                continue
            async with session.lock:
                await self._dispatch_locked(session, event, d)
            count += 1
        return count

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.alive]

    # ------------------------------------------------------------------ test controls

    async def disconnect(self, code: int | None = 4000, *, resumable: bool = True) -> int:
        """Drop every current gateway connection; returns how many were dropped."""
        dropped = 0
        for session in list(self.sessions.values()):
            async with session.lock:
                conn = session.conn
                session.conn = None
                if not resumable:
                    session.resumable = False
                    session.alive = False
            if conn is None:
                continue
            dropped += 1
            conn.closed_by_server = True
            if code is None:
                conn.abort()
            else:
                conn.closed = True
                self._spawn(conn.ws.close(code=code, message=b"loopback disconnect"))
        return dropped

    async def invalid_session(self, resumable: bool = False) -> None:
        for session in list(self.sessions.values()):
            conn = session.conn
            if conn is None:
                continue
            if not resumable:
                session.resumable = False
                session.alive = False
            await self._safe_send(
                conn, {"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None}
            )

    async def request_reconnect(self) -> None:
        for session in list(self.sessions.values()):
            if session.conn is not None:
                await self._safe_send(
                    session.conn, {"op": OP_RECONNECT, "d": None, "s": None, "t": None}
                )

    async def close_all(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        for task in list(self._tasks):
            task.cancel()
        for conn in self.connections:
            if not conn.closed and not conn.ws.closed:
                conn.closed_by_server = True
                conn.closed = True
                try:
                    await asyncio.wait_for(
                        conn.ws.close(code=1001, message=b"server stopping"), 1.0
                    )
                except (TimeoutError, ConnectionResetError, RuntimeError):
                    conn.abort()
