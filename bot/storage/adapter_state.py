"""Small persistent state the platform adapters keep in the core's database.

The core does not interpret any of it; it only owns the storage (one database, one backup, one
`mydata forget` that can reach everything)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from bot.storage.db import Database, Tx

# Keys deleted per statement: well under SQLite's limit on a statement's parameters.
_DELETE_CHUNK = 500


def _starting(prefix: str) -> str:
    """A LIKE pattern for keys starting with `prefix` (its own % and _ taken literally)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _chunks(keys: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(keys), _DELETE_CHUNK):
        yield keys[start : start + _DELETE_CHUNK]


async def record_seen(tx: Tx | Database, platform: str, event_id: str, now: datetime) -> bool:
    """Record an event id as handled; False if it was recorded before. Inside the transaction
    that carries the event's effects this makes handling exactly once: the record commits or
    rolls back with them."""
    changed = await tx.execute(
        "INSERT INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (platform, event_id, now.isoformat()),
    )
    # A Tx reports an INSERT's row id (0 if ignored), a Database its row count.
    return changed > 0


async def purge_seen(tx: Tx, before: datetime) -> int:
    """Forget the handled event ids of every platform recorded before `before` (retention)."""
    return await tx.execute("DELETE FROM seen_events WHERE seen_at < ?", (before.isoformat(),))


class AdapterState:
    """One platform's rows: its key/value pairs, its members' private channels and its pairs'
    spaces. Methods that take `tx` run inside that transaction (e.g. `mydata forget`'s), the
    others on their own."""

    def __init__(self, db: Database, platform: str) -> None:
        self._db = db
        self.platform = platform

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT value FROM adapter_state WHERE platform = ? AND key = ?", (self.platform, key)
        )
        return None if row is None else row[0]

    async def put(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO adapter_state (platform, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (platform, key) DO UPDATE SET value = excluded.value",
            (self.platform, key, value),
        )

    async def items(self, *prefixes: str, tx: Tx | None = None) -> list[tuple[str, str]]:
        """(key, value) of every key starting with one of `prefixes`, in no particular order."""
        if not prefixes:
            return []
        match = " OR ".join(["key LIKE ? ESCAPE '\\'"] * len(prefixes))
        rows = await (tx or self._db).fetchall(
            f"SELECT key, value FROM adapter_state WHERE platform = ? AND ({match})",
            (self.platform, *map(_starting, prefixes)),
        )
        return [(row[0], row[1]) for row in rows]

    async def delete(self, *keys: str, tx: Tx | None = None) -> None:
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            await (tx or self._db).execute(
                f"DELETE FROM adapter_state WHERE platform = ? AND key IN ({marks})", (self.platform, *chunk)
            )

    async def keys_where(self, prefix: str, value: str) -> list[str]:
        """The keys starting with `prefix` that hold `value`."""
        rows = await self._db.fetchall(
            "SELECT key FROM adapter_state WHERE platform = ? AND key LIKE ? ESCAPE '\\' AND value = ?",
            (self.platform, _starting(prefix), value),
        )
        return [row[0] for row in rows]

    async def delete_where(self, prefix: str, value: str, *, tx: Tx | None = None) -> None:
        """Delete the keys starting with `prefix` that hold `value`."""
        await (tx or self._db).execute(
            "DELETE FROM adapter_state WHERE platform = ? AND key LIKE ? ESCAPE '\\' AND value = ?",
            (self.platform, _starting(prefix), value),
        )

    async def clear_values_where(self, prefix: str, value: str, *, tx: Tx | None = None) -> None:
        """Keep the keys starting with `prefix` that hold `value`, but empty their value."""
        await (tx or self._db).execute(
            "UPDATE adapter_state SET value = '' WHERE platform = ? AND key LIKE ? ESCAPE '\\' AND value = ?",
            (self.platform, _starting(prefix), value),
        )

    async def first_sighting(self, event_id: str, now: datetime) -> bool:
        """Record an event id on its own; False if it was already handled (at most once: for
        events whose handling is not itself in the database, e.g. a note sent from memory)."""
        return await record_seen(self._db, self.platform, event_id, now)

    async def forget_seen_before(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM seen_events WHERE platform = ? AND seen_at < ?", (self.platform, before.isoformat())
        )

    async def private_channel(self, user_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT channel_id FROM private_channels WHERE platform = ? AND user_id = ?",
            (self.platform, user_id),
        )
        return None if row is None else row[0]

    async def set_private_channel(self, user_id: str, channel_id: str) -> None:
        await self._db.execute(
            "INSERT INTO private_channels (platform, user_id, channel_id) VALUES (?, ?, ?)"
            " ON CONFLICT (platform, user_id) DO UPDATE SET channel_id = excluded.channel_id",
            (self.platform, user_id, channel_id),
        )

    async def private_channels(self) -> dict[str, str]:
        """Every member's private channel on this platform, by the user key it was stored under
        (an emptied link included)."""
        rows = await self._db.fetchall(
            "SELECT user_id, channel_id FROM private_channels WHERE platform = ?", (self.platform,)
        )
        return {row[0]: row[1] for row in rows}

    async def forget_private_channel(self, user_id: str, *, tx: Tx | None = None) -> None:
        await (tx or self._db).execute(
            "DELETE FROM private_channels WHERE platform = ? AND user_id = ?", (self.platform, user_id)
        )

    async def user_for_private_channel(self, channel_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT user_id FROM private_channels WHERE platform = ? AND channel_id = ?",
            (self.platform, channel_id),
        )
        return None if row is None else row[0]

    async def pair_space(self, community: str, space_key: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT channel_id FROM pair_space_channels"
            " WHERE platform = ? AND community_external_id = ? AND space_key = ?",
            (self.platform, community, space_key),
        )
        return None if row is None else row[0]

    async def pair_space_for_channel(self, community: str, channel_id: str) -> str | None:
        """The space a channel (a Discord thread) already belongs to, if any."""
        row = await self._db.fetchone(
            "SELECT space_key FROM pair_space_channels"
            " WHERE platform = ? AND community_external_id = ? AND channel_id = ?",
            (self.platform, community, channel_id),
        )
        return None if row is None else row[0]

    async def open_pair_spaces(self) -> list[tuple[str, str, str]]:
        """(community, space key, channel id) of every pair space not closed."""
        rows = await self._db.fetchall(
            "SELECT community_external_id, space_key, channel_id FROM pair_space_channels"
            " WHERE platform = ? AND closed_at IS NULL",
            (self.platform,),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def set_pair_space(self, community: str, space_key: str, channel_id: str) -> None:
        await self._db.execute(
            "INSERT INTO pair_space_channels"
            " (platform, community_external_id, space_key, channel_id) VALUES (?, ?, ?, ?)"
            # What INSERT OR REPLACE did, in SQL both engines accept: a reopened space is open again.
            " ON CONFLICT (platform, community_external_id, space_key)"
            " DO UPDATE SET channel_id = excluded.channel_id, closed_at = NULL",
            (self.platform, community, space_key, channel_id),
        )

    async def close_pair_space(self, community: str, space_key: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE pair_space_channels SET closed_at = ?"
            " WHERE platform = ? AND community_external_id = ? AND space_key = ?",
            (now.isoformat(), self.platform, community, space_key),
        )
