"""What an adapter tells the core about a command, and what a handler gets to work with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.communities import Community, Member
from bot.texts.catalog import Catalog
from bot.texts.formats import Formats


@dataclass(frozen=True)
class CommunityRef:
    platform: str  # "console", "matrix", "discord"
    external_id: str  # guild id, room id, console community name
    name: str = ""


@dataclass(frozen=True)
class Actor:
    user_id: str  # platform user id
    display_name: str = ""
    # Decided by the adapter from the platform (Discord role or Manage Server, Matrix power level,
    # console list) and the community's stored facilitator rule.
    is_facilitator: bool = False


@dataclass(frozen=True)
class Invocation:
    community: CommunityRef
    actor: Actor
    channel: str | None  # None when typed in a private space with the bot
    private: bool = False
    prefix: str = "/"  # how this platform writes commands, for usage lines
    # The platform's reference to the line the command was typed as (a Matrix event id), and
    # whether the adapter can take that line down (it has the power to remove others' messages
    # where it was typed). Set by adapters that can; the core offers removal only then.
    message_ref: str = ""
    removable: bool = False


@dataclass
class Ctx:
    invocation: Invocation
    community: Community
    member: Member
    catalog: Catalog
    now: datetime

    @property
    def locale(self) -> str:
        return self.community.locale

    @property
    def prefix(self) -> str:
        return self.invocation.prefix

    @property
    def is_facilitator(self) -> bool:
        return self.invocation.actor.is_facilitator

    @property
    def formats(self) -> Formats:
        """Dates, times, lists and numbers in the words of the locale this reply is rendered in."""
        return self.catalog.formats(self.locale)

    def t(self, key: str, /, **params: Any) -> str:
        return self.catalog.text(self.community.locale, key, prefix=self.prefix, **params)


@dataclass(frozen=True)
class ChannelVerdict:
    """The adapter's answer about a channel: what to store (the platform's own id for it), or
    why not: "missing" (no such channel in this space) or "no_post" (the bot may not post).
    Part of the port: `setup` asks, adapters answer."""

    channel: str | None
    problem: str = ""
