"""Sending to Matrix: one ordered queue per destination, and rate limits respected.

Every message has a destination key (a room, a member's private room in one community, a
pair's room). Jobs for one key run one after another, in the order they were submitted, so
order within a room is kept; different keys run side by side.

nio is told not to retry 429s itself (``max_limit_exceeded=0``), so ``M_LIMIT_EXCEEDED``
reaches :meth:`Transport.send`, which waits the server's ``retry_after_ms`` and sends the same
transaction again. Nothing is dropped for a rate limit, however long it lasts. The transaction
id makes a retry idempotent: the homeserver answers a repeat with the event it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nio import AsyncClient, ErrorResponse, LocalProtocolError, RoomSendResponse

log = logging.getLogger(__name__)

T = TypeVar("T")

RATE_LIMITED = "M_LIMIT_EXCEEDED"
# Errors that no retry will mend: the bot is not allowed in the room, the room is gone, the
# event is malformed or too large.
PERMANENT = frozenset(
    {"M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON", "M_NOT_JSON", "M_TOO_LARGE", "M_INVALID_PARAM"}
)


class PermanentSendError(Exception):
    """The homeserver refused for good (the reason code is the message)."""


class TransientSendError(Exception):
    """Not sent yet; worth trying again later."""


def is_rate_limited(response: Any) -> bool:
    return isinstance(response, ErrorResponse) and response.status_code in (RATE_LIMITED, 429)


def retry_after(response: Any, default_ms: int = 1000) -> float:
    value = getattr(response, "retry_after_ms", None)
    try:
        ms = int(value) if value is not None else default_ms
    except (TypeError, ValueError):
        ms = default_ms
    return max(ms, 50) / 1000


async def with_rate_limit(
    call: Callable[[], Awaitable[Any]],
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    what: str = "request",
) -> Any:
    """Run a nio call, waiting and repeating it as long as the homeserver rate-limits it."""
    while True:
        response = await call()
        if not is_rate_limited(response):
            return response
        wait = retry_after(response)
        log.info("%s rate-limited by the homeserver; trying again in %.2fs", what, wait)
        await sleep(wait)


class SendQueues:
    """A FIFO of jobs per destination key, each drained by its own task."""

    def __init__(self) -> None:
        self._queues: dict[str, list[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def submit(self, key: str, job: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        if self._closed:
            raise RuntimeError("the send queues are closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, []).append((job, future))
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"matrix-send:{key}")
        return future

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job, future = queue[0]
                if not future.cancelled():
                    try:
                        result = await job()
                    except asyncio.CancelledError:
                        if not future.done():
                            future.cancel()
                        raise
                    except Exception as error:  # the submitter decides what a failure means
                        if not future.done():
                            future.set_exception(error)
                    else:
                        if not future.done():
                            future.set_result(result)
                queue.pop(0)
        finally:
            # Nothing awaits between the last check and here, so no job can slip in unseen.
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    def pending(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    async def drain(self, timeout: float) -> bool:
        """Wait until every queue is empty (True) or the timeout passes (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(list(self._workers.values()), timeout=remaining)
        return True

    async def close(self) -> None:
        self._closed = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for queue in self._queues.values():
            for _, future in queue:
                if not future.done():
                    future.cancel()
        self._queues.clear()


class Transport:
    """``room_send`` that waits out rate limits and retries what can be retried."""

    def __init__(
        self,
        client: AsyncClient,
        ready: Callable[[str], Awaitable[None]],
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_attempts: int = 6,
        before_send: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._ready = ready
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._before_send = before_send
        self.rate_limited = 0  # how many 429s were waited out (for tests and logs)

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        txn_id: str,
        event_type: str = "m.room.message",
    ) -> str:
        """Send one event; return its id. Raises PermanentSendError or TransientSendError."""
        failures = 0
        while True:
            await self._ready(room_id)
            if self._before_send is not None:
                await self._before_send(room_id)
            try:
                response = await self._client.room_send(
                    room_id,
                    event_type,
                    content,
                    tx_id=txn_id,
                    ignore_unverified_devices=True,
                )
            except asyncio.CancelledError:
                raise
            except (LocalProtocolError, Exception) as error:  # noqa: B014 - named for the reader
                # Room not synced yet, a key share already running, a dropped connection nio
                # did not retry: all worth another go with the same transaction id.
                failures += 1
                if failures >= self._max_attempts:
                    raise TransientSendError(type(error).__name__) from None
                await self._sleep(min(0.25 * 2**failures, 10.0))
                continue
            if isinstance(response, RoomSendResponse):
                return response.event_id
            if is_rate_limited(response):
                self.rate_limited += 1
                wait = retry_after(response)
                log.info("sending to %s rate-limited; trying again in %.2fs", room_id, wait)
                await self._sleep(wait)
                continue
            code = getattr(response, "status_code", None)
            if code in PERMANENT:
                raise PermanentSendError(str(code))
            failures += 1
            if failures >= self._max_attempts:
                raise TransientSendError(str(code))
            await self._sleep(min(0.25 * 2**failures, 10.0))
