"""Messages the bot sends on its own: outbox deliveries and intents for people other than the
one who ran a command.

* ChannelPost → the channel (a name from `setup`, or an id), a public thread when asked, a pin.
* Anything for one member → a direct message; buttons carry their server in their ids.
* A pair's space → a private thread in the pairing channel with its members added; a member who
  cannot be added gets the messages by direct message instead.
* When a member's direct messages are closed too, the message is kept (encrypted) and shown to
  them, only to them, the next time they use a command.

discord.py waits out 429s itself. Server errors, network trouble and a gateway that is not
ready raise TransientDeliveryError, so the outbox tries again later, in order; permanent
problems (a deleted channel, missing permissions) are logged without any content.

Exactly once, across crashes too: the outbox writes its receipt only after a delivery, so a
crash in between delivers it again. Every message of a delivery therefore carries a nonce
derived from its outbox id (`enforce_nonce`: within a few minutes Discord returns the message it
already created instead of posting again); a thread on a post is not started twice (the message
Discord returns says it has one, or Discord answers 160004); and a pair's private thread is
looked for (a bot-owned thread of that name nobody claimed) before one is created.

Nobody is pinged by what the bot posts (`allowed_mentions` parses nothing), except a pair's own
members in their private thread's welcome.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from adapters.discord.render import Piece, personal_pieces, recipient, split_text
from adapters.discord.views import build_view
from bot.app import AdapterState, Clock, TransientDeliveryError
from bot.replies import (
    Answer,
    ChannelPost,
    Delivery,
    FormRequest,
    Intent,
    PairSpaceClose,
    PairSpaceOpen,
    PairSpacePost,
    PrivateMessage,
    intent_from_json,
    intent_to_json,
)

log = logging.getLogger(__name__)

PLATFORM = "discord"
MISSED_PURPOSE = "discord.missed"
MISSED_KEEP = 20
MISSED_INDEX = "missed-index"
THREAD_ARCHIVE_MINUTES = 10080  # a week, the longest Discord allows
DM_CLOSED = 50007  # "Cannot send messages to this user"
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
NONCE_SALT = "nonce-salt"
NO_PINGS = discord.AllowedMentions.none()


def make_nonce(salt: str, outbox_id: int, part: str) -> str:
    """The nonce of one message of one delivery: the same on every attempt, different for each
    message (Discord de-duplicates per author across all channels) and, through the database's
    own salt, for another database that reuses outbox ids (a reset, a test). ≤ 25 characters."""
    digest = hashlib.blake2s(f"{salt}/{outbox_id}/{part}".encode(), digest_size=6).hexdigest()
    return f"o{outbox_id:x}.{digest}"[:25]


@dataclass
class _Progress:
    """How far a delivery got before a transient failure, so a retry does not repeat it."""

    message: discord.Message | None = None
    thread_id: int | None = None
    added: set[str] | None = None
    posted: bool = False
    key: int | None = None  # the outbox id, when the delivery comes from the outbox


class Outgoing:
    def __init__(
        self,
        client: discord.Client,
        state: AdapterState,
        cipher: Any,
        text: Callable[..., str],
        community_lookup: Callable[[str], Awaitable[Any]],
        form_opener: Callable[[int | str, FormRequest], Piece],
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._client = client
        self._state = state
        self._cipher = cipher
        self._text = text
        self._community = community_lookup
        self._form_opener = form_opener
        self._progress: dict[int, _Progress] = {}
        self._missed: set[str] | None = None
        self._missed_lock = asyncio.Lock()
        self._salt: str | None = None

    async def _nonce(self, progress: _Progress, part: str) -> str | None:
        """A nonce for an outbox delivery (None for a direct answer: discord.py picks one)."""
        if progress.key is None:
            return None
        if self._salt is None:
            salt = await self._state.get(NONCE_SALT)
            if not salt:
                salt = secrets.token_hex(4)
                await self._state.put(NONCE_SALT, salt)
            self._salt = salt
        return make_nonce(self._salt, progress.key, part)

    async def _post(
        self,
        messageable: discord.abc.Messageable,
        text: str,
        progress: _Progress,
        part: str,
        mentions: discord.AllowedMentions = NO_PINGS,
    ) -> discord.Message | None:
        """Post `text` (in as many messages as it takes); the first message back."""
        first: discord.Message | None = None
        for index, piece in enumerate(_chunks(text)):
            nonce = await self._nonce(progress, f"{part}/{index}")
            sent = await messageable.send(piece, allowed_mentions=mentions, **({"nonce": nonce} if nonce else {}))
            first = first or sent
        return first

    # -- the outbox sink -------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        if delivery.platform != PLATFORM:
            log.warning("delivery %s is for %s, not discord; skipped", delivery.outbox_id, delivery.platform)
            return
        if not self._client.is_ready():
            raise TransientDeliveryError("gateway not ready")
        try:
            await self.send(int(delivery.community_external_id), delivery.intent, delivery.outbox_id)
        except discord.HTTPException as error:
            if error.status >= 500 or error.status == 429:
                raise TransientDeliveryError(f"discord {error.status}") from None
            log.warning(
                "delivery %s (%s) refused by Discord: %s %s; not retried",
                delivery.outbox_id,
                type(delivery.intent).__name__,
                error.status,
                error.code,
            )
        except (TimeoutError, aiohttp.ClientError, OSError, discord.GatewayNotFound) as error:
            raise TransientDeliveryError(type(error).__name__) from None
        except TransientDeliveryError:
            raise
        except Exception:
            # A message this adapter cannot render must not hold up everything queued after it.
            log.exception("delivery %s (%s) failed; not retried", delivery.outbox_id, type(delivery.intent).__name__)
        self._progress.pop(delivery.outbox_id, None)

    async def send(self, guild_id: int, intent: Intent, key: int | None = None) -> None:
        """Send one intent that is not an answer to an interaction."""
        progress = self._progress.setdefault(key, _Progress(key=key)) if key is not None else _Progress()
        match intent:
            case ChannelPost():
                await self._channel_post(guild_id, intent, progress)
            case PairSpaceOpen():
                await self._pair_open(guild_id, intent, progress)
            case PairSpacePost():
                await self._pair_post(guild_id, intent.space_key, intent.text, progress)
            case PairSpaceClose():
                await self._pair_post(guild_id, intent.space_key, intent.text, progress)
                await self._pair_close(guild_id, intent.space_key)
            case Answer():
                log.warning("an answer reached the outbox; nobody to show it to, skipped")
            case _:
                user = recipient(intent)
                if user is None:
                    log.warning("cannot deliver %s on Discord; skipped", type(intent).__name__)
                    return
                await self.to_member(guild_id, user, intent, progress)

    # -- channels --------------------------------------------------------------------------------

    def guild(self, guild_id: int) -> discord.Guild | None:
        return self._client.get_guild(guild_id)

    def loaded_guild(self, guild_id: int) -> discord.Guild | None:
        """The server to deliver to, or None when the bot is not in it. A server known only by
        its id (named in READY, its GUILD_CREATE not in yet, e.g. a shard that stopped waiting,
        or unavailable in a Discord outage) has no channels yet: try again later."""
        guild = self.guild(guild_id)
        if guild is not None and guild.unavailable:
            raise TransientDeliveryError("server not loaded yet")
        return guild

    def resolve_channel(self, guild: discord.Guild, ref: str) -> discord.TextChannel | discord.Thread | None:
        """A channel by id (`123`, `<#123>`) or by name (`circle`, `#circle`)."""
        ref = ref.strip()
        if ref.startswith("<#") and ref.endswith(">"):
            ref = ref[2:-1]
        ref = ref.removeprefix("#")
        if ref.isascii() and ref.isdigit():
            found = guild.get_channel_or_thread(int(ref))
            return found if isinstance(found, discord.TextChannel | discord.Thread) else None
        wanted = ref.lower()
        for channel in guild.text_channels:
            if channel.name.lower() == wanted:
                return channel
        return None

    async def _channel_post(self, guild_id: int, post: ChannelPost, progress: _Progress) -> None:
        guild = self.loaded_guild(guild_id)
        if guild is None:
            log.warning("not in server %s any more; a channel post was skipped", guild_id)
            return
        channel = self.resolve_channel(guild, post.channel)
        if channel is None:
            log.warning("server %s has no text channel %r; a channel post was skipped", guild_id, post.channel)
            return
        if progress.message is None:
            progress.message = await self._post(channel, post.text, progress, "post")
        message = progress.message
        assert message is not None
        if post.thread_title and not isinstance(channel, discord.Thread) and progress.thread_id is None:
            if message.flags.has_thread:  # the post Discord handed back again already has its thread
                progress.thread_id = message.id
            else:
                try:
                    thread = await message.create_thread(
                        name=post.thread_title[:100], auto_archive_duration=THREAD_ARCHIVE_MINUTES
                    )
                    progress.thread_id = thread.id
                except discord.HTTPException as error:
                    if error.code != THREAD_EXISTS:
                        raise
                    progress.thread_id = message.id  # started by an attempt that crashed after it
        if post.pin and not progress.posted:
            try:
                await message.pin()
            except discord.Forbidden:
                log.warning("no permission to pin in server %s; the post stays unpinned", guild_id)
            progress.posted = True

    # -- one member ------------------------------------------------------------------------------

    def member_pieces(self, guild_id: int | str, intent: Intent, *, dm: bool) -> list[Piece]:
        if isinstance(intent, FormRequest):
            return [self._form_opener(guild_id, intent)]
        found = personal_pieces(
            intent,
            yes=self._text("discord.yes"),
            no=self._text("discord.no"),
            guild_id=guild_id if dm else None,
            ephemeral=not dm,
        )
        return found or []

    async def to_member(
        self, guild_id: int, user_id: str, intent: Intent, progress: _Progress | None = None, part: str = "dm"
    ) -> None:
        """A direct message; if their DMs are closed, keep it for their next command."""
        progress = progress or _Progress()
        pieces = self.member_pieces(guild_id, intent, dm=True)
        try:
            await self.direct(user_id, pieces, progress, part)
        except discord.Forbidden as error:
            if error.code != DM_CLOSED:
                raise
            log.info("a member's direct messages are closed; keeping a message for their next command")
            await self.keep_missed(guild_id, user_id, intent, await self._nonce(progress, f"{part}/{user_id}/kept"))

    async def direct(
        self, user_id: str, pieces: list[Piece], progress: _Progress | None = None, part: str = "dm"
    ) -> None:
        progress = progress or _Progress()
        channel = await self._client.create_dm(discord.Object(int(user_id)))
        for index, piece in enumerate(pieces):
            nonce = await self._nonce(progress, f"{part}/{user_id}/{index}")
            await channel.send(**message_kwargs(piece), **({"nonce": nonce} if nonce else {}))

    # -- pair spaces -----------------------------------------------------------------------------

    def _pair_key(self, guild_id: int, space_key: str) -> str:
        return f"pair:{guild_id}:{space_key}"

    async def _pair_info(self, guild_id: int, space_key: str) -> dict[str, Any]:
        raw = await self._state.get(self._pair_key(guild_id, space_key))
        return json.loads(raw) if raw else {"members": [], "fallback": []}

    async def _pair_channel(self, guild: discord.Guild) -> discord.TextChannel | None:
        community = await self._community(str(guild.id))
        for ref in (getattr(community, "pairing_channel", ""), getattr(community, "question_channel", "")):
            if not ref:
                continue
            channel = self.resolve_channel(guild, ref)
            if isinstance(channel, discord.Thread):
                channel = channel.parent if isinstance(channel.parent, discord.TextChannel) else None
            if channel is not None:
                return channel
        return None

    async def _pair_open(self, guild_id: int, space: PairSpaceOpen, progress: _Progress) -> None:
        guild = self.loaded_guild(guild_id)
        members = [str(m) for m in space.member_ids]
        info = {"members": members, "fallback": []}
        thread: discord.Thread | None = None
        existing = await self._state.pair_space(str(guild_id), space.space_key)
        if progress.thread_id is None and existing:
            progress.thread_id = int(existing)
        if guild is not None and progress.thread_id is None:
            channel = await self._pair_channel(guild)
            if channel is not None:
                name = space.title[:100] or space.space_key
                creating = f"pair-creating:{guild_id}:{space.space_key}"
                # A crash between creating the thread and storing its id leaves it unclaimed:
                # an earlier attempt left this mark, so look for that thread before making one.
                found = await self._unclaimed_thread(guild, channel, name) if await self._state.get(creating) else None
                try:
                    if found is None:
                        await self._state.put(creating, "1")
                        thread = await channel.create_thread(
                            name=name,
                            type=discord.ChannelType.private_thread,
                            invitable=False,
                            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                        )
                        found = thread.id
                    progress.thread_id = found
                    await self._state.set_pair_space(str(guild_id), space.space_key, str(found))
                    await self._state.put(creating, "")
                except discord.Forbidden:
                    log.warning("no permission for private threads in server %s; pairs meet by DM", guild_id)
        fallback: list[str] = []
        if progress.thread_id is not None:
            thread_ref = self._client.get_partial_messageable(progress.thread_id, guild_id=guild_id)
            progress.added = progress.added or set()
            for user in members:
                if user in progress.added:
                    continue
                try:
                    await self._client.http.add_user_to_thread(progress.thread_id, int(user))
                    progress.added.add(user)
                except (discord.Forbidden, discord.NotFound):
                    fallback.append(user)
            info["fallback"] = fallback
            await self._state.put(self._pair_key(guild_id, space.space_key), json.dumps(info))
            if not progress.posted:
                # The welcome names the pair: they, and only they, are pinged.
                pair_only = discord.AllowedMentions(
                    everyone=False, roles=False, replied_user=False, users=[discord.Object(int(u)) for u in members]
                )
                await self._post(thread_ref, space.text, progress, "pair", pair_only)
                progress.posted = True
        else:
            fallback = members
            info["fallback"] = fallback
            await self._state.put(self._pair_key(guild_id, space.space_key), json.dumps(info))
        for user in fallback:
            await self._pair_dm(guild_id, user, self._text("discord.pair_space_by_dm"), space.text, progress)

    async def _unclaimed_thread(self, guild: discord.Guild, channel: discord.TextChannel, name: str) -> int | None:
        """A private thread this bot made in `channel` under `name` that no pair's space holds."""
        bot_id = self._client.user.id if self._client.user else None
        for thread in await guild.active_threads():
            if (
                thread.parent_id == channel.id
                and thread.type is discord.ChannelType.private_thread
                and thread.owner_id == bot_id
                and thread.name == name
                and await self._state.pair_space_for_channel(str(guild.id), str(thread.id)) is None
            ):
                return thread.id
        return None

    async def _pair_dm(self, guild_id: int, user: str, lead: str, text: str, progress: _Progress) -> None:
        await self.to_member(guild_id, user, PrivateMessage(user, f"{lead}\n\n{text}"), progress, "pairdm")

    async def _pair_post(self, guild_id: int, space_key: str, text: str, progress: _Progress) -> None:
        info = await self._pair_info(guild_id, space_key)
        thread_id = await self._state.pair_space(str(guild_id), space_key)
        if thread_id and not progress.posted:
            messageable = self._client.get_partial_messageable(int(thread_id), guild_id=guild_id)
            await self._post(messageable, text, progress, "pair")
            progress.posted = True
        for user in info.get("fallback", []):
            await self._pair_dm(guild_id, user, self._text("discord.pair_space_by_dm_post"), text, progress)

    async def _pair_close(self, guild_id: int, space_key: str) -> None:
        thread_id = await self._state.pair_space(str(guild_id), space_key)
        if thread_id:
            try:
                await self._client.http.edit_channel(int(thread_id), archived=True, locked=True)
            except discord.Forbidden:
                try:  # locking needs Manage Threads; the thread's owner may still archive it
                    await self._client.http.edit_channel(int(thread_id), archived=True)
                except discord.HTTPException:
                    log.warning("could not archive a pair's thread in server %s", guild_id)
            except discord.NotFound:
                pass
        await self._state.close_pair_space(str(guild_id), space_key, self._clock.now())
        await self._state.put(self._pair_key(guild_id, space_key), "")  # its member list goes too

    # -- messages kept for members whose DMs are closed ------------------------------------------

    async def _index(self) -> set[str]:
        if self._missed is None:
            raw = await self._state.get(MISSED_INDEX)
            self._missed = set(json.loads(raw)) if raw else set()
        return self._missed

    async def keep_missed(self, guild_id: int | str, user_id: str, intent: Intent, tag: str | None = None) -> None:
        """Keep `intent` for the member's next command; `tag` (the delivery's nonce) keeps it once
        when a delivery is repeated after a crash."""
        key = f"missed:{guild_id}:{user_id}"
        blob = self._cipher.encrypt(intent_to_json(intent), MISSED_PURPOSE)
        async with self._missed_lock:
            raw = await self._state.get(key)
            kept = json.loads(raw) if raw else {"items": [], "dropped": 0}
            if tag is not None:
                if tag in kept.get("tags", []):
                    return
                kept["tags"] = [*kept.get("tags", []), tag][-MISSED_KEEP:]
            kept.setdefault("since", self._clock.now().isoformat())
            kept["items"].append(base64.b64encode(blob).decode())
            extra = len(kept["items"]) - MISSED_KEEP
            if extra > 0:
                kept["items"] = kept["items"][extra:]
                kept["dropped"] += extra
            await self._state.put(key, json.dumps(kept))
            index = await self._index()
            if key not in index:
                index.add(key)
                await self._state.put(MISSED_INDEX, json.dumps(sorted(index)))

    def read_kept(self, raw: str | None) -> list[Intent]:
        kept = json.loads(raw) if raw else {"items": []}
        out = []
        for item in kept.get("items", []):
            try:
                out.append(intent_from_json(self._cipher.decrypt(base64.b64decode(item), MISSED_PURPOSE)))
            except Exception:
                log.warning("a kept message could not be read; skipped")
        return out

    def forgotten(self, keys: list[str]) -> None:
        """Keys deleted behind the index's back (mydata forget, retention): drop them from it."""
        if self._missed is not None:
            self._missed.difference_update(keys)

    async def has_missed(self, guild_id: int | str, user_id: str) -> bool:
        return f"missed:{guild_id}:{user_id}" in await self._index()

    async def take_missed(self, guild_id: int | str, user_id: str) -> list[Piece]:
        """What was kept for this member (as ephemeral pieces, buttons intact), then forgotten."""
        key = f"missed:{guild_id}:{user_id}"
        async with self._missed_lock:
            index = await self._index()
            if key not in index:
                return []
            raw = await self._state.get(key)
            if raw:
                await self._state.put(key, "")
            index.discard(key)
            await self._state.put(MISSED_INDEX, json.dumps(sorted(index)))
        if not raw:
            return []
        kept = json.loads(raw)
        pieces = [Piece(self._text("discord.dms_closed"))]
        if kept.get("dropped"):
            pieces.append(Piece(self._text("discord.dms_closed_more", count=kept["dropped"])))
        for intent in self.read_kept(raw):
            # Ids carry the server, as in a DM, so the buttons act exactly where they belong.
            pieces.extend(self.member_pieces(guild_id, intent, dm=True))
        return [Piece(p.text, True, p.buttons, p.file) for p in pieces]


def _chunks(text: str) -> list[str]:
    return split_text(text)


def message_kwargs(piece: Piece) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"content": piece.text, "allowed_mentions": NO_PINGS}
    view = build_view(piece.buttons)
    if view is not None:
        kwargs["view"] = view
    if piece.file is not None:
        name, data = piece.file
        kwargs["file"] = discord.File(io.BytesIO(data), filename=name)
    return kwargs
