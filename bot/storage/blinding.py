"""Keyed hashes of identities, for entries that must keep pointing at a person without holding
their id in readable form (a not-with entry that must outlive the other person's `mydata forget`).

The hash key comes from one long-lived random secret per name in `blinding_secrets`, encrypted
under the data key with purpose `blinding.secret`; it is made on first use. Key rotation
re-encrypts it like any other encrypted field, so hashes made before a rotation still match.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime

from bot.storage.crypto import BLINDING_SECRET_PURPOSE, FieldCipher
from bot.storage.db import Tx

IDENTITY = "identity"


async def sealed_secret(tx: Tx, cipher: FieldCipher, now: datetime, name: str = IDENTITY) -> bytes:
    """The encrypted secret called `name`, made (in this transaction) if there is none yet.

    Another process sharing the store may be making it at the same moment: its row wins (the
    insert waits for that transaction, then does nothing) and is read back, so every process
    hashes under one secret."""
    select = "SELECT secret_enc FROM blinding_secrets WHERE name = ?"
    row = await tx.fetchone(select, (name,))
    if row is None:
        text = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        await tx.execute(
            "INSERT INTO blinding_secrets (name, secret_enc, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (name, cipher.encrypt(text, BLINDING_SECRET_PURPOSE), now.isoformat()),
        )
        row = await tx.fetchone(select, (name,))
    assert row is not None
    return bytes(row[0])


def identity_value(community_id: int, platform_user_id: str) -> str:
    """Who someone is in a community, as the platform knows them (stable across forget/rejoin)."""
    return f"{community_id}\x1f{platform_user_id}"


class IdentityBlinder:
    """Hashes identities under one sealed secret, read once per transaction by its user."""

    def __init__(self, cipher: FieldCipher, sealed: bytes, purpose: str) -> None:
        self._cipher = cipher
        self._sealed = sealed
        self._purpose = purpose

    @classmethod
    async def open(cls, tx: Tx, cipher: FieldCipher, purpose: str, now: datetime) -> IdentityBlinder:
        return cls(cipher, await sealed_secret(tx, cipher, now), purpose)

    def __call__(self, community_id: int, platform_user_id: str) -> str:
        value = identity_value(community_id, platform_user_id)
        return self._cipher.blind(value, self._purpose, self._sealed).hex()
