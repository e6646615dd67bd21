"""The Matrix adapter's inbound half: turns what a sync brought (invites, text messages,
undecryptable messages, a member leaving their private room) into invocations for the core, and
answers what only the platform knows (`setup`'s channel and facilitator checks).

It is a part of :class:`adapters.matrix.adapter.MatrixAdapter`, which also inherits the
outbound half (:mod:`adapters.matrix.outgoing`); this half queues its few notes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from nio import AsyncClient, MegolmEvent, RoomMemberEvent, RoomMessageText

from adapters.matrix import PLATFORM
from adapters.matrix.events import (
    first_word,
    is_edit,
    make_resolver,
    read_command,
    replied_to,
    thread_root,
)
from adapters.matrix.outgoing import Outgoing
from adapters.matrix.render import NOTICE
from adapters.matrix.sender import with_rate_limit
from bot.app import Once
from bot.context import Actor, ChannelVerdict, CommunityRef, Invocation

if TYPE_CHECKING:
    from adapters.matrix.settings import MatrixSettings

# The adapter's one logger name, as before the split (operators filter on it).
log = logging.getLogger("adapters.matrix.adapter")

NOTE_EVERY = timedelta(minutes=10)  # the undecryptable / unlinked notes, per room and member


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
class Origin:
    """What kind of room a message came from."""

    # "room" (a community room), "private", "pair", "direct" (a DM a member opened, not linked
    # yet), "own" (a private room whose link was forgotten)
    kind: str
    community: str | None
    user: str | None = None


class Inbound(Outgoing):
    """Event to invocation (mixed into MatrixAdapter, which sets these attributes up)."""

    client: AsyncClient
    settings: MatrixSettings
    groups: frozenset[str]
    retry_seconds: float
    handled: int
    _inbox: asyncio.Queue[Any]
    _dialog_words: frozenset[str]
    _checkin_words: frozenset[str]
    _notes: dict[tuple[str, str], datetime]
    _ready_communities: set[tuple[str, str]]

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

    def origin_of(self, room_id: str) -> Origin:
        private = self.rooms.private.get(room_id)
        if private is not None:
            return Origin("private", private.community, private.user_id)
        pair = self.rooms.pairs.get(room_id)
        if pair is not None:
            return Origin("pair", pair.community)
        if room_id in self.rooms.direct:
            return Origin("direct", None, self.rooms.direct[room_id] or None)
        if room_id in self.rooms.own:
            return Origin("own", self.rooms.own[room_id])  # a private room whose link was forgotten
        return Origin("room", None)

    async def _on_message(self, room_id: str, event: RoomMessageText) -> None:
        content = event.source.get("content", {})
        if content.get("msgtype") != "m.text" or is_edit(content):
            return
        where = self.origin_of(room_id)
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
            linked = await self._claim_private(room_id, where, event.sender)
            if linked is None:
                return
            where = linked
        if where.kind == "room":
            community, community_name = await self.rooms.community_of(room_id)
        else:
            assert where.community is not None
            community = where.community
            community_name = await self._community_name(community)
        plain = one_to_one and not read.too_long and await self._reads_plain(community, event.sender, text)
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

    async def _claim_private(self, room_id: str, where: Origin, sender: str) -> Origin | None:
        """A direct room, or a private room whose link was forgotten, becomes the sender's
        private room again; None when it cannot be (then the line is not for the bot)."""
        if self.rooms.sole_member(room_id) != sender:
            return None  # only a one-to-one room with the bot can be someone's private room
        if where.kind == "own":
            assert where.community is not None
            await self.rooms.remember_private(room_id, where.community, sender)
            return Origin("private", where.community, sender)
        return await self._link_direct(room_id, sender)

    async def _reads_plain(self, community: str, user_id: str, text: str) -> bool:
        """Whether a line in the member's one-to-one room is an answer, not a command."""
        if text.strip().startswith(self.prefix):
            return False
        # An open step-by-step answer reads every line but its own words (skip, back, done);
        # a waiting check-in reads a line that is not a command, and its skip and done.
        reader = await self.app.plain_reader(PLATFORM, community, user_id)
        word = first_word(text)
        if reader == "dialog":
            return word not in self._dialog_words
        return reader == "checkin" and (word not in self.groups or word in self._checkin_words)

    async def _community_ready(self, community: str, name: str, room_id: str) -> None:
        """On first contact a community room is also the community's question channel, so
        commands typed in a private room have somewhere to post (`setup` changes it)."""
        if (community, room_id) in self._ready_communities:
            return
        inv = Invocation(CommunityRef(PLATFORM, community, name), Actor(""), room_id)
        await self.app.first_contact(inv, room_id)
        self._ready_communities.add((community, room_id))

    async def _power_rooms(self, community: str) -> list[str]:
        rooms = [community]
        found = await self.app.community(PLATFORM, community)
        if found is not None and found.question_channel.startswith("!"):
            rooms.append(found.question_channel)
        return rooms

    async def _is_facilitator(self, community: str, user_id: str, rooms: list[str]) -> bool:
        """The community's own rule (`setup facilitator-rule`), else the power level in its
        room: at least `facilitator_power_level` (50 by default)."""
        found = await self.app.community(PLATFORM, community)
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

    async def _link_direct(self, room_id: str, user_id: str) -> Origin | None:
        """A direct room the member opened with the bot belongs to their one community; if they
        are in none or several, say so (now and then) and do nothing else."""
        found = await self.app.communities_of(PLATFORM, user_id)
        if len(found) == 1:
            await self.rooms.remember_private(room_id, found[0].external_id, user_id)
            return Origin("private", found[0].external_id, user_id)
        if self._note_due(room_id, user_id):
            if found:
                names = ", ".join(c.name or c.external_id for c in found)
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
        where = self.origin_of(room_id)
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

