"""Storage for the resources a community's facilitators add: every statement on
community_resources lives here. Column names come only from `resources.FIELDS`, never from input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.storage.communities import Reader
from bot.storage.db import Tx

_COLUMNS = "id, name, contact, hours, region, peer_run, intervention_policy"
# The columns an edit may set (the values of resources.FIELDS); anything else is refused.
EDITABLE = frozenset({"name", "contact", "hours", "region", "peer_run", "intervention_policy"})


class ResourcesRepo:
    async def of_community(self, db: Reader, community_id: int) -> list[tuple[Any, ...]]:
        """(id, name, contact, hours, region, peer_run, intervention_policy), oldest first."""
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM community_resources WHERE community_id = ? ORDER BY id",
            (community_id,),
        )
        return [tuple(row) for row in rows]

    async def count(self, db: Reader, community_id: int) -> int:
        row = await db.fetchone("SELECT COUNT(*) FROM community_resources WHERE community_id = ?", (community_id,))
        return row[0]

    async def add(self, tx: Tx, community_id: int, values: dict[str, Any], now: datetime) -> int:
        return await tx.execute(
            "INSERT INTO community_resources (community_id, name, contact, hours, region, peer_run,"
            " intervention_policy, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                community_id, values["name"], values["contact"], values["hours"], values["region"],
                values["peer_run"], values["intervention_policy"], now.isoformat(), now.isoformat(),
            ),
        )

    async def name_of(self, db: Reader, community_id: int, resource_id: int) -> str | None:
        row = await db.fetchone(
            "SELECT name FROM community_resources WHERE id = ? AND community_id = ?",
            (resource_id, community_id),
        )
        return None if row is None else row[0]

    async def update(self, tx: Tx, resource_id: int, values: dict[str, Any], now: datetime) -> None:
        assert EDITABLE.issuperset(values), "only known columns are ever set"
        sets = ", ".join(f"{column} = ?" for column in values)
        await tx.execute(
            f"UPDATE community_resources SET {sets}, updated_at = ? WHERE id = ?",
            (*values.values(), now.isoformat(), resource_id),
        )

    async def remove(self, tx: Tx, resource_id: int) -> None:
        await tx.execute("DELETE FROM community_resources WHERE id = ?", (resource_id,))
