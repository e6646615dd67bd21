"""What the core needs to know about a platform, as facts rather than names.

The core carries a platform key on every invocation and community (`CommunityRef.platform`) but
never interprets it: it looks the platform's `PlatformTraits` up here. Each adapter defines its
traits in `adapters/<name>/traits.py` and gives them to the core when it starts
(`App.register_platform`); the composition root registers every adapter's traits before the core
runs, because one database may hold communities of several platforms and scheduled work renders
words for all of them, whichever adapter is running.

The registry is process-wide on purpose: a platform's traits are facts about the platform, the
same for every `App` in the process, and pure helpers (a prefix for a community, a mention) can
ask without a dependency threaded through every constructor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformTraits:
    """A platform as the core sees it. The defaults describe a plain text platform (the console,
    or a platform no adapter has registered): `/` commands, no forms, names resolved freely."""

    # The command prefix shown in the bot's words ("/pair join", "!pair join").
    prefix: str = "/"
    # The adapter renders a FormRequest as a real form (a modal); otherwise the core walks the
    # fields one by one in a dialog.
    has_forms: bool = False
    # The longest form title or field label the platform takes (None: no limit).
    form_label_limit: int | None = None
    # The adapter resolves a mention only to a member of the community (a guild member, a room
    # member): someone mentioned there belongs even if they have not used the bot yet.
    mentions_are_members: bool = False
    # How the bot writes a mention of a platform user id, e.g. "<@{id}>" or "{id}".
    mention_format: str = "@{id}"
    # Commands typed are seen only by their author (slash commands), so a private line typed as a
    # command was never readable by others in the channel.
    commands_are_private: bool = False

    def mention(self, user_id: str) -> str:
        # An id that already starts with the format's leading sigil ("@sam" on a text platform)
        # is written as it is rather than doubled.
        lead = self.mention_format.split("{id}", 1)[0]
        if lead and user_id.startswith(lead):
            return user_id
        return self.mention_format.format(id=user_id)

    def label(self, text: str) -> str:
        """A form title or field label cut to what the platform takes."""
        return text[: self.form_label_limit]


DEFAULT = PlatformTraits()


class Platforms:
    """Platform key -> traits. An unregistered key gets the plain-text defaults."""

    def __init__(self) -> None:
        self._traits: dict[str, PlatformTraits] = {}

    def register(self, platform: str, traits: PlatformTraits) -> None:
        self._traits[platform] = traits

    def of(self, platform: str) -> PlatformTraits:
        return self._traits.get(platform, DEFAULT)


PLATFORMS = Platforms()


def register_platform(platform: str, traits: PlatformTraits) -> None:
    PLATFORMS.register(platform, traits)


def traits_of(platform: str) -> PlatformTraits:
    return PLATFORMS.of(platform)
