"""Storage for the space agreement and its consent rounds (PRODUCT.md §4). SQL lives here;
decisions live in `state.py` and `space_agreement.py`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.features.agreements.state import ConsentRound, ConsentStatus
from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx

OBJECTION_PURPOSE = "space_agreement.objection"


@dataclass(frozen=True)
class SpaceVersion:
    number: int
    content: dict[str, str]
    change_number: int | None
    adopted_how: str
    adopted_at: str


@dataclass(frozen=True)
class Change:
    id: int
    community_id: int
    number: int
    section: str
    text: str
    proposer_id: int | None
    channel: str
    status: ConsentStatus
    opened_at: str
    closes_at: str
    decided_at: str | None
    version: int | None


@dataclass(frozen=True)
class MemberResponse:
    """A member's own response to a change, with their note opened (for `mydata export`)."""

    change: int  # the change's number in its community
    section: str
    response: str
    at: str
    note: str | None


_CHANGE_COLUMNS = (
    "id, community_id, number, section, text, proposer_id, channel, status, opened_at, closes_at,"
    " decided_at, version"
)


def _change(row: Any) -> Change:
    values = list(row)
    values[7] = ConsentStatus(values[7])
    return Change(*values)


class SpaceRepo:
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    async def channel(self, db: Reader, community_id: int) -> str | None:
        row = await db.fetchone("SELECT channel FROM space_agreements WHERE community_id = ?", (community_id,))
        return None if row is None else row[0]

    async def create(
        self, tx: Tx, community_id: int, channel: str, by: int, content: dict[str, str], now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO space_agreements (community_id, channel, created_by, created_at) VALUES (?, ?, ?, ?)",
            (community_id, channel, by, now.isoformat()),
        )
        await self.add_version(tx, community_id, content, None, "draft", now)

    async def current(self, db: Reader, community_id: int) -> SpaceVersion | None:
        row = await db.fetchone(
            "SELECT number, content, change_number, adopted_how, adopted_at FROM space_agreement_versions"
            " WHERE community_id = ? ORDER BY number DESC LIMIT 1",
            (community_id,),
        )
        return None if row is None else SpaceVersion(row[0], json.loads(row[1]), row[2], row[3], row[4])

    async def versions(self, db: Reader, community_id: int) -> list[SpaceVersion]:
        rows = await db.fetchall(
            "SELECT number, content, change_number, adopted_how, adopted_at FROM space_agreement_versions"
            " WHERE community_id = ? ORDER BY number",
            (community_id,),
        )
        return [SpaceVersion(r[0], json.loads(r[1]), r[2], r[3], r[4]) for r in rows]

    async def add_version(
        self,
        tx: Tx,
        community_id: int,
        content: dict[str, str],
        change_number: int | None,
        how: str,
        now: datetime,
    ) -> int:
        row = await tx.fetchone(
            "SELECT COALESCE(MAX(number), 0) FROM space_agreement_versions WHERE community_id = ?",
            (community_id,),
        )
        number = int(row[0]) + 1
        await tx.execute(
            "INSERT INTO space_agreement_versions (community_id, number, content, change_number, adopted_how,"
            " adopted_at) VALUES (?, ?, ?, ?, ?, ?)",
            (community_id, number, json.dumps(content, sort_keys=True), change_number, how, now.isoformat()),
        )
        return number

    async def add_change(
        self,
        tx: Tx,
        community_id: int,
        section: str,
        text: str,
        proposer_id: int,
        channel: str,
        now: datetime,
        closes_at: datetime,
    ) -> Change:
        row = await tx.fetchone(
            "SELECT COALESCE(MAX(number), 0) FROM space_agreement_changes WHERE community_id = ?", (community_id,)
        )
        number = int(row[0]) + 1
        change_id = await tx.execute(
            "INSERT INTO space_agreement_changes (community_id, number, section, text, proposer_id, channel,"
            " status, opened_at, closes_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
            (community_id, number, section, text, proposer_id, channel, now.isoformat(), closes_at.isoformat()),
        )
        await self.respond(tx, change_id, proposer_id, "agree", None, now)
        change = await self.change_by_id(tx, change_id)
        assert change is not None
        return change

    async def open_by(self, db: Reader, member_id: int) -> tuple[int, str | None]:
        """How many changes the member has open, and when the first of their rounds closes."""
        row = await db.fetchone(
            "SELECT COUNT(*), MIN(closes_at) FROM space_agreement_changes WHERE proposer_id = ? AND status = 'open'",
            (member_id,),
        )
        return (int(row[0]), row[1]) if row is not None else (0, None)

    async def latest_by(self, db: Reader, member_id: int) -> str | None:
        """When the member last proposed a change (any status)."""
        row = await db.fetchone(
            "SELECT MAX(opened_at) FROM space_agreement_changes WHERE proposer_id = ?", (member_id,)
        )
        return row[0] if row is not None else None

    async def change(self, db: Reader, community_id: int, number: int) -> Change | None:
        row = await db.fetchone(
            f"SELECT {_CHANGE_COLUMNS} FROM space_agreement_changes WHERE community_id = ? AND number = ?",
            (community_id, number),
        )
        return None if row is None else _change(row)

    async def change_by_id(self, db: Reader, change_id: int) -> Change | None:
        row = await db.fetchone(f"SELECT {_CHANGE_COLUMNS} FROM space_agreement_changes WHERE id = ?", (change_id,))
        return None if row is None else _change(row)

    async def changes(self, db: Reader, community_id: int, *, open_only: bool) -> list[Change]:
        sql = f"SELECT {_CHANGE_COLUMNS} FROM space_agreement_changes WHERE community_id = ?"
        if open_only:
            sql += " AND status = 'open'"
        rows = await db.fetchall(sql + " ORDER BY number", (community_id,))
        return [_change(r) for r in rows]

    async def open_changes_everywhere(self, db: Reader) -> list[Change]:
        rows = await db.fetchall(f"SELECT {_CHANGE_COLUMNS} FROM space_agreement_changes WHERE status = 'open'")
        return [_change(r) for r in rows]

    async def round(self, db: Reader, change: Change, min_agree: int) -> ConsentRound:
        rows = await db.fetchall(
            "SELECT member_id, response FROM space_agreement_responses WHERE change_id = ?", (change.id,)
        )
        return ConsentRound(
            status=change.status,
            proposer=change.proposer_id,
            closes_at=datetime.fromisoformat(change.closes_at),
            min_agree=min_agree,
            agreed=frozenset(r[0] for r in rows if r[1] == "agree"),
            objections=frozenset(r[0] for r in rows if r[1] == "object"),
        )

    async def respond(
        self, tx: Tx, change_id: int, member_id: int, response: str, note: str | None, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO space_agreement_responses (change_id, member_id, response, note_enc, at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (change_id, member_id) DO UPDATE SET"
            " response = excluded.response, note_enc = excluded.note_enc, at = excluded.at",
            (change_id, member_id, response, self._cipher.encrypt_optional(note, OBJECTION_PURPOSE), now.isoformat()),
        )

    async def withdraw_change(self, tx: Tx, change_id: int, now: datetime) -> None:
        """The proposer took it back: closed, and its words are not kept (nothing decided them)."""
        await tx.execute(
            "UPDATE space_agreement_changes SET status = 'withdrawn', decided_at = ?, text = '' WHERE id = ?",
            (now.isoformat(), change_id),
        )

    async def decide(
        self, tx: Tx, change_id: int, status: ConsentStatus, now: datetime, version: int | None
    ) -> None:
        await tx.execute(
            "UPDATE space_agreement_changes SET status = ?, decided_at = ?, version = ? WHERE id = ?",
            (status.value, now.isoformat(), version, change_id),
        )

    # -- one member's records (mydata export and forget) ---------------------------------------

    async def responses_of(self, db: Reader, member_id: int, community_id: int) -> list[MemberResponse]:
        rows = await db.fetchall(
            "SELECT c.number, c.section, r.response, r.at, r.note_enc FROM space_agreement_responses r"
            " JOIN space_agreement_changes c ON c.id = r.change_id"
            " WHERE r.member_id = ? AND c.community_id = ? ORDER BY r.at",
            (member_id, community_id),
        )
        return [
            MemberResponse(r[0], r[1], r[2], r[3], self._cipher.decrypt(r[4], OBJECTION_PURPOSE) if r[4] is not None else None)
            for r in rows
        ]

    async def proposed_by(self, db: Reader, member_id: int, community_id: int) -> list[tuple[int, str, str, str, str]]:
        """(number, section, text, status, opened_at) of each change the member proposed."""
        rows = await db.fetchall(
            "SELECT number, section, text, status, opened_at FROM space_agreement_changes"
            " WHERE proposer_id = ? AND community_id = ? ORDER BY number",
            (member_id, community_id),
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def forget_responses(self, tx: Tx, member_id: int) -> None:
        await tx.execute("DELETE FROM space_agreement_responses WHERE member_id = ?", (member_id,))
