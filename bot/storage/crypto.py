"""Encryption at rest for sensitive text fields (agreements, check-ins, pending suggestions).

AES-256-GCM with a random nonce per value. The key comes from ALONGSIDE_DATA_KEY or from a key
file beside the database (created for an empty database only, mode 0600); it is never written into
the database, only a check value made with it (see `bot/storage/keycheck.py`). Each value is bound
to its purpose (e.g. "suggestion.text") as associated data, so a ciphertext copied into another
column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.storage.files import make_private_folder, sync_folder

_FORMAT = b"\x01"
_NONCE_BYTES = 12


class DataKeyError(Exception):
    """The data key is missing, malformed or does not match the stored data."""


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode() + b"==")
    except (binascii.Error, ValueError):
        raise DataKeyError("the data key is not valid base64") from None
    if len(raw) != 32:
        raise DataKeyError("the data key must be 32 bytes, base64-encoded")
    return raw


def generate_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def decode_key(text: str, source: str) -> bytes:
    """The key in `text`; a malformed one names where it came from."""
    try:
        return _decode_key(text)
    except DataKeyError as error:
        raise DataKeyError(f"{source}: {error}") from None


def pending_key_file(key_file: Path) -> Path:
    """Where `alongside key rotate` keeps the new key until the key file is replaced."""
    return key_file.with_name(key_file.name + ".new")


def old_key_file(key_file: Path) -> Path:
    """Where `alongside key rotate` keeps the old key until the new one is confirmed."""
    return key_file.with_name(key_file.name + ".old")


def read_key_file(key_file: Path) -> bytes | None:
    """The key in `key_file`, None if there is no such file."""
    try:
        text = key_file.read_text()
    except FileNotFoundError:
        return None
    return decode_key(text, f"the key file {key_file}")


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def load_or_create_key(env_key: str | None, key_file: Path) -> bytes:
    if env_key:
        return _decode_key(env_key)
    if key_file.exists():
        return _decode_key(key_file.read_text())
    return create_key_file(key_file)


def create_key_file(key_file: Path, text: str | None = None, *, replace: bool = False) -> bytes:
    """Write a new key file (a new random key unless `text` is given), whole or not at all.

    Without `replace` an existing file wins (and its key is returned); with it, the new key
    replaces whatever is there, atomically."""
    make_private_folder(key_file.parent)
    text = text or generate_key_text()
    # The key is written whole to a temporary file, then linked into place: a process killed at
    # any moment leaves either no key file or a complete one (and at worst a stray temporary
    # file), never an empty one that stops every later start. The link fails if another process made
    # the key meanwhile: two processes starting at once then share the first one's key instead of
    # overwriting it.
    temp = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        _write_new(temp, text)
        if replace:
            os.replace(temp, key_file)
            sync_folder(key_file.parent)
            return _decode_key(text)
        try:
            os.link(temp, key_file)
        except FileExistsError:
            return _decode_key(key_file.read_text())
        except OSError:
            _write_new(key_file, text)  # a file system without hard links: create it in place
        sync_folder(key_file.parent)
    finally:
        temp.unlink(missing_ok=True)
    return _decode_key(text)


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class FieldCipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, purpose: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), purpose.encode())
        return _FORMAT + nonce + sealed

    def decrypt(self, blob: bytes, purpose: str) -> str:
        if not blob or blob[:1] != _FORMAT:
            raise DataKeyError("unknown ciphertext format")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, purpose.encode()).decode("utf-8")
        except InvalidTag:
            raise DataKeyError("stored data does not match this data key") from None

    def encrypt_optional(self, plaintext: str | None, purpose: str) -> bytes | None:
        return None if plaintext is None else self.encrypt(plaintext, purpose)

    def decrypt_optional(self, blob: bytes | None, purpose: str) -> str | None:
        return None if blob is None else self.decrypt(blob, purpose)

    def blind(self, value: str, purpose: str, sealed_secret: bytes) -> bytes:
        """A keyed hash (HMAC-SHA256) of `value` for `purpose`: equal values give equal hashes, and
        without the data key nobody can tell which value a hash is, nor test a guess.

        The HMAC key is derived (HKDF, one label per purpose) from a long-lived random secret kept
        encrypted under the data key (`sealed_secret`, see bot/storage/blinding.py), not from the
        data key itself: rotating the data key re-encrypts that secret and every stored hash stays
        valid."""
        import hashlib
        import hmac

        secret = base64.urlsafe_b64decode(self.decrypt(sealed_secret, BLINDING_SECRET_PURPOSE) + "==")
        return hmac.new(_blind_key(secret, purpose), value.encode("utf-8"), hashlib.sha256).digest()


# The purpose the blinding secrets in `blinding_secrets.secret_enc` are encrypted with. (The keyed
# hash's imports are local to it, so that it stays one self-contained block of this module.)
BLINDING_SECRET_PURPOSE = "blinding.secret"


def _blind_key(secret: bytes, purpose: str) -> bytes:
    return _blind_keys.get((secret, purpose)) or _derive_blind_key(secret, purpose)


_blind_keys: dict[tuple[bytes, str], bytes] = {}


def _derive_blind_key(secret: bytes, purpose: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    label = f"alongside.blind:{purpose}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)
    if len(_blind_keys) < 64:  # a handful of secrets and purposes per process
        _blind_keys[(secret, purpose)] = key
    return key
