"""What an adapter tells the core about a command, and what a handler gets to work with."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.commands.spec import CommandSpec
from bot.commands.words import command_words
from bot.languages import member_locale
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
    # The language the member's client is set to, as the platform says it (Discord's interaction
    # `locale`, e.g. "es-ES"), or "" where the platform does not say. Only passed along: the core
    # decides what it means (`bot/languages.py`).
    client_locale: str = ""


@dataclass
class Ctx:
    invocation: Invocation
    community: Community
    member: Member
    catalog: Catalog
    now: datetime
    # Set by `to(member)`: words addressed to another member (a party's notice), in their language.
    audience: Member | None = None
    # Set by App for a command whose answers are posted where it was typed (`private_answer=False`
    # in a channel): its words are then the community's, never the member's.
    public: bool = False

    @property
    def locale(self) -> str:
        """The language of words for this member alone (`bot/languages.py`): every private
        answer, prompt and notice to them."""
        if self.public:
            return self.community.locale
        if self.audience is not None:
            # The interaction's client language is the actor's, never the audience's.
            return member_locale(self.catalog, self.community, self.audience)
        return member_locale(self.catalog, self.community, self.member, self.invocation.client_locale)

    def to(self, member: Member) -> Ctx:
        """This context speaking to `member` (another party to what the actor did): its texts
        are in that member's language; `member` (the actor, for names) is unchanged."""
        return replace(self, audience=member)

    @property
    def community_locale(self) -> str:
        """The community's language: for anything posted where others read it."""
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
        """A text for this member alone, in their language."""
        return self.catalog.text(self.locale, key, prefix=self.prefix, **params)

    def public_t(self, key: str, /, **params: Any) -> str:
        """A text posted where others read it, in the community's language (never the member's)."""
        return self.catalog.text(self.community.locale, key, prefix=self.prefix, **params)

    def t_in(self, locale: str, key: str, /, **params: Any) -> str:
        """A text in a language decided elsewhere (another member's, a shared space's)."""
        return self.catalog.text(locale, key, prefix=self.prefix, **params)
    def word(self, value: str) -> str:
        """A word typed inside a command (a choice, a setting, a section's short name) in the
        reader's words: what to suggest in an answer (`avanzar` for `moving_towards`)."""
        return command_words(self.catalog).value(self.locale, value)

    def usage(self, spec: CommandSpec) -> str:
        """The command's usage line in the reader's words (`/parejas unirme`)."""
        return command_words(self.catalog).usage(spec, self.locale, self.prefix)


@dataclass(frozen=True)
class ChannelVerdict:
    """The adapter's answer about a channel: what to store (the platform's own id for it), or
    why not: "missing" (no such channel in this space) or "no_post" (the bot may not post).
    Part of the port: `setup` asks, adapters answer."""

    channel: str | None
    problem: str = ""
