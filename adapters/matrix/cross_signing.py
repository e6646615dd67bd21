"""The bot's cross-signing identity: a device "verified by its owner" (issue 16).

matrix-nio has no cross-signing, so Element shows every message of the bot with "Encrypted by a
device not verified by its owner", and a member whose app excludes insecure devices can neither
read the bot nor be read by it. This module does what Element does when an account sets up
cross-signing (Matrix spec, client-server API, "Cross-signing"):

1. make three ed25519 keys: master, self-signing and user-signing; the last two signed by the
   master key;
2. upload them (``POST /keys/device_signing/upload``), completing user-interactive auth with the
   bot's password when the homeserver asks for it (Synapse asks only to replace existing keys);
3. sign the bot's own device keys, as the homeserver publishes them, with the self-signing key,
   and the master key with the device key (``POST /keys/signatures/upload``).

The three private keys (32-byte seeds) are kept in the core's database, encrypted under the data
key (adapter_state "cross_signing_seeds", purpose "matrix.cross_signing", declared in
bot/storage/encrypted_columns.py so `alongside key rotate` covers them), and never logged. Each
start checks what the homeserver publishes and does only what is missing: a restart uploads
nothing, a new device of the same account (a lost crypto store) is signed with the kept keys.
The bot never replaces a master key it does not hold (someone else set up cross-signing for the
account): that takes `alongside matrix cross-sign --reset`.

Nothing here stops the bot: a problem is one clear line for the operator and the bot runs on,
unverified.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient
from pydantic import SecretStr

from adapters.matrix.canonical_json import SigningKey, sign_json, signable_bytes, verify_json
from bot.app import AdapterState, DataKeyError, FieldCipher

log = logging.getLogger(__name__)

SEEDS_STATE = "cross_signing_seeds"
SEEDS_PURPOSE = "matrix.cross_signing"
USAGES = ("master", "self_signing", "user_signing")
API = "/_matrix/client/v3"
PASSWORD_HINT = (
    "set ALONGSIDE_MATRIX_PASSWORD for one start, or run `alongside matrix cross-sign` with "
    "ALONGSIDE_MATRIX_PASSWORD set"
)


class CrossSigningKeys:
    """The master, self-signing and user-signing keys, from their seeds."""

    def __init__(self, seeds: dict[str, bytes]) -> None:
        self._seeds = {usage: bytes(seeds[usage]) for usage in USAGES}
        self.master = SigningKey(self._seeds["master"])
        self.self_signing = SigningKey(self._seeds["self_signing"])
        self.user_signing = SigningKey(self._seeds["user_signing"])

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls({usage: secrets.token_bytes(32) for usage in USAGES})

    def __repr__(self) -> str:
        return f"CrossSigningKeys(master={self.master.public_key})"

    def seeds_text(self) -> str:
        return json.dumps({usage: base64.b64encode(seed).decode() for usage, seed in self._seeds.items()})

    @classmethod
    def from_seeds_text(cls, text: str) -> CrossSigningKeys:
        data = json.loads(text)
        return cls({usage: base64.b64decode(data[usage]) for usage in USAGES})

    def secrets(self) -> list[str]:
        """The seeds as they could appear in text (for the log mask)."""
        return [base64.b64encode(seed).decode() for seed in self._seeds.values()] + [
            base64.b64encode(seed).decode().rstrip("=") for seed in self._seeds.values()
        ]

    def public_objects(self, user_id: str) -> dict[str, dict[str, Any]]:
        """The three keys as the upload names them; self-signing and user-signing carry the
        master key's signature."""
        def key_object(usage: str, key: SigningKey) -> dict[str, Any]:
            return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{key.public_key}": key.public_key}}

        master = key_object("master", self.master)
        return {
            "master_key": master,
            "self_signing_key": sign_json(
                key_object("self_signing", self.self_signing), self.master, user_id, self.master.public_key
            ),
            "user_signing_key": sign_json(
                key_object("user_signing", self.user_signing), self.master, user_id, self.master.public_key
            ),
        }


async def load_keys(state: AdapterState, cipher: FieldCipher) -> CrossSigningKeys | None:
    """The kept keys (None: none yet). Raises DataKeyError when they do not open with the key."""
    stored = await state.get(SEEDS_STATE)
    if not stored:
        return None
    try:
        return CrossSigningKeys.from_seeds_text(cipher.decrypt(base64.b64decode(stored), SEEDS_PURPOSE))
    except (ValueError, KeyError, TypeError) as error:
        raise DataKeyError(str(error)) from None


async def save_keys(state: AdapterState, cipher: FieldCipher, keys: CrossSigningKeys) -> None:
    sealed = cipher.encrypt(keys.seeds_text(), SEEDS_PURPOSE)
    await state.put(SEEDS_STATE, base64.b64encode(sealed).decode())


