"""Storage for step-by-step answers: every statement on the dialogs table lives here.

What a member has answered so far is stored encrypted; this module takes and returns it in the
clear and does the encryption itself."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx

_PURPOSE = "dialog.data"


@dataclass
class Dialog:
    id: int
    community_id: int
    member_id: int
    kind: str
    ref: str
    steps: tuple[str, ...]
    position: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> str:
        return self.steps[self.position]


class DialogsRepo:
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    async def of_member(self, db: Reader, member_id: int) -> tuple[Dialog, str] | None:
        """The member's dialog (a member has at most one) and when it expires (ISO text)."""
        row = await db.fetchone(
            "SELECT id, community_id, member_id, kind, ref, steps, position, data_enc, expires_at"
            " FROM dialogs WHERE member_id = ?",
            (member_id,),
        )
        if row is None:
            return None
        dialog = Dialog(
            id=row[0],
            community_id=row[1],
            member_id=row[2],
            kind=row[3],
            ref=row[4],
            steps=tuple(json.loads(row[5])),
            position=row[6],
            data=json.loads(self._cipher.decrypt(row[7], _PURPOSE)),
        )
        return dialog, row[8]

    async def add(
        self,
        tx: Tx,
        community_id: int,
        member_id: int,
        kind: str,
        ref: str,
        steps: list[str],
        data: dict[str, Any],
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        """A new dialog at its first step; its id."""
        return await tx.execute(
            "INSERT INTO dialogs (community_id, member_id, kind, ref, steps, position, data_enc, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (
                community_id,
                member_id,
                kind,
                ref,
                json.dumps(list(steps)),
                self._cipher.encrypt(json.dumps(data), _PURPOSE),
                created_at.isoformat(),
                expires_at.isoformat(),
            ),
        )

    async def save(self, tx: Tx, dialog: Dialog, expires_at: datetime) -> None:
        """Store where the dialog is and what it holds."""
        await tx.execute(
            "UPDATE dialogs SET position = ?, data_enc = ?, expires_at = ? WHERE id = ?",
            (
                dialog.position,
                self._cipher.encrypt(json.dumps(dialog.data), _PURPOSE),
                expires_at.isoformat(),
                dialog.id,
            ),
        )

    async def delete(self, tx: Tx, dialog_id: int) -> None:
        await tx.execute("DELETE FROM dialogs WHERE id = ?", (dialog_id,))

    async def has_open(self, db: Reader, member_id: int) -> bool:
        row = await db.fetchone("SELECT 1 FROM dialogs WHERE member_id = ?", (member_id,))
        return row is not None

    async def delete_about(self, tx: Tx, kind: str, ref: str) -> None:
        await tx.execute("DELETE FROM dialogs WHERE kind = ? AND ref = ?", (kind, ref))
