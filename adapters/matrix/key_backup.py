"""Server-side room-key backup: room keys that survive a lost crypto store (issue 16).

The Matrix algorithm ``m.megolm_backup.v1.curve25519-aes-sha2`` (client-server API, "Server-side
key backups"): every megolm session the bot holds is encrypted to the backup's curve25519 public
key and uploaded (``PUT /room_keys/keys``); a bot that starts on a new device (its crypto store
lost) fetches them back (``GET /room_keys/keys``), decrypts them with the private key and imports
them into nio's store before its first sync, so commands encrypted before the loss are read.

The private key is random and kept sealed under the data key in the adapter's state
("key_backup_key", purpose "matrix.key_backup"), like the cross-signing seeds: the operator's
backup is the data key plus the database. Anyone who knows the public key (the homeserver too)
could add keys to such a backup, so each uploaded key also carries MSC4048's MAC, made with a key
derived from the private key, and only keys with a valid MAC are imported: a key the bot did not
upload cannot make a message look as if a member sent it.

The bot uses the account's current backup version when its public key is the bot's, creates one
when the account has none, and never deletes or replaces someone else's (one warning line, and
no backup). Nothing here stops the bot, and no key is ever logged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from aiohttp import ClientError
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nio import AsyncClient
from nio.crypto.sessions import InboundGroupSession

from adapters.matrix.canonical_json import (
    SigningKey,
    sign_json,
    signable_bytes,
    unpadded_b64decode,
    unpadded_b64encode,
)
from adapters.matrix.cross_signing import load_keys, request_json
from bot.app import AdapterState, DataKeyError, FieldCipher

log = logging.getLogger(__name__)

ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
MEGOLM = "m.megolm.v1.aes-sha2"
KEY_STATE = "key_backup_key"
KEY_PURPOSE = "matrix.key_backup"
DEVICE_STATE = "key_backup_device"  # the device whose store was last filled from the backup
SENT_PREFIX = "key_backup_sent:"  # per session id: "<version> <first known index>"
MAC_INFO = b"MATRIX_BACKUP_MAC_KEY"
MAC_NAME = "org.matrix.msc4048.hmac-sha-256:backup_mac_key"  # MSC4048's unstable name
CHUNK = 100  # sessions per upload request


class BackupKey:
    """The backup's curve25519 key pair (the private key is the "recovery key")."""

    def __init__(self, private: bytes) -> None:
        self._private = bytes(private)
        self._key = X25519PrivateKey.from_private_bytes(self._private)
        self.public_key = unpadded_b64encode(self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @classmethod
    def generate(cls) -> BackupKey:
        return cls(X25519PrivateKey.generate().private_bytes_raw())

    def __repr__(self) -> str:  # never the private key, should the object reach a log line
        return f"BackupKey(public_key={self.public_key})"

    def private_text(self) -> str:
        return base64.b64encode(self._private).decode()

    def secrets(self) -> list[str]:
        """The private key as it could appear in text (for the log mask)."""
        text = self.private_text()
        return [text, text.rstrip("=")]

    def mac_key(self) -> bytes:
        # MSC4048: HKDF-SHA-256 of the private key, no salt, info "MATRIX_BACKUP_MAC_KEY".
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_INFO).derive(self._private)

    def shared_secret(self, ephemeral: bytes) -> bytes:
        return self._key.exchange(X25519PublicKey.from_public_bytes(ephemeral))


def _derive(shared: bytes) -> tuple[bytes, bytes, bytes]:
    """The spec's 80 bytes: HKDF-SHA-256, salt of 32 zero bytes, empty info → AES key, MAC
    key, IV."""
    okm = HKDF(algorithm=hashes.SHA256(), length=80, salt=bytes(32), info=b"").derive(shared)
    return okm[:32], okm[32:64], okm[64:]


def _v1_mac(mac_key: bytes) -> str:
    # The spec says the MAC is over the ciphertext, but libolm (and so every client since, as
    # vodozemac's PkEncryption "libolm compat") computes it over an empty message; clients check
    # that, so the bot writes the same. Integrity comes from MSC4048's MAC instead.
    return unpadded_b64encode(hmac.new(mac_key, b"", hashlib.sha256).digest()[:8])


