"""Repository for communities and their members."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import aiosqlite

from bot.storage.db import Tx, open_transaction
from bot.storage.sql_dialect import Dialect


class Reader(Protocol):
    dialect: Dialect  # which SQL engine: a repository keys a statement by it where they differ

    async def fetchone(self, sql: str, params: Any = ()) -> aiosqlite.Row | None: ...
    async def fetchall(self, sql: str, params: Any = ()) -> list[aiosqlite.Row]: ...


@dataclass(frozen=True)
class Community:
    id: int
    platform: str
    external_id: str
    name: str
    locale: str
    timezone: str
    question_channel: str
    pairing_channel: str
    facilitator_rule: str
    question_focus: str
    question_depth: str  # light | mixed | deep: `questions depth`
    pair_size: int = 2  # 2: pairs; 3-6: circles of about that size (`pair schedule ... size N`)
    pair_together: int = 1  # rounds in a row the same circles meet (`... together N`)


@dataclass(frozen=True)
class Member:
    id: int
    community_id: int
    platform_user_id: str
    display_name: str
    # `mydata language`: the member's chosen locale ('' = none chosen), and their client's
    # locale as last seen ('' = unknown, or one Alongside has no texts for). See `bot/languages.py`.
    language: str = ""
    client_language: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.platform_user_id


SETTABLE = ("locale", "timezone", "question_channel", "pairing_channel", "facilitator_rule", "question_focus", "question_depth", "pair_size", "pair_together")

_COMMUNITY_COLUMNS = (
    "id, platform, external_id, name, locale, timezone, question_channel, pairing_channel, "
    "facilitator_rule, question_focus, question_depth, pair_size, pair_together"
)


_MEMBER_COLUMNS = "id, community_id, platform_user_id, display_name, language, client_language"


def _community(row: aiosqlite.Row | None) -> Community | None:
    return None if row is None else Community(*tuple(row))


def _member(row: aiosqlite.Row | None) -> Member | None:
    return None if row is None else Member(*tuple(row))


class CommunityRepo:
    """Communities are read on every command and job; they change only through `update`, so
    they are cached by id (one process owns a database)."""

    def __init__(self) -> None:
        self._by_id: dict[int, Community] = {}
        self._by_ref: dict[tuple[str, str], int] = {}

    def forget_cached(self) -> None:
        """Read every community afresh from now on (another process sharing the store may have
        changed one with `setup`); App.resync calls it."""
        self._by_id.clear()
        self._by_ref.clear()

    async def find(self, db: Reader, platform: str, external_id: str) -> Community | None:
        known = self._by_ref.get((platform, external_id))
        if known is not None and known in self._by_id:
            return self._by_id[known]
        found = _community(
            await db.fetchone(
                f"SELECT {_COMMUNITY_COLUMNS} FROM communities WHERE platform = ? AND external_id = ?",
                (platform, external_id),
            )
        )
        if found is not None:
            self._cache(db, found)
        return found

    def _cache(self, db: Reader, found: Community) -> None:
        # A row read inside a transaction is cached only once it has committed.
        def remember() -> None:
            self._by_id[found.id] = found
            self._by_ref[(found.platform, found.external_id)] = found.id

        tx = open_transaction(db)
        if tx is None:
            remember()
        else:
            tx.after_commit(remember)

    async def get(self, db: Reader, community_id: int) -> Community | None:
        cached = self._by_id.get(community_id)
        if cached is not None:
            return cached
        found = _community(
            await db.fetchone(f"SELECT {_COMMUNITY_COLUMNS} FROM communities WHERE id = ?", (community_id,))
        )
        if found is not None:
            self._cache(db, found)
        return found

    def forget(self, community_id: int) -> None:
        self._by_id.pop(community_id, None)

    async def of_member(self, db: Reader, platform: str, platform_user_id: str) -> list[Community]:
        """The communities of this platform where this user is a member, oldest first."""
        rows = await db.fetchall(
            f"SELECT {', '.join('c.' + c.strip() for c in _COMMUNITY_COLUMNS.split(','))}"
            " FROM members m JOIN communities c ON c.id = m.community_id"
            " WHERE c.platform = ? AND m.platform_user_id = ? ORDER BY c.id",
            (platform, platform_user_id),
        )
        return [found for row in rows if (found := _community(row)) is not None]

    async def all(self, db: Reader) -> list[Community]:
        rows = await db.fetchall(f"SELECT {_COMMUNITY_COLUMNS} FROM communities ORDER BY id")
        return [Community(*tuple(row)) for row in rows]

    async def create(
        self, tx: Tx, platform: str, external_id: str, name: str, defaults: dict[str, str], now: datetime
    ) -> Community:
        await tx.execute(
            "INSERT INTO communities (platform, external_id, name, locale, timezone, question_channel,"
            " pairing_channel, facilitator_rule, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            # Another process may have made it since `find` (one store, several processes): keep
            # theirs and read it back.
            " ON CONFLICT (platform, external_id) DO NOTHING",
            (
                platform,
                external_id,
                name,
                defaults["locale"],
                defaults["timezone"],
                defaults.get("question_channel", ""),
                defaults.get("pairing_channel", ""),
                defaults.get("facilitator_rule", ""),
                now.isoformat(),
            ),
        )
        found = await self.find(tx, platform, external_id)
        assert found is not None
        return found

    async def update(self, tx: Tx, community_id: int, **values: str | int) -> None:
        for column, value in values.items():
            if column not in SETTABLE:
                raise ValueError(f"{column} is not a community setting")
            await tx.execute(f"UPDATE communities SET {column} = ? WHERE id = ?", (value, community_id))
        self._by_id.pop(community_id, None)
        # Again after commit: a read earlier in the same (outer) transaction cached the old row then.
        tx.after_commit(lambda: self._by_id.pop(community_id, None))


class MemberRepo:
    """Members are looked up on every command, so committed rows are cached (one process owns a
    database). Only reads outside a transaction fill the cache, and writes update it after commit,
    so a rolled-back insert never lingers; `mydata forget` evicts the member it deletes."""

    def __init__(self) -> None:
        self._by_ref: dict[tuple[int, str], Member] = {}

    def _remember(self, member: Member) -> None:
        self._by_ref[(member.community_id, member.platform_user_id)] = member

    def forget_cached(self) -> None:
        """Read every member afresh from now on (another process sharing the store may have
        renamed or erased one); App.resync calls it."""
        self._by_ref.clear()

    def evict(self, member: Member) -> None:
        self._by_ref.pop((member.community_id, member.platform_user_id), None)

    async def find(self, db: Reader, community_id: int, platform_user_id: str) -> Member | None:
        cached = self._by_ref.get((community_id, platform_user_id))
        if cached is not None:
            return cached
        found = _member(
            await db.fetchone(
                f"SELECT {_MEMBER_COLUMNS} FROM members"
                " WHERE community_id = ? AND platform_user_id = ?",
                (community_id, platform_user_id),
            )
        )
        if found is not None and open_transaction(db) is None:
            self._remember(found)
        return found

    async def named(self, db: Reader, community_id: int, name: str) -> list[Member]:
        """Known members a plain name could mean: its display name, or its platform id with or
        without the leading @ and the :server part, compared without case."""
        wanted = name.casefold()
        rows = await db.fetchall(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE community_id = ?"
            " ORDER BY id",
            (community_id,),
        )
        found: list[Member] = []
        for row in rows:
            member = Member(*tuple(row))
            user = member.platform_user_id.casefold()
            forms = {member.display_name.casefold(), user, user.removeprefix("@").partition(":")[0]}
            if wanted in forms:
                found.append(member)
        return found

    async def get(self, db: Reader, member_id: int) -> Member | None:
        return _member(
            await db.fetchone(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = ?",
                (member_id,),
            )
        )

    async def set_language(self, tx: Tx, member: Member, *, language: str | None = None, client: str | None = None) -> Member:
        """Store the member's chosen language and/or their client's (None: leave as is); the
        cached member follows once the transaction commits."""
        changed = replace(
            member,
            language=member.language if language is None else language,
            client_language=member.client_language if client is None else client,
        )
        await tx.execute(
            "UPDATE members SET language = ?, client_language = ? WHERE id = ?",
            (changed.language, changed.client_language, member.id),
        )
        tx.after_commit(lambda: self._remember(changed))
        return changed

    async def delete(self, tx: Tx, member_id: int) -> None:
        """Delete the member row; rows that only point at it go too (ON DELETE CASCADE / SET NULL).
        The caller evicts the cached member once the transaction commits."""
        await tx.execute("DELETE FROM members WHERE id = ?", (member_id,))

    async def ensure(
        self, tx: Tx, community_id: int, platform_user_id: str, display_name: str, now: datetime
    ) -> Member:
        found = await self.find(tx, community_id, platform_user_id)
        if found is not None:
            if display_name and display_name != found.display_name:
                await tx.execute("UPDATE members SET display_name = ? WHERE id = ?", (display_name, found.id))
                renamed = replace(found, display_name=display_name)
                tx.after_commit(lambda: self._remember(renamed))
                return renamed
            return found
        await tx.execute(
            "INSERT INTO members (community_id, platform_user_id, display_name, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (community_id, platform_user_id) DO NOTHING",
            (community_id, platform_user_id, display_name, now.isoformat()),
        )
        member = await self.find(tx, community_id, platform_user_id)
        assert member is not None
        tx.after_commit(lambda: self._remember(member))
        return member
