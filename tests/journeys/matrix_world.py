"""The Matrix world: a journey's first week through the real Matrix adapter on the test Synapse.

The bot runs in-process (``tests/matrix/bot_kit.py``: a FakeClock and the SimulatedDriver, so
time moves only when the story says so). Each person of the story is a Matrix user whose display
name is their story name; the facilitator creates the plain community room "circle" (so holds
power 100) and invites the bot and everyone. Members are plain HTTP clients: they never run in
the bot's event loop (every request goes through ``asyncio.to_thread``) and read what reached
them with their own ``/sync?timeout=0`` after each step, joining the rooms the bot invites them
to (their private room, pair rooms) on the way. Nothing here waits a fixed time: a typed line is
done when the adapter has handled its event and has nothing left to send; a step of the clock is
done when the driver has run what fell due and the adapter is idle.

Where a message reached someone: the community room is "room", a one-to-one room the bot opened
with them (``is_direct``) is "private", any other room the bot invited them to is "pair". Only
the bot's messages (``m.notice`` and ``m.text``) are kept, as in the console world, and in the
order the core meant them (its outbox's), not the order the side-by-side sends happened to land.

Mentions: a story's ``@name`` is sent as a Matrix client sends a mention chosen from its list, a
"pill" (the plain body shows the name, the HTML links to the user id); :meth:`MatrixWorld.type`
with ``pills=False`` sends the line exactly as written instead (as when someone copies a command
from a message), which the adapter resolves by display name.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.journeys.world import Inbox, Seen, WeekOver, joined
from tests.matrix.bot_kit import START, Bot, start_bot
from tests.matrix_harness.synapse import RegisteredUser, SynapseServer

HORIZON = timedelta(days=7)
ROOM_NAME = "circle"  # the console world's channel
HANDLED_TIMEOUT = 60.0  # seconds for the bot to handle one typed line (it is usually ~0.1 s)
# Every sync reads the whole of what is new: a long timeline is paged in from /messages.
SYNC_FILTER = json.dumps(
    {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"limit": 100},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
            "state": {"lazy_load_members": True},
        },
    }
)
BOT_MSGTYPES = ("m.notice", "m.text")
_OUTBOX_TXN = re.compile(r"\.o(\d+)\.(\d+)\.(\d+)$")
_MENTION = re.compile(r"(?<![\w@])@([a-z]+)(?![\w:-])")  # @sam, not @sam-1a2b:localhost


@dataclass
class Person:
    name: str
    user: RegisteredUser
    since: str | None = None
    rooms: dict[str, str] = field(default_factory=dict)  # room id -> "room" / "private" / "pair"
    seen_events: set[str] = field(default_factory=set)
    inbox: Inbox = field(default_factory=Inbox)
    private_room: str | None = None

    @property
    def user_id(self) -> str:
        return self.user.user_id


class MatrixWorld:
    prefix = "!"

    def __init__(
        self, synapse: SynapseServer, bot: Bot, people: dict[str, Person], room_id: str
    ) -> None:
        self.synapse = synapse
        self.bot = bot
        self.people = people
        self.names = list(people)
        self.facilitator = self.names[0]
        self.room_id = room_id
        self.start = bot.clock.now()
        self.horizon = HORIZON
        self.transcript: list[str] = []
        self._txn = 0
        self._handled: set[str] = set()
        self._order: dict[str, tuple[int, ...]] = {}
        self._watch_handling()
        self._watch_sending()

    @classmethod
    async def open(
        cls, synapse: SynapseServer, tmp_path: Path, people: list[str]
    ) -> MatrixWorld:
        tag = uuid.uuid4().hex[:8]  # the session's Synapse is shared: localparts must not collide
        users = await asyncio.gather(
            *(
                asyncio.to_thread(synapse.register, f"{name}-{tag}", displayname=name)
                for name in people
            )
        )
        persons = {name: Person(name, user) for name, user in zip(people, users, strict=True)}
        facilitator = persons[people[0]]
        bot = await start_bot(
            synapse,
            tmp_path,
            f"alongside-{tag}",
            allowed_inviters=(facilitator.user_id,),
            encrypt_new_rooms=False,  # plain rooms: the members read them without a crypto store
        )
        try:
            return await cls._gather(synapse, bot, persons)
        except BaseException:
            await bot.stop()  # no bot left running behind a failed start
            raise

    @classmethod
    async def _gather(
        cls, synapse: SynapseServer, bot: Bot, persons: dict[str, Person]
    ) -> MatrixWorld:
        """The facilitator's plain room "circle" with the bot and everyone in it."""
        assert bot.clock.now() == START
        facilitator = next(iter(persons.values()))
        created = await asyncio.to_thread(
            synapse.request,
            "POST",
            "/_matrix/client/v3/createRoom",
            {
                "name": ROOM_NAME,
                "preset": "private_chat",
                "invite": [bot.user_id, *(p.user_id for p in list(persons.values())[1:])],
            },
            access_token=facilitator.user.access_token,
        )
        room_id = created["room_id"]
        facilitator.rooms[room_id] = "room"
        await asyncio.gather(
            *(
                asyncio.to_thread(
                    synapse.request,
                    "POST",
                    f"/_matrix/client/v3/join/{quote(room_id)}",
                    {},
                    access_token=person.user.access_token,
                )
                for person in list(persons.values())[1:]
            )
        )
        for person in persons.values():
            person.rooms[room_id] = "room"
        world = cls(synapse, bot, persons, room_id)
        await world._until_bot_knows_everyone()
        await world._sync_everyone()
        return world

    async def close(self) -> None:
        await self.bot.stop()

    # -- the World protocol ------------------------------------------------------------------

    def command(self, line: str) -> str:
        return self.prefix + line

    async def type(
        self, who: str, line: str, *, private: bool = False, pills: bool = True
    ) -> str:
        """`who` types the command `line`: with the prefix in the community room; in their
        private room (with `private`, once they have one; before, the community room) without
        it, as people do there, unless a check-in or a step-by-step answer is waiting, which
        would read a plain line as its answer: then with the prefix, so it stays a command (as
        the console's ``/line`` is)."""
        person = self.people[who]
        room_id = person.private_room if private and person.private_room else self.room_id
        mark = len(person.inbox.items)
        self.transcript.append(f"{who}> {line}" + (" (private)" if room_id != self.room_id else ""))
        typed = self.prefix + line
        if room_id != self.room_id:
            assert self.bot.app is not None
            waiting = await self.bot.app.plain_reader("matrix", self.room_id, person.user_id)
            typed = line if waiting is None else typed
        await self._send(person, room_id, typed, pills=pills)
        await self._sync_everyone()
        return joined(person.inbox.since(mark))

    async def answer(self, who: str, text: str) -> str:
        person = self.people[who]
        if person.private_room is None:
            raise AssertionError(f"{who} has no private room with the bot yet to answer in")
        mark = len(person.inbox.items)
        self.transcript.append(f"{who}> {text} (private)")
        await self._send(person, person.private_room, text, pills=False)
        await self._sync_everyone()
        return joined(person.inbox.since(mark))

    async def clock(self, delta: timedelta) -> None:
        self.transcript.append(f"... {delta}")
        await self.bot.advance(delta)
        await self._settle()
        await self._sync_everyone()
        if self.bot.clock.now() - self.start >= self.horizon:
            raise WeekOver

    def inbox(self, who: str) -> Inbox:
        return self.people[who].inbox

    def news(self, who: str) -> str:
        inbox = self.inbox(who)
        items = inbox.since(inbox.read)
        inbox.read = len(inbox.items)
        return joined(items)

    # -- the bot's side ----------------------------------------------------------------------

    def _watch_handling(self) -> None:
        """Note each message event the adapter has finished with (handled or passed over), so
        a step waits for exactly its own line."""
        adapter = self.bot.adapter
        assert adapter is not None
        on_message = adapter._on_message

        async def watched(room_id: str, event: Any) -> None:
            try:
                await on_message(room_id, event)
            finally:
                self._handled.add(event.event_id)

        adapter._on_message = watched  # type: ignore[method-assign]

    def _watch_sending(self) -> None:
        """Note where each message the bot sends stands in its outbox. The adapter sends to
        different rooms side by side, so the order in which messages reach the homeserver is
        not the order the core meant; people's inboxes follow the core's order (as in the
        console), whatever the timing. An outbox send's transaction id ends in
        `o<outbox id>.<intent>.<message>`."""
        adapter = self.bot.adapter
        assert adapter is not None
        send = adapter._send

        async def watched(room_id: str, content: dict[str, Any], txn_id: str) -> str:
            event_id = await send(room_id, content, txn_id)
            found = _OUTBOX_TXN.search(txn_id)
            self._order[event_id] = (
                tuple(int(part) for part in found.groups()) if found else (1 << 62, len(self._order))
            )
            return event_id

        adapter._send = watched  # type: ignore[method-assign]

    async def _until_bot_knows_everyone(self) -> None:
        """The bot has joined the community room and its sync shows every person joined (it
        names people by the display names it knows)."""
        adapter = self.bot.adapter
        assert adapter is not None
        wanted = {p.user_id for p in self.people.values()} | {self.bot.user_id}
        deadline = time.monotonic() + 60
        while True:
            room = adapter.client.rooms.get(self.room_id)
            if room is not None:
                joined_users = set(room.users) - set(room.invited_users)
                if wanted <= joined_users:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not see everyone join the community room")
            await asyncio.sleep(0.05)
        await self.bot.idle()

    async def _send(self, person: Person, room_id: str, text: str, *, pills: bool) -> None:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if pills:
            content.update(self._pills(text))
        self._txn += 1
        response = await asyncio.to_thread(
            self.synapse.request,
            "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/j{self._txn}",
            content,
            access_token=person.user.access_token,
        )
        event_id = response["event_id"]
        deadline = time.monotonic() + HANDLED_TIMEOUT
        while event_id not in self._handled:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not handle {text!r} from {person.name}")
            await asyncio.sleep(0.01)
        await self._settle()

    async def _settle(self) -> None:
        """Everything handled and sent: the adapter is idle and the outbox holds nothing undelivered
        (a delivery that failed for a moment, say a new room not synced yet, is tried again)."""
        assert self.bot.app is not None
        deadline = time.monotonic() + HANDLED_TIMEOUT
        while True:
            await self.bot.idle()
            if not await self.bot.app.outbox.pending(limit=1):
                return
            if time.monotonic() > deadline:
                raise AssertionError("the bot still has messages it could not deliver")
            await asyncio.sleep(0.05)
            await self.bot.app.deliver_pending()

    def _pills(self, text: str) -> dict[str, Any]:
        """A story's ``@name`` as a client's mention pill; nothing when the line has none."""
        found = [m for m in _MENTION.finditer(text) if m.group(1) in self.people]
        if not found:
            return {}
        body, formatted, last = [], [], 0
        for match in found:
            person = self.people[match.group(1)]
            body.append(text[last : match.start()] + person.name)
            formatted.append(
                html.escape(text[last : match.start()])
                + f'<a href="https://matrix.to/#/{person.user_id}">{html.escape(person.name)}</a>'
            )
            last = match.end()
        body.append(text[last:])
        formatted.append(html.escape(text[last:]))
        return {
            "body": "".join(body),
            "format": "org.matrix.custom.html",
            "formatted_body": "".join(formatted),
            "m.mentions": {"user_ids": [self.people[m.group(1)].user_id for m in found]},
        }

    # -- what reached each person ------------------------------------------------------------

    def _named(self, text: str) -> str:
        """The bot writes a mention as the user id (`!agreement start @sam-1a2b:localhost`), the
        form that always works when copied; a story reads it as the console shows it, `@sam`.
        (A person's id reaching someone it must not shows as their name, so a story's "never
        sees sam" catches it.) Typing `@sam` sends a pill with that very id."""
        for person in self.people.values():
            if person.user_id in text:
                text = text.replace(person.user_id, "@" + person.name)
        return text


    async def _sync_everyone(self) -> None:
        await asyncio.gather(*(self._sync(person) for person in self.people.values()))

    async def _sync(self, person: Person) -> None:
        """Read everything new for `person`, joining the bot's invitations until none is left."""
        while True:
            path = f"/_matrix/client/v3/sync?timeout=0&filter={quote(SYNC_FILTER)}"
            if person.since:
                path += f"&since={quote(person.since)}"
            response = await asyncio.to_thread(
                self.synapse.request, "GET", path, access_token=person.user.access_token
            )
            person.since = response["next_batch"]
            rooms = response.get("rooms", {})
            new: list[tuple[tuple[int, ...], str, str]] = []
            for room_id, info in rooms.get("join", {}).items():
                new.extend(await self._bot_messages(person, room_id, info.get("timeline", {})))
            new.sort(key=lambda item: item[0])
            for _, where, text in new:
                person.inbox.items.append(Seen(where, text))
            invited = [
                (room_id, kind)
                for room_id, info in rooms.get("invite", {}).items()
                if room_id not in person.rooms
                and (kind := self._invitation(person, info)) is not None
            ]
            if not invited:
                return
            for room_id, kind in invited:
                await asyncio.to_thread(
                    self.synapse.request,
                    "POST",
                    f"/_matrix/client/v3/join/{quote(room_id)}",
                    {},
                    access_token=person.user.access_token,
                )
                person.rooms[room_id] = kind
                if kind == "private":
                    person.private_room = room_id

    def _invitation(self, person: Person, info: dict[str, Any]) -> str | None:
        """"private" or "pair" for the bot's invitation, None for anyone else's."""
        for event in info.get("invite_state", {}).get("events", []):
            if (
                event.get("type") == "m.room.member"
                and event.get("state_key") == person.user_id
                and event.get("sender") == self.bot.user_id
            ):
                return "private" if event.get("content", {}).get("is_direct") else "pair"
        return None

    async def _bot_messages(
        self, person: Person, room_id: str, timeline: dict[str, Any]
    ) -> list[tuple[tuple[int, ...], str, str]]:
        events = list(timeline.get("events", []))
        if timeline.get("limited") and timeline.get("prev_batch"):
            events = await self._older(person, room_id, timeline["prev_batch"]) + events
        where = person.rooms.get(room_id, "room")
        found = []
        for event in events:
            event_id = event.get("event_id")
            if event_id in person.seen_events:
                continue
            person.seen_events.add(event_id)
            content = event.get("content", {})
            if (
                event.get("type") == "m.room.message"
                and event.get("sender") == self.bot.user_id
                and content.get("msgtype") in BOT_MSGTYPES
                and isinstance(content.get("body"), str)
            ):
                order = self._order.get(event_id, (1 << 62, event.get("origin_server_ts", 0)))
                found.append((order, where, self._named(content["body"])))
        return found

    async def _older(self, person: Person, room_id: str, token: str) -> list[dict[str, Any]]:
        """What a limited sync left out, back to what `person` has already read."""
        older: list[dict[str, Any]] = []
        while True:
            page = await asyncio.to_thread(
                self.synapse.request,
                "GET",
                f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=100"
                f"&from={quote(token)}",
                access_token=person.user.access_token,
            )
            chunk = page.get("chunk", [])
            fresh = [e for e in chunk if e.get("event_id") not in person.seen_events]
            older.extend(fresh)
            if not chunk or len(fresh) < len(chunk) or not page.get("end"):
                break
            token = page["end"]
        older.reverse()
        return older
