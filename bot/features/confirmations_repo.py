"""Storage for the confirmation step: every statement on the confirmations table lives here
(other features read it only through `Confirmations`; `mydata` through its own repository).

Payloads are stored encrypted; this module encrypts them and decrypts them on request, so a
question that is only deleted (expired, stale) is never opened."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx

_PURPOSE = "confirmation.payload"


class Question(NamedTuple):
    """One pending question, as stored (times as ISO text, the payload still encrypted)."""

    id: int
    action: str
    payload_enc: bytes
    expires_at: str
    created_at: str


_QUESTION = "id, action, payload, expires_at, created_at"


class ConfirmationsRepo:
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    def payload(self, question: Question) -> dict[str, Any]:
        return json.loads(self._cipher.decrypt(question.payload_enc, _PURPOSE))

    async def replace(
        self,
        tx: Tx,
        community_id: int,
        member_id: int,
        action: str,
        payload: dict[str, Any],
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        """Store a question, replacing the member's older one for the same action; its id."""
        await tx.execute("DELETE FROM confirmations WHERE member_id = ? AND action = ?", (member_id, action))
        return await tx.execute(
            "INSERT INTO confirmations (community_id, member_id, action, payload, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                community_id,
                member_id,
                action,
                self._cipher.encrypt(json.dumps(payload), _PURPOSE),
                created_at.isoformat(),
                expires_at.isoformat(),
            ),
        )

    async def open_payload(self, db: Reader, member_id: int, action: str, now: datetime) -> dict[str, Any] | None:
        """The payload of the member's newest open question for `action`."""
        row = await db.fetchone(
            "SELECT payload FROM confirmations WHERE member_id = ? AND action = ? AND expires_at > ?"
            " ORDER BY id DESC LIMIT 1",
            (member_id, action, now.isoformat()),
        )
        return None if row is None else json.loads(self._cipher.decrypt(row[0], _PURPOSE))

    async def open_id(self, db: Reader, member_id: int, action: str, now: datetime) -> int | None:
        row = await db.fetchone(
            "SELECT id FROM confirmations WHERE member_id = ? AND action = ? AND expires_at > ?",
            (member_id, action, now.isoformat()),
        )
        return None if row is None else int(row[0])

    async def newest(self, db: Reader, member_id: int) -> Question | None:
        """The member's newest question, open or expired."""
        row = await db.fetchone(
            f"SELECT {_QUESTION} FROM confirmations WHERE member_id = ? ORDER BY id DESC LIMIT 1",
            (member_id,),
        )
        return None if row is None else Question(*row)

    async def asked_of(self, db: Reader, confirmation_id: int, member_id: int) -> Question | None:
        """Question `confirmation_id` if it was asked of this member (else nothing)."""
        row = await db.fetchone(
            f"SELECT {_QUESTION} FROM confirmations WHERE id = ? AND member_id = ?",
            (confirmation_id, member_id),
        )
        return None if row is None else Question(*row)

    async def delete(self, tx: Tx, confirmation_id: int) -> None:
        await tx.execute("DELETE FROM confirmations WHERE id = ?", (confirmation_id,))

    async def open_of(self, db: Reader, member_id: int, now: datetime) -> list[tuple[int, str, str]]:
        """(id, action, created_at) of the member's open questions, newest first."""
        rows = await db.fetchall(
            "SELECT id, action, created_at FROM confirmations WHERE member_id = ? AND expires_at > ?"
            " ORDER BY id DESC",
            (member_id, now.isoformat()),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def ids_of(self, db: Reader, member_id: int) -> list[int]:
        rows = await db.fetchall("SELECT id FROM confirmations WHERE member_id = ? ORDER BY id", (member_id,))
        return [row[0] for row in rows]

    async def waiting_of(self, db: Reader, member_id: int) -> list[tuple[str, str]]:
        """(action, created_at) of each question waiting for the member, oldest first (for export)."""
        rows = await db.fetchall(
            "SELECT action, created_at FROM confirmations WHERE member_id = ? ORDER BY id", (member_id,)
        )
        return [(row[0], row[1]) for row in rows]

    async def forget_member(self, tx: Tx, member_id: int) -> None:
        await tx.execute("DELETE FROM confirmations WHERE member_id = ?", (member_id,))

    async def purge_expired(self, tx: Tx, now: datetime) -> int:
        return await tx.execute("DELETE FROM confirmations WHERE expires_at < ?", (now.isoformat(),))