@dataclass
class Outcome:
    """What a bootstrap did. `problem` is the one line for the operator when the device could
    not be made verified (the bot runs on)."""

    master_key: str | None = None
    uploaded_keys: bool = False
    signed_device: bool = False
    signed_master: bool = False
    problem: str | None = None

    @property
    def verified(self) -> bool:
        return self.problem is None and self.master_key is not None


class _Homeserver:
    """Plain JSON requests with the bot's token in a header (nio has no API for these)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return await request_json(self._client, "POST", path, body)


async def request_json(client: AsyncClient, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    """One client-server API call under /_matrix/client/v3 with the bot's token; the status and
    the answer's JSON object ({} when the answer is not one)."""
    response = await client.send(
        method,
        API + path,
        None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"},
    )
    try:
        answer = await response.json(content_type=None)
    except (ValueError, ClientError):
        answer = {}
    finally:
        response.release()
    return response.status, answer if isinstance(answer, dict) else {}


def _single_key(obj: Any) -> str | None:
    """The public key of a published cross-signing key object."""
    keys = obj.get("keys") if isinstance(obj, dict) else None
    if not isinstance(keys, dict) or len(keys) != 1:
        return None
    ((_, value),) = keys.items()
    return value if isinstance(value, str) else None


def _errcode(answer: dict[str, Any], status: int) -> str:
    return str(answer.get("errcode") or f"HTTP {status}")


async def _published(server: _Homeserver, user_id: str) -> dict[str, Any]:
    status, answer = await server.post("/keys/query", {"device_keys": {user_id: []}})
    if status != 200:
        raise _CannotCrossSign(f"could not ask the homeserver for the bot's keys ({_errcode(answer, status)})")
    return answer


class _CannotCrossSign(Exception):
    pass


async def _upload_keys(
    server: _Homeserver, body: dict[str, Any], user_id: str, password: SecretStr | None
) -> None:
    status, answer = await server.post("/keys/device_signing/upload", body)
    if status == 200:
        return
    if status != 401 or "flows" not in answer:
        raise _CannotCrossSign(f"the homeserver refused the bot's cross-signing keys ({_errcode(answer, status)})")
    # User-interactive auth: the homeserver wants the account's password to accept the keys.
    flows = [flow.get("stages") for flow in answer.get("flows", []) if isinstance(flow, dict)]
    if ["m.login.password"] not in flows:
        raise _CannotCrossSign(
            "the homeserver asks for a confirmation the bot cannot give to accept its cross-signing "
            f"keys ({', '.join('+'.join(map(str, stages or [])) for stages in flows) or 'no flows'}); "
            "approve the reset in the account's settings, then run `alongside matrix cross-sign --reset`"
        )
    if password is None:
        raise _CannotCrossSign(
            "the homeserver asks for the bot account's password before it accepts the bot's "
            f"cross-signing keys, and only a token was given: {PASSWORD_HINT}"
        )
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password.get_secret_value(),
        "session": answer.get("session"),
    }
    status, answer = await server.post("/keys/device_signing/upload", {**body, "auth": auth})
    if status != 200:
        raise _CannotCrossSign(
            "the homeserver did not accept the bot account's password (ALONGSIDE_MATRIX_PASSWORD) "
            f"for its cross-signing keys ({_errcode(answer, status)})"
        )


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("signatures", "unsigned")}


async def bootstrap(
    client: AsyncClient,
    state: AdapterState,
    cipher: FieldCipher,
    password: SecretStr | None,
    *,
    reset: bool = False,
    on_secret: Callable[[str], None] | None = None,
) -> Outcome:
    """Make the bot's device cross-signed, doing only what the homeserver lacks.

    `reset` makes new keys and replaces whatever master key the account has (it needs the
    password when the homeserver asks for it). `on_secret` is told each seed, for the log mask."""
    outcome = Outcome()
    try:
        await _bootstrap(client, state, cipher, password, reset, on_secret, outcome)
    except _CannotCrossSign as problem:
        outcome.problem = str(problem)
    except DataKeyError:
        outcome.problem = (
            "the bot's cross-signing keys in the database do not open with this data key; the "
            "device stays unverified (restore the data key, or run `alongside matrix cross-sign --reset`)"
        )
    except (ClientError, TimeoutError, OSError) as error:
        outcome.problem = f"could not reach the homeserver to cross-sign the bot's device ({type(error).__name__})"
    except Exception as error:  # noqa: BLE001 - an odd answer must not stop the bot; no detail logged
        outcome.problem = f"could not cross-sign the bot's device ({type(error).__name__}); it stays unverified"
    return outcome