def encrypt_session_data(public_key: str, plaintext: dict[str, Any]) -> dict[str, str]:
    """`session_data` of one key, encrypted to the backup's public key."""
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(unpadded_b64decode(public_key)))
    aes_key, mac_key, iv = _derive(shared)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(json.dumps(plaintext).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return {
        "ephemeral": unpadded_b64encode(ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "ciphertext": unpadded_b64encode(ciphertext),
        "mac": _v1_mac(mac_key),
    }


def decrypt_session_data(key: BackupKey, session_data: dict[str, Any]) -> dict[str, Any]:
    """The plaintext of one `session_data`; ValueError when it does not open with `key`."""
    aes_key, mac_key, iv = _derive(key.shared_secret(unpadded_b64decode(session_data["ephemeral"])))
    if not hmac.compare_digest(_v1_mac(mac_key), str(session_data.get("mac", ""))):
        raise ValueError("session_data MAC does not match")
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(unpadded_b64decode(session_data["ciphertext"])) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    data = json.loads(unpadder.update(padded) + unpadder.finalize())
    if not isinstance(data, dict):
        raise ValueError("session_data is not an object")
    return data


def add_backup_mac(key: BackupKey, user_id: str, session_data: dict[str, Any]) -> dict[str, Any]:
    """MSC4048: HMAC-SHA-256 of the canonical session_data (without signatures), as a
    signature of `user_id`."""
    mac = hmac.new(key.mac_key(), signable_bytes(session_data), hashlib.sha256).digest()
    return {**session_data, "signatures": {user_id: {MAC_NAME: unpadded_b64encode(mac)}}}


def has_backup_mac(key: BackupKey, user_id: str, session_data: dict[str, Any]) -> bool:
    given = session_data.get("signatures", {}).get(user_id, {}).get(MAC_NAME)
    if not isinstance(given, str):
        return False
    mac = hmac.new(key.mac_key(), signable_bytes(session_data), hashlib.sha256).digest()
    return hmac.compare_digest(unpadded_b64encode(mac), given)


def session_plaintext(session: InboundGroupSession) -> dict[str, Any]:
    """The spec's SessionData of one of nio's sessions (its earliest known message index)."""
    return {
        "algorithm": MEGOLM,
        "forwarding_curve25519_key_chain": list(session.forwarding_chain),
        "sender_claimed_keys": {"ed25519": session.ed25519},
        "sender_key": session.sender_key,
        "session_key": session.export_session(session.first_known_index),
    }


async def load_key(state: AdapterState, cipher: FieldCipher) -> BackupKey | None:
    """The kept key (None: none yet). Raises DataKeyError when it does not open with the key."""
    stored = await state.get(KEY_STATE)
    if not stored:
        return None
    try:
        return BackupKey(base64.b64decode(cipher.decrypt(base64.b64decode(stored), KEY_PURPOSE)))
    except (ValueError, TypeError) as error:
        raise DataKeyError(str(error)) from None


async def save_key(state: AdapterState, cipher: FieldCipher, key: BackupKey) -> None:
    sealed = cipher.encrypt(key.private_text(), KEY_PURPOSE)
    await state.put(KEY_STATE, base64.b64encode(sealed).decode())


class _Refused(Exception):
    pass


class KeyBackup:
    """The bot's room-key backup: `start` before the first sync (restores after a lost store),
    `upload_new` after syncs (in the background), `flush` when stopping."""

    def __init__(
        self,
        client: AsyncClient,
        state: AdapterState,
        cipher: FieldCipher,
        *,
        master: SigningKey | None = None,
        on_secret: Any = None,
    ) -> None:
        self.client = client
        self.state = state
        self.cipher = cipher
        self.master = master  # the cross-signing master key, to sign a new backup version
        self.on_secret = on_secret
        self.key: BackupKey | None = None
        self.version: str | None = None
        self.problem: str | None = None
        self.restored = 0  # sessions imported from the backup at this start
        self.uploaded = 0  # sessions uploaded since this start
        self._sent: dict[str, int] = {}  # session id → first known index, in this version
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.version is not None and self.key is not None

    # -- the homeserver ---------------------------------------------------------------------------

    async def _request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        return await request_json(self.client, method, path, body)

    # -- start ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Find or create the backup version, and fill a new store from it. A problem is one
        warning line (in `problem`) and the bot runs on without backup."""
        try:
            await self._start()
        except _Refused as problem:
            self.problem = str(problem)
        except DataKeyError:
            self.problem = (
                "the room-key backup's key in the database does not open with this data key; "
                "room keys are not backed up (restore the data key)"
            )
        except (ClientError, TimeoutError, OSError) as error:
            self.problem = f"could not reach the homeserver for the room-key backup ({type(error).__name__})"
        except Exception as error:  # noqa: BLE001 - an odd answer must not stop the bot; no detail logged
            self.problem = f"the room-key backup could not start ({type(error).__name__}); room keys are not backed up"
        if self.problem:
            self.version = None
            log.warning("%s", self.problem)

    async def _start(self) -> None:
        user_id = self.client.user_id
        kept = await load_key(self.state, self.cipher)
        if kept is not None and self.on_secret is not None:
            for secret in kept.secrets():
                self.on_secret(secret)
        status, current = await self._request("GET", "/room_keys/version")
        if status == 200:
            theirs = current.get("auth_data", {}).get("public_key") if isinstance(current.get("auth_data"), dict) else None
            if kept is None or current.get("algorithm") != ALGORITHM or theirs != kept.public_key:
                raise _Refused(
                    f"{user_id} already has a room-key backup (version {current.get('version')}) that this "
                    "database does not hold the key of; the bot leaves it alone and backs up no room keys "
                    "(delete that backup in the account's settings if it is not needed, then restart)"
                )
            self.key, self.version = kept, str(current["version"])
        elif status == 404:
            key = kept or BackupKey.generate()
            if kept is None:
                if self.on_secret is not None:
                    for secret in key.secrets():
                        self.on_secret(secret)
                # Kept before the version exists: a crash after it must not leave a backup no one can read.
                await save_key(self.state, self.cipher, key)
            status, made = await self._request(
                "POST", "/room_keys/version", {"algorithm": ALGORITHM, "auth_data": self._auth_data(key)}
            )
            if status != 200 or not isinstance(made.get("version"), str):
                raise _Refused(f"the homeserver refused a room-key backup ({made.get('errcode') or status})")
            self.key, self.version = key, made["version"]
            log.info("room-key backup version %s created", self.version)
        else:
            raise _Refused(f"could not ask the homeserver for its room-key backup ({current.get('errcode') or status})")
        self._sent = {}
        for name, value in await self.state.items(SENT_PREFIX):
            version, _, index = value.partition(" ")
            if version == self.version and index.isdigit():
                self._sent[name[len(SENT_PREFIX) :]] = int(index)
        if await self._store_is_new():
            await self.restore()
            await self.state.put(DEVICE_STATE, self.client.device_id)

    def _auth_data(self, key: BackupKey) -> dict[str, Any]:
        """{public_key, signatures}: signed by the device and, when the bot has one, its
        cross-signing master key (so members' apps can trust the backup)."""
        user_id, device_id = self.client.user_id, self.client.device_id
        auth: dict[str, Any] = {"public_key": key.public_key}
        signatures: dict[str, str] = {}
        if self.client.olm is not None:
            signatures[f"ed25519:{device_id}"] = self.client.olm.account.sign(signable_bytes(auth).decode("utf-8"))
        if self.master is not None:
            signed = sign_json(auth, self.master, user_id, self.master.public_key)
            signatures.update(signed["signatures"][user_id])
        return {**auth, "signatures": {user_id: signatures}} if signatures else auth

    async def _store_is_new(self) -> bool:
        """A store to fill from the backup: a device the backup has not filled yet, or one
        missing sessions the bot uploaded (a store lost under the same device)."""
        if await self.state.get(DEVICE_STATE) != self.client.device_id:
            return True
        held = {session.id for session in self._sessions()}
        return any(session_id not in held for session_id in self._sent)

    def _sessions(self) -> Iterable[InboundGroupSession]:
        olm = self.client.olm
        return list(olm.inbound_group_store) if olm is not None else []

    # -- restore ----------------------------------------------------------------------------------

    async def restore(self) -> int:
        """Import every key of the backup the store lacks (or holds from a later index)."""
        assert self.key is not None and self.version is not None
        olm = self.client.olm
        if olm is None:
            return 0
        status, answer = await self._request("GET", f"/room_keys/keys?version={quote(self.version)}")
        if status != 200:
            raise _Refused(f"could not fetch the room-key backup ({answer.get('errcode') or status})")
        user_id = self.client.user_id
        imported = skipped = 0
        rooms = answer.get("rooms")
        for room_id, room in (rooms if isinstance(rooms, dict) else {}).items():
            sessions = room.get("sessions") if isinstance(room, dict) else None
            for session_id, backed in (sessions if isinstance(sessions, dict) else {}).items():
                session = self._open(room_id, session_id, backed, user_id)
                if session is None:
                    skipped += 1
                    continue
                held = olm.inbound_group_store.get(room_id, session.sender_key, session.id)
                if held is not None and held.first_known_index <= session.first_known_index:
                    continue
                if held is not None:
                    olm.inbound_group_store[room_id][session.sender_key].pop(session.id, None)
                if olm.inbound_group_store.add(session):
                    olm.save_inbound_group_session(session)
                    imported += 1
                # The backup has it already: not uploaded again, at this start or the next.
                self._sent[session.id] = session.first_known_index
                await self.state.put(f"{SENT_PREFIX}{session.id}", f"{self.version} {session.first_known_index}")
        self.restored = imported
        if imported or skipped:
            log.info(
                "room-key backup: %d room keys restored%s",
                imported,
                f", {skipped} ignored (not written by this bot)" if skipped else "",
            )
        return imported

    def _open(self, room_id: str, session_id: str, backed: Any, user_id: str) -> InboundGroupSession | None:
        assert self.key is not None
        try:
            data = backed["session_data"]
            if not has_backup_mac(self.key, user_id, data):
                return None  # anyone knowing the public key can write to a backup
            plain = decrypt_session_data(self.key, data)
            if plain.get("algorithm") != MEGOLM:
                return None
            session = InboundGroupSession.import_session(
                plain["session_key"],
                plain["sender_claimed_keys"]["ed25519"],
                plain["sender_key"],
                room_id,
                list(plain.get("forwarding_curve25519_key_chain") or []),
            )
        except Exception:  # noqa: BLE001 - a damaged entry is skipped; its content is never logged
            return None
        return session if session.id == session_id else None

    # -- upload -----------------------------------------------------------------------------------

    async def upload_new(self) -> int:
        """Upload the sessions the backup lacks (new ones, or ones now known from an earlier
        index). Runs after syncs in the background; a failure is retried after the next sync."""
        if not self.enabled:
            return 0
        async with self._lock:
            try:
                return await self._upload_new()
            except _Refused as problem:
                log.warning("%s", problem)
            except (ClientError, TimeoutError, OSError) as error:
                log.warning("room-key backup upload failed (%s); trying again later", type(error).__name__)
            return 0

    async def _upload_new(self) -> int:
        assert self.key is not None and self.version is not None
        due = [
            session
            for session in self._sessions()
            if self._sent.get(session.id, 1 << 62) > session.first_known_index
        ]
        user_id = self.client.user_id
        done = 0
        for start in range(0, len(due), CHUNK):
            chunk = due[start : start + CHUNK]
            rooms: dict[str, Any] = {}
            for session in chunk:
                data = add_backup_mac(
                    self.key, user_id, encrypt_session_data(self.key.public_key, session_plaintext(session))
                )
                rooms.setdefault(session.room_id, {"sessions": {}})["sessions"][session.id] = {
                    "first_message_index": session.first_known_index,
                    "forwarded_count": len(session.forwarding_chain),
                    "is_verified": False,  # the bot verifies no member's device
                    "session_data": data,
                }
            status, answer = await self._request(
                "PUT", f"/room_keys/keys?version={quote(self.version)}", {"rooms": rooms}
            )
            if status != 200:
                if answer.get("errcode") == "M_WRONG_ROOM_KEYS_VERSION":
                    # The version was replaced or deleted elsewhere: stop backing up, say so once.
                    self.version = None
                    raise _Refused(
                        "the bot's room-key backup version was replaced or deleted on the homeserver; "
                        "room keys are not backed up until the bot restarts"
                    )
                raise _Refused(f"the homeserver refused room keys for the backup ({answer.get('errcode') or status})")
            for session in chunk:
                self._sent[session.id] = session.first_known_index
                await self.state.put(f"{SENT_PREFIX}{session.id}", f"{self.version} {session.first_known_index}")
            done += len(chunk)
        self.uploaded += done
        return done

    async def flush(self, timeout: float = 5.0) -> None:
        """Upload what is due before the bot stops (best effort)."""
        if self.enabled:
            try:
                await asyncio.wait_for(self.upload_new(), timeout)
            except TimeoutError:
                log.warning("stopping before every room key reached the backup")


async def start_backup(
    client: AsyncClient, state: AdapterState, cipher: FieldCipher, *, on_secret: Any = None
) -> KeyBackup:
    """The started backup, before the first sync (so a new store is filled first). Its
    version is signed by the cross-signing master key when the bot holds one."""
    try:
        crossing = await load_keys(state, cipher)
    except DataKeyError:
        crossing = None
    backup = KeyBackup(client, state, cipher, master=crossing.master if crossing else None, on_secret=on_secret)
    await backup.start()
    return backup
