"""Every place in the database that holds a value encrypted under the data key.

`alongside key rotate` re-encrypts exactly these, and a start on a database from before the key
check samples them to see whether the key opens the stored data. A test builds a lived-in database
through real commands and fails on any ciphertext found outside this list, so a new encrypted
column cannot be forgotten: add it here, one line.

The purposes are the associated data each writer binds its values to (see `FieldCipher`); they
are repeated here as strings rather than imported, because `bot/storage` sits below the features
and the adapters. The test checks every declared value decrypts under its purpose.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Layout:
    """How ciphertexts sit inside one stored value: `unpack` lists them, `pack` puts replacements
    back in the same places (same order)."""

    name: str
    unpack: Callable[[object], list[bytes]]
    pack: Callable[[object, list[bytes]], object]


def _blob_unpack(value: object) -> list[bytes]:
    # Empty is no ciphertext: a delivered outbox row keeps its receipt with the payload X''.
    return [bytes(value)] if isinstance(value, bytes | bytearray | memoryview) and len(value) else []


def _base64_unpack(value: object) -> list[bytes]:
    return [base64.b64decode(value)] if isinstance(value, str) and value else []


def _items_unpack(value: object) -> list[bytes]:
    if not isinstance(value, str) or not value:
        return []
    return [base64.b64decode(item) for item in json.loads(value).get("items", [])]


def _items_pack(value: object, blobs: list[bytes]) -> object:
    kept = json.loads(str(value))
    kept["items"] = [base64.b64encode(blob).decode() for blob in blobs]
    return json.dumps(kept)


# The column holds one ciphertext as a BLOB.
BLOB = Layout("blob", _blob_unpack, lambda _value, blobs: blobs[0])
# The column holds one ciphertext as base64 text.
BASE64 = Layout("base64", _base64_unpack, lambda _value, blobs: base64.b64encode(blobs[0]).decode())
# The column holds JSON {"items": [base64 ciphertext, ...], ...} (other fields kept as they are).
JSON_ITEMS = Layout("json-items", _items_unpack, _items_pack)


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    # The purpose the values were encrypted for. It may name other columns of the same row in
    # braces, e.g. "dialog.{kind}", for a purpose that depends on the row.
    purpose: str
    # Limits the rows (SQL, on the same table), e.g. one adapter's keys in adapter_state.
    where: str = ""
    layout: Layout = field(default=BLOB)

    def purpose_for(self, row: dict[str, object]) -> str:
        return self.purpose.format(**row)

    @property
    def purpose_columns(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.purpose) if name]


KEY_CHECK_PURPOSE = "key.check"

ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("key_check", "value", KEY_CHECK_PURPOSE),
    EncryptedColumn("outbox", "payload", "outbox.payload"),
    EncryptedColumn("confirmations", "payload", "confirmation.payload"),
    EncryptedColumn("question_suggestions", "text_enc", "suggestion.text"),
    # Never written today; declared so that rotation covers it the day something is.
    EncryptedColumn("question_suggestions", "note_enc", "suggestion.note"),
    EncryptedColumn("pair_not_with", "other_enc", "pairing.not_with"),
    EncryptedColumn("pair_checkins", "answers_enc", "pairing.checkin_answers"),
    # Pairing preferences and meet-again wishes (issue 17, features/pairing/preferences_repo.py).
    EncryptedColumn("pair_preferences", "prefs_enc", "pairing.preferences"),
    EncryptedColumn("pair_again", "other_enc", "pairing.again"),
    EncryptedColumn("agreements", "draft_enc", "agreement.draft"),
    EncryptedColumn("agreement_versions", "content_enc", "agreement.version"),
    EncryptedColumn("space_agreement_responses", "note_enc", "space_agreement.objection"),
    EncryptedColumn("dialogs", "data_enc", "dialog.data"),
    # Discord: messages kept for a member whose DMs are closed (adapters/discord/outgoing.py).
    EncryptedColumn(
        "adapter_state", "value", "discord.missed", "platform = 'discord' AND key LIKE 'missed:%'", JSON_ITEMS
    ),
    # Matrix: the crypto store's pickle key (adapters/matrix/client.py, issue 11). The store itself
    # is pickled with that key, not the data key, so re-encrypting this value is all it needs.
    EncryptedColumn(
        "adapter_state", "value", "matrix.pickle_key", "platform = 'matrix' AND key = 'crypto_store_pickle_key'", BASE64
    ),
    # Matrix: the seeds of the bot's cross-signing keys (adapters/matrix/cross_signing.py, issue 16).
    EncryptedColumn(
        "adapter_state", "value", "matrix.cross_signing", "platform = 'matrix' AND key = 'cross_signing_seeds'", BASE64
    ),
    # Matrix: the private key of the room-key backup (adapters/matrix/key_backup.py, issue 16).
    EncryptedColumn(
        "adapter_state", "value", "matrix.key_backup", "platform = 'matrix' AND key = 'key_backup_key'", BASE64
    ),
    # The secret behind not-with entries' keyed hashes (bot/storage/blinding.py, issue 11): the
    # hashes stay valid across a rotation because only this sealed secret is re-encrypted.
    EncryptedColumn("blinding_secrets", "secret_enc", "blinding.secret"),
)
# Entries for tables this database may not have yet are skipped (see keycheck.present_columns).


def blob_columns_without_ciphertext() -> frozenset[tuple[str, str]]:
    """BLOB columns known to hold no ciphertext (none today); the schema test checks every BLOB
    column is either declared above or listed here."""
    return frozenset()