async def _bootstrap(
    client: AsyncClient,
    state: AdapterState,
    cipher: FieldCipher,
    password: SecretStr | None,
    reset: bool,
    on_secret: Callable[[str], None] | None,
    outcome: Outcome,
) -> None:
    # Long: one story in order (what the server has, which keys to use, upload, sign), each
    # step deciding the next.
    user_id = client.user_id
    server = _Homeserver(client)
    published = await _published(server, user_id)
    server_master = published.get("master_keys", {}).get(user_id)
    server_master_key = _single_key(server_master)
    kept = None if reset else await load_keys(state, cipher)
    if kept is not None and on_secret is not None:
        for secret in kept.secrets():
            on_secret(secret)
    if server_master_key is not None and not reset:
        if kept is None:
            raise _CannotCrossSign(
                f"{user_id} already has a cross-signing identity that this database does not hold "
                "(set up elsewhere, or this database is not the bot's own); the bot's device stays "
                "unverified. Restore the database that holds it, or replace it with "
                "`alongside matrix cross-sign --reset` (members' apps then ask them to trust the bot again)"
            )
        if kept.master.public_key != server_master_key:
            raise _CannotCrossSign(
                f"{user_id}'s cross-signing master key on the homeserver is not the one this database "
                "holds (it was replaced elsewhere); the bot's device stays unverified. Replace it "
                "with `alongside matrix cross-sign --reset` if that was not on purpose"
            )
    keys = kept or CrossSigningKeys.generate()
    if on_secret is not None and kept is None:
        for secret in keys.secrets():
            on_secret(secret)
    if kept is None and not reset:
        # Kept before the upload: a crash after it must not leave the server with keys no one has.
        await save_keys(state, cipher, keys)
    objects = keys.public_objects(user_id)
    wanted = {
        "master_key": keys.master.public_key,
        "self_signing_key": keys.self_signing.public_key,
        "user_signing_key": keys.user_signing.public_key,
    }
    have = {
        "master_key": server_master_key,
        "self_signing_key": _single_key(published.get("self_signing_keys", {}).get(user_id)),
        "user_signing_key": _single_key(published.get("user_signing_keys", {}).get(user_id)),
    }
    if have != wanted:
        await _upload_keys(server, objects, user_id, password)
        outcome.uploaded_keys = True
        if reset:
            await save_keys(state, cipher, keys)  # only now: a refused reset keeps the old keys
        log.info("cross-signing keys uploaded (master key %s)", keys.master.public_key)
        published = await _published(server, user_id)
    outcome.master_key = keys.master.public_key
    await _sign_device_and_master(client, server, keys, published, outcome)


async def _sign_device_and_master(
    client: AsyncClient,
    server: _Homeserver,
    keys: CrossSigningKeys,
    published: dict[str, Any],
    outcome: Outcome,
) -> None:
    user_id, device_id = client.user_id, client.device_id
    device = published.get("device_keys", {}).get(user_id, {}).get(device_id)
    if client.olm is None or not isinstance(device, dict):
        raise _CannotCrossSign(f"the homeserver does not hold the keys of the bot's device {device_id} yet; it stays unverified")
    ours = client.olm.account.identity_keys["ed25519"]
    # Sign only the device the bot is: the homeserver's copy must carry our own key, signed by it.
    if device.get("keys", {}).get(f"ed25519:{device_id}") != ours or not verify_json(
        device, user_id, device_id, ours
    ):
        raise _CannotCrossSign(f"the homeserver's copy of device {device_id}'s keys is not the bot's own; it is left unsigned")
    signatures: dict[str, Any] = {}
    ssk = keys.self_signing
    if not verify_json(device, user_id, ssk.public_key, ssk.public_key):
        signatures[device_id] = sign_json(_strip(device), ssk, user_id, ssk.public_key)
    master = published.get("master_keys", {}).get(user_id)
    if isinstance(master, dict) and not verify_json(master, user_id, device_id, ours):
        # The device vouches for the master key, as Element's devices do.
        signature = client.olm.account.sign(signable_bytes(master).decode("utf-8"))
        signatures[keys.master.public_key] = {
            **_strip(master),
            "signatures": {user_id: {f"ed25519:{device_id}": signature}},
        }
    if not signatures:
        return
    status, answer = await server.post("/keys/signatures/upload", {user_id: signatures})
    failures = answer.get("failures") or {}
    if status != 200 or failures:
        reasons = sorted(
            {str(failure.get("errcode")) for found in failures.values() for failure in found.values()}
        )
        raise _CannotCrossSign(
            "the homeserver refused the signature on the bot's device "
            f"({', '.join(reasons) or _errcode(answer, status)}); it stays unverified"
        )
    outcome.signed_device = device_id in signatures
    outcome.signed_master = keys.master.public_key in signatures
    log.info("device %s signed with the cross-signing keys", device_id)
