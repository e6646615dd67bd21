"""The Matrix adapter's outbound half: plans each intent the core hands over (which room, which
words, which room to create first) and queues it on its destination's ordered sender.

It is a part of :class:`adapters.matrix.adapter.MatrixAdapter` (which also inherits the inbound
half, :mod:`adapters.matrix.inbound`), split out so each half can be read on its own, as the
Discord adapter's ``outgoing.py`` is.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nio import AsyncClient, RoomResolveAliasResponse, UploadResponse

from adapters.matrix import PLATFORM
from adapters.matrix.render import NO_MENTIONS, NOTICE, TEXT, Renderer
from adapters.matrix.sender import (
    PermanentSendError,
    SendQueues,
    Transport,
    is_rate_limited,
    retry_after,
    with_rate_limit,
)
from bot.app import TransientDeliveryError
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

if TYPE_CHECKING:
    from adapters.matrix.rooms import Rooms
    from bot.app import AdapterState, App, Clock

# The adapter's one logger name, as before the split (operators filter on it).
log = logging.getLogger("adapters.matrix.adapter")

SendTask = Callable[[], Awaitable[Any]]


class Outgoing:
    """Rendering and sending (mixed into MatrixAdapter, which sets these attributes up)."""

    app: App
    client: AsyncClient
    rooms: Rooms
    renderer: Renderer
    transport: Transport
    queues: SendQueues
    prefix: str
    state: AdapterState
    clock: Clock
    _salt: str
    _answers: int
    _sent: deque[str]
    _aliases: dict[str, str]

    @property
    def user_id(self) -> str:
        return self.client.user_id

    async def _community_name(self, community_external_id: str) -> str:
        found = await self.app.community(PLATFORM, community_external_id)
        if found is not None and found.name:
            return found.name
        room = self.client.rooms.get(community_external_id)
        return room.display_name if room is not None else community_external_id

    async def _locale(self, community: str | None) -> str:
        return "en" if community is None else await self.app.locale_of(PLATFORM, community)

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

    def _submit(self, key: str, job: SendTask) -> asyncio.Future[Any]:
        future = self.queues.submit(key, job)
        future.add_done_callback(_log_failure)
        return future

    def _room_job(self, room_id: str, contents: list[tuple[dict[str, Any], str]]) -> SendTask:
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
    ) -> tuple[str, SendTask]:
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
        locale = await self.app.member_locale(PLATFORM, community, user_id)  # the room is theirs
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
    ) -> tuple[str, SendTask] | None:
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
                # Under a question to one member: in the language the question is in (theirs).
                hint = catalog.text(
                    await self.app.member_locale(PLATFORM, community, intent.user_id), "matrix.confirm_hint", prefix=self.prefix
                )
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
    ) -> SendTask:
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
    ) -> SendTask:
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

    def _redact_job(self, intent: RemoveMessage, txn_id: str) -> SendTask:
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
