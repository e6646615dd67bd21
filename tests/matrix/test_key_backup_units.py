"""The room-key backup's session_data, checked by code the bot did not write (issue 16).

* vodozemac's PkDecryption/PkEncryption (what matrix-rust-sdk, so Element Web and Element X, use
  for ``m.megolm_backup.v1.curve25519-aes-sha2``) opens what the bot writes, and the bot opens
  what vodozemac writes;
* a decryption written here from the specification's steps with ``cryptography`` (ECDH,
  HKDF-SHA-256 with 32 zero bytes of salt and empty info → AES key, MAC key, IV; AES-256-CBC
  with PKCS#7; the MAC over the empty string, as libolm and every client compute it);
* MSC4048's MAC: a key the bot did not write (anyone may write with the public key) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import vodozemac
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nio.crypto.sessions import InboundGroupSession

from adapters.matrix.key_backup import (
    BackupKey,
    add_backup_mac,
    decrypt_session_data,
    encrypt_session_data,
    has_backup_mac,
    session_plaintext,
)
from bot.storage.crypto import FieldCipher

PLAIN = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "forwarding_curve25519_key_chain": [],
    "sender_claimed_keys": {"ed25519": "aj40p+aw64yPIdsxoog8Jhlu9i0H0QE1f4CxH8/zq6A"},
    "sender_key": "RF3s+E7RkTQTGF2d8Deol0FkQvgII2aJDf3/Jp5mxVU",
    "session_key": "AgAAAADxKHa9uFxcXzwYoNueL5Xqi69IkD4sni8Llf2kWwGnwEydU",
}


def b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def unpadded(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def spec_decrypt(private: bytes, data: dict[str, str]) -> dict:
    """The spec's steps, in reverse, written here apart from the bot's code."""
    shared = X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(b64(data["ephemeral"])))
    okm = HKDF(algorithm=hashes.SHA256(), length=80, salt=b"\0" * 32, info=b"").derive(shared)
    aes_key, mac_key, iv = okm[:32], okm[32:64], okm[64:80]
    assert base64.b64encode(hmac.new(mac_key, b"", hashlib.sha256).digest()[:8]).decode().rstrip("=") == data["mac"]
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(b64(data["ciphertext"])) + decryptor.finalize()
    assert 1 <= padded[-1] <= 16 and padded.endswith(bytes([padded[-1]]) * padded[-1])
    return json.loads(padded[: -padded[-1]])


def test_the_bot_s_session_data_opens_with_vodozemac_and_the_spec_s_steps():
    key = BackupKey.generate()
    data = encrypt_session_data(key.public_key, PLAIN)
    assert set(data) == {"ephemeral", "ciphertext", "mac"}
    assert not any(value.endswith("=") for value in data.values())  # unpadded base64, as the spec says
    private = b64(key.private_text())
    assert spec_decrypt(private, data) == PLAIN
    decryption = vodozemac.PkDecryption.from_key(vodozemac.Curve25519SecretKey.from_bytes(private))
    assert decryption.public_key.to_base64() == key.public_key
    message = vodozemac.Message.from_base64(data["ciphertext"], data["mac"], data["ephemeral"])
    assert json.loads(decryption.decrypt(message)) == PLAIN
    # A new ephemeral key each time: the same session never encrypts the same way twice.
    assert encrypt_session_data(key.public_key, PLAIN)["ephemeral"] != data["ephemeral"]


def test_the_bot_opens_what_vodozemac_writes_and_refuses_another_key():
    key = BackupKey.generate()
    public = vodozemac.Curve25519PublicKey.from_base64(key.public_key)
    message = vodozemac.PkEncryption.from_key(public).encrypt(json.dumps(PLAIN).encode())
    # (The attributes, not to_base64(): its tuple's order is not the one its documentation gives.)
    data = {
        "ephemeral": unpadded(message.ephemeral_key),
        "ciphertext": unpadded(message.ciphertext),
        "mac": unpadded(message.mac),
    }
    assert decrypt_session_data(key, data) == PLAIN
    with pytest.raises(ValueError):
        decrypt_session_data(BackupKey.generate(), data)


def test_only_keys_the_bot_wrote_carry_a_valid_msc4048_mac():
    key = BackupKey.generate()
    data = add_backup_mac(key, "@bot:test", encrypt_session_data(key.public_key, PLAIN))
    assert has_backup_mac(key, "@bot:test", data)
    # MSC4048: HMAC-SHA-256, keyed by HKDF(no salt, the private key, "MATRIX_BACKUP_MAC_KEY"),
    # over the canonical JSON of session_data without its signatures.
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"MATRIX_BACKUP_MAC_KEY").derive(
        b64(key.private_text())
    )
    unsigned = {k: v for k, v in data.items() if k != "signatures"}
    canonical = json.dumps(unsigned, separators=(",", ":"), sort_keys=True).encode()
    expected = base64.b64encode(hmac.new(mac_key, canonical, hashlib.sha256).digest()).decode().rstrip("=")
    assert data["signatures"]["@bot:test"]["org.matrix.msc4048.hmac-sha-256:backup_mac_key"] == expected
    # Someone with only the public key (the homeserver, say) writes a key: refused.
    forged = encrypt_session_data(key.public_key, {**PLAIN, "sender_key": "someone else"})
    assert not has_backup_mac(key, "@bot:test", forged)
    assert not has_backup_mac(key, "@bot:test", {**forged, "signatures": data["signatures"]})
    assert not has_backup_mac(BackupKey.generate(), "@bot:test", data)
    assert not has_backup_mac(key, "@someone:test", data)


def test_a_nio_session_round_trips_through_the_backup_form():
    outbound = vodozemac.GroupSession()
    inbound = InboundGroupSession(outbound.session_key.to_base64(), "ed-key", "curve-key", "!room:test")
    plain = session_plaintext(inbound)
    assert plain["sender_claimed_keys"] == {"ed25519": "ed-key"} and plain["sender_key"] == "curve-key"
    key = BackupKey.generate()
    opened = decrypt_session_data(key, encrypt_session_data(key.public_key, plain))
    again = InboundGroupSession.import_session(opened["session_key"], "ed-key", "curve-key", "!room:test")
    assert again.id == inbound.id and again.first_known_index == 0
    text = outbound.encrypt(b"!help")
    assert again.decrypt(text.to_base64())[0] == "!help"


def test_the_private_key_is_never_in_its_repr_and_is_sealed_with_the_data_key():
    key = BackupKey.generate()
    assert key.private_text() not in repr(key) and key.private_text().rstrip("=") not in repr(key)
    cipher = FieldCipher(bytes(range(32)))
    sealed = cipher.encrypt(key.private_text(), "matrix.key_backup")
    assert key.private_text().encode() not in sealed
    assert BackupKey(base64.b64decode(cipher.decrypt(sealed, "matrix.key_backup"))).public_key == key.public_key
