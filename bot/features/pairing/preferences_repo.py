"""Storage for pairing preferences and meet-again wishes (a part of `PairingRepo`, see repo.py).

Preferences are one encrypted JSON value per member. A wish names the other person the way a
not-with entry does: by a keyed hash of their identity in the community (under its own label, so
a wish and a not-with entry about the same person cannot be linked), plus, encrypted, the
platform id the member typed, so that the member's own list can be shown back to them. Nothing
here ever tells one member about another's wish: `grouping_preferences` hands the wishes to the
matcher, which counts only mutual ones, and nothing else reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.features.pairing.preferences import Preferences
from bot.features.pairing.prefs_values import StoredPrefs
from bot.storage.blinding import IdentityBlinder
from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx

PREFS_PURPOSE = "pairing.preferences"
AGAIN_PURPOSE = "pairing.again"
AGAIN_HASH_PURPOSE = "pairing.again.identity"  # the keyed hash's label
_NOT_WITH_HASH_PURPOSE = "pairing.not_with.identity"  # as repo.NOT_WITH_HASH_PURPOSE


@dataclass(frozen=True)
class Wish:
    id: int
    other_hash: str
    other_user_id: str  # as the member gave it (their own data)
    created_at: datetime


class PreferencesRepo:
    _cipher: FieldCipher  # set by PairingRepo

    # -- preferences ---------------------------------------------------------------------------

    async def preferences_of(self, db: Reader, community_id: int, member_id: int) -> StoredPrefs:
        row = await db.fetchone(
            "SELECT prefs_enc FROM pair_preferences WHERE community_id = ? AND member_id = ?",
            (community_id, member_id),
        )
        return StoredPrefs() if row is None else StoredPrefs.from_json(self._cipher.decrypt(row[0], PREFS_PURPOSE))

    async def save_preferences(
        self, tx: Tx, community_id: int, member_id: int, prefs: StoredPrefs, now: datetime
    ) -> None:
        """Store the member's preferences; nothing set leaves no row at all."""
        if not prefs.is_set:
            await self.delete_preferences(tx, community_id, member_id)
            return
        await tx.execute(
            "INSERT INTO pair_preferences (community_id, member_id, prefs_enc, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (community_id, member_id) DO UPDATE SET prefs_enc = excluded.prefs_enc,"
            " updated_at = excluded.updated_at",
            (community_id, member_id, self._cipher.encrypt(prefs.to_json(), PREFS_PURPOSE), now.isoformat()),
        )

    async def delete_preferences(self, tx: Tx, community_id: int, member_id: int) -> None:
        await tx.execute(
            "DELETE FROM pair_preferences WHERE community_id = ? AND member_id = ?", (community_id, member_id)
        )

    # -- meet-again wishes ---------------------------------------------------------------------

    async def again_blinder(self, tx: Tx, now: datetime) -> IdentityBlinder:
        return await IdentityBlinder.open(tx, self._cipher, AGAIN_HASH_PURPOSE, now)

    async def wishes_of(self, db: Reader, community_id: int, member_id: int) -> list[Wish]:
        rows = await db.fetchall(
            "SELECT id, other_hash, other_enc, created_at FROM pair_again WHERE community_id = ? AND member_id = ?"
            " ORDER BY id",
            (community_id, member_id),
        )
        return [
            Wish(row[0], row[1], self._cipher.decrypt(row[2], AGAIN_PURPOSE), datetime.fromisoformat(row[3]))
            for row in rows
        ]

    async def add_wish(
        self, tx: Tx, community_id: int, member_id: int, other_hash: str, other_user_id: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO pair_again (community_id, member_id, other_hash, other_enc, created_at) VALUES (?, ?, ?, ?, ?)",
            (community_id, member_id, other_hash, self._cipher.encrypt(other_user_id, AGAIN_PURPOSE), now.isoformat()),
        )

    async def renew_wish(self, tx: Tx, wish_id: int, now: datetime) -> None:
        """Asked again: the wish now dates from today (so it holds for whoever has the id now)."""
        await tx.execute("UPDATE pair_again SET created_at = ? WHERE id = ?", (now.isoformat(), wish_id))

    async def remove_wish(self, tx: Tx, wish_id: int) -> None:
        await tx.execute("DELETE FROM pair_again WHERE id = ?", (wish_id,))

    async def forget_preferences(self, tx: Tx, community_id: int, member_id: int) -> None:
        """`pair leave` and `mydata forget`: the member's preferences and their own wishes go.
        Wishes others made about them stay with those others, but cannot count any more: each
        counts only if made after its person's current member row (see `_wishes_among`)."""
        await self.delete_preferences(tx, community_id, member_id)
        await tx.execute("DELETE FROM pair_again WHERE community_id = ? AND member_id = ?", (community_id, member_id))

    # -- for the rounds ------------------------------------------------------------------------

    async def grouping_preferences(
        self, tx: Tx, community_id: int, member_ids: list[int], now: datetime
    ) -> tuple[dict[int, Preferences], list[tuple[int, int]]]:
        """Each member's preferences (timezone as an offset at `now`), and the (who asked, whom)
        wishes among these members, one-sided ones included (the matcher counts only mutual
        ones). A wish between two people where either has the other on a not-with list is
        left out: not-with wins, silently."""
        wanted = set(member_ids)
        rows = await tx.fetchall(
            "SELECT member_id, prefs_enc FROM pair_preferences WHERE community_id = ?", (community_id,)
        )
        prefs = {member_id: Preferences() for member_id in member_ids}
        for member_id, blob in rows:
            if member_id in wanted:
                prefs[member_id] = StoredPrefs.from_json(self._cipher.decrypt(blob, PREFS_PURPOSE)).at(now)
        return prefs, await self._wishes_among(tx, community_id, wanted, now)

    async def _members(self, db: Reader, community_id: int, member_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        wanted = set(member_ids)
        rows = await db.fetchall(
            "SELECT id, platform_user_id, created_at FROM members WHERE community_id = ?", (community_id,)
        )
        return {row[0]: (row[1], row[2]) for row in rows if row[0] in wanted}

    async def _wishes_among(
        self, tx: Tx, community_id: int, wanted: set[int], now: datetime
    ) -> list[tuple[int, int]]:
        rows = await tx.fetchall(
            "SELECT member_id, other_hash, created_at FROM pair_again WHERE community_id = ? ORDER BY id",
            (community_id,),
        )
        rows = [row for row in rows if row[0] in wanted]
        if not rows:
            return []
        members = await self._members(tx, community_id, wanted)
        blind = await self.again_blinder(tx, now)
        by_hash = {blind(community_id, user_id): (member_id, created) for member_id, (user_id, created) in members.items()}
        not_with = await self._blocked_pairs(tx, community_id, members, now)
        found: list[tuple[int, int]] = []
        for asker, other_hash, created_at in rows:
            whom = by_hash.get(other_hash)
            # A wish made before its person's current member row was about someone who has
            # since erased their data: it never counts for whoever came back with that id.
            if whom is None or whom[0] == asker or datetime.fromisoformat(created_at) < datetime.fromisoformat(whom[1]):
                continue
            if frozenset((asker, whom[0])) in not_with:
                continue
            found.append((asker, whom[0]))
        return found

    async def _blocked_pairs(
        self, tx: Tx, community_id: int, members: dict[int, tuple[str, str]], now: datetime
    ) -> set[frozenset[int]]:
        rows = await tx.fetchall(
            "SELECT member_id, other_hash FROM pair_not_with WHERE community_id = ? AND other_hash IS NOT NULL",
            (community_id,),
        )
        if not rows:
            return set()
        blind = await IdentityBlinder.open(tx, self._cipher, _NOT_WITH_HASH_PURPOSE, now)
        by_hash = {blind(community_id, user_id): member_id for member_id, (user_id, _) in members.items()}
        return {
            frozenset((member_id, by_hash[other_hash]))
            for member_id, other_hash in rows
            if member_id in members and other_hash in by_hash
        }

    async def spend_wishes(
        self, tx: Tx, community_id: int, groups: Iterable[Iterable[int]], now: datetime
    ) -> int:
        """After a round is grouped: the wishes between members who are now in one group are
        spent (both directions, mutual or not: they met, and each knows it). How many went."""
        rows = await tx.fetchall(
            "SELECT id, member_id, other_hash FROM pair_again WHERE community_id = ?", (community_id,)
        )
        if not rows:
            return 0
        by_asker: dict[int, list[tuple[int, str]]] = {}
        for wish_id, member_id, other_hash in rows:
            by_asker.setdefault(member_id, []).append((wish_id, other_hash))
        askers = set(by_asker)
        # Only groups with someone who made a wish matter; their members' ids are read once.
        wanted = [list(group) for group in groups]
        wanted = [group for group in wanted if askers.intersection(group)]
        members = await self._members(tx, community_id, (m for group in wanted for m in group))
        blind = await self.again_blinder(tx, now)
        spent: list[int] = []
        for group in wanted:
            hashes = {blind(community_id, members[m][0]): m for m in group if m in members}
            spent += [
                wish_id
                for member_id in group
                for wish_id, other_hash in by_asker.get(member_id, ())
                if hashes.get(other_hash, member_id) != member_id
            ]
        await tx.executemany("DELETE FROM pair_again WHERE id = ?", [(wish_id,) for wish_id in spent])
        return len(spent)

    # -- stats (aggregates only) ---------------------------------------------------------------

    async def preference_count(self, db: Reader, community_id: int) -> int:
        """How many members of pairing set any preference (never which)."""
        row = await db.fetchone(
            "SELECT COUNT(*) FROM pair_preferences p JOIN pair_participants pp"
            " ON pp.community_id = p.community_id AND pp.member_id = p.member_id WHERE p.community_id = ?",
            (community_id,),
        )
        return int(row[0]) if row is not None else 0

    async def last_round_groups(
        self, db: Reader, community_id: int
    ) -> tuple[datetime, list[tuple[int, list[StoredPrefs | None]]]] | None:
        """The groups the last round that made any was formed with: (its start, [(size, each
        remaining member's stored preferences, None for one who set none)]). Groups that grew
        from a pair someone left are left out: they are the same people, counted once."""
        found = await db.fetchone(
            "SELECT id, starts_at FROM pair_rounds WHERE community_id = ? AND pairs_made > 0"
            " AND state IN ('active', 'closed') ORDER BY number DESC LIMIT 1",
            (community_id,),
        )
        if found is None:
            return None
        rows = await db.fetchall(
            "SELECT p.id, p.size, pr.prefs_enc FROM pairs p LEFT JOIN pair_members m ON m.pair_id = p.id"
            " LEFT JOIN pair_preferences pr ON pr.community_id = p.community_id AND pr.member_id = m.member_id"
            " WHERE p.round_id = ? AND p.origin IS NULL ORDER BY p.id",
            (found[0],),
        )
        groups: dict[int, tuple[int, list[StoredPrefs | None]]] = {}
        for pair_id, size, blob in rows:
            _, members = groups.setdefault(pair_id, (size, []))
            members.append(None if blob is None else StoredPrefs.from_json(self._cipher.decrypt(blob, PREFS_PURPOSE)))
        return datetime.fromisoformat(found[1]), list(groups.values())
