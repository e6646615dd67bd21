"""Which language a text is in (issue 18).

- Words for one member (private answers, consent, check-ins, agreement prompts, any outbox
  message addressed to them): their chosen language (`mydata language`), else their client's
  when the platform tells it (Discord's interaction locale) and Alongside has texts for it, else
  the community's.
- Public posts (questions, announcements, the space agreement, anything in a channel): the
  community's.
- A shared private space (a pair's or circle's): the language every member of it resolves to
  when they all resolve to the same one, else the community's. Only "all the same or not" is
  used, so nobody learns another member's choice from it.

The core decides; adapters only pass the platform's raw client locale along (`Invocation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from bot.storage.communities import Community
from bot.texts.catalog import Catalog


class Speaker(Protocol):
    """Anything that knows a member's languages (a `Member`, pairing's `MemberInfo`)."""

    @property
    def language(self) -> str: ...

    @property
    def client_language(self) -> str: ...


# What `mydata language default` (and its synonyms) means: go back to the space's language.
DEFAULT_WORDS = frozenset({"default", "clear", "none", "reset"})


def known_locale(catalog: Catalog, raw: str) -> str:
    """A platform or typed locale ("es-ES", "es_419", "ES") -> a locale Alongside has ("es"),
    or "" when it has none for it. The full tag wins over its base language when both exist."""
    tag = raw.strip().replace("_", "-").lower()
    if not tag or len(tag) > 35:
        return ""
    # Folders are named as people write tags ("es", "pt-BR"); tags arrive in any case.
    have = {locale.lower(): locale for locale in catalog.locales}
    return have.get(tag) or have.get(tag.split("-", 1)[0], "")


def member_locale(catalog: Catalog, community: Community, member: Speaker | None, client: str = "") -> str:
    """The language for words addressed to `member` alone. `client`: the raw client locale of
    the interaction in hand, if any (fresher than the one remembered)."""
    if member is not None:
        for candidate in (member.language, known_locale(catalog, client), member.client_language):
            if candidate and catalog.has_locale(candidate):
                return candidate
    return community.locale


def shared_locale(catalog: Catalog, community: Community, members: Iterable[Speaker | None]) -> str:
    """The language for a space several members share: theirs if all resolve to the same one,
    else the community's."""
    found = {member_locale(catalog, community, member) for member in members}
    return found.pop() if len(found) == 1 else community.locale


def language_name(catalog: Catalog, locale: str) -> str:
    """A locale's name in its own words ("English", "español"), from its own `language.name`;
    the code itself for a locale that does not name itself (never another locale's name)."""
    if not catalog.has_locale(locale):
        return locale
    return catalog.locale(locale).messages.get("language.name", locale)
