"""Canonical JSON and signed JSON, as the Matrix specification's appendix "Signing JSON" defines
them (https://spec.matrix.org/v1.12/appendices/#signing-json).

Canonical JSON is the shortest UTF-8 encoding with object keys sorted by code point and numbers
that are integers in [-(2**53)+1, (2**53)-1]. Signing encodes the object without its
``signatures`` and ``unsigned`` members, signs those bytes with ed25519, and adds the unpadded
base64 signature under ``signatures[<signer>][<algorithm>:<key id>]``; ``unsigned`` is kept.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalJSONError(ValueError):
    """A value canonical JSON cannot hold (a fraction, a number out of range, a non-string key)."""


def unpadded_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def unpadded_b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _integers_only(value: Any) -> Any:
    # The spec's own example maps 1e10 to 10000000000 and -0 to 0: a float that is a whole
    # number is that integer; anything else (a fraction, inf, nan) has no canonical form.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise CanonicalJSONError(f"{value!r} is not an integer")
        value = int(value)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJSONError(f"{value} is outside [-(2**53)+1, (2**53)-1]")
        return value
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise CanonicalJSONError("object keys must be strings")
        return {key: _integers_only(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_integers_only(item) for item in value]
    raise CanonicalJSONError(f"{type(value).__name__} has no JSON form")


def canonical_json(value: Any) -> bytes:
    """The canonical encoding of `value`: the spec's own Python settings (Python compares
    str by code point, the order the spec asks for), after the integer check."""
    return json.dumps(
        _integers_only(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode("utf-8")


def signable_bytes(obj: dict[str, Any]) -> bytes:
    """What a signature covers: the object without `signatures` and `unsigned`."""
    return canonical_json({key: item for key, item in obj.items() if key not in ("signatures", "unsigned")})


class SigningKey:
    """An ed25519 key made from a 32-byte seed (the form Matrix clients keep cross-signing keys
    in). `cryptography` (OpenSSL) rather than vodozemac: vodozemac's Python bindings (0.10) sign
    only with an Olm account's own key and cannot load a seed."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an ed25519 seed is 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = unpadded_b64encode(self._key.public_key().public_bytes_raw())

    def __repr__(self) -> str:  # never the seed, should the object reach a log line
        return f"SigningKey(public={self.public_key})"

    def sign(self, message: bytes) -> str:
        return unpadded_b64encode(self._key.sign(message))


def sign_json(obj: dict[str, Any], key: SigningKey, signer: str, key_id: str) -> dict[str, Any]:
    """A copy of `obj` with this key's signature added (others it carries are kept).
    `key_id` is what follows "ed25519:" (a device id, a server's key version, or for a
    cross-signing key its public key)."""
    signed = copy.deepcopy(obj)
    signature = key.sign(signable_bytes(obj))
    signed.setdefault("signatures", {}).setdefault(signer, {})[f"ed25519:{key_id}"] = signature
    return signed


def verify_json(obj: dict[str, Any], signer: str, key_id: str, public_key: str) -> bool:
    """Whether `obj` carries a valid signature by `signer` with the ed25519 key `key_id`."""
    try:
        signature = obj["signatures"][signer][f"ed25519:{key_id}"]
        Ed25519PublicKey.from_public_bytes(unpadded_b64decode(public_key)).verify(
            unpadded_b64decode(signature), signable_bytes(obj)
        )
    except (KeyError, TypeError, ValueError, InvalidSignature, CanonicalJSONError):
        return False
    return True
