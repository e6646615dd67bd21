"""The bot's device is cross-signed ("verified by its owner") on the real test Synapse (issue 16).

Signatures are checked here independently of the bot's own code: the specification's reference
canonical_json (its Python snippet) and vodozemac's ed25519 verification (the bot signs with
`cryptography`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import vodozemac
from pydantic import SecretStr

from adapters.matrix.client import connect, crypto_store_key
from adapters.matrix.cross_signing import SEEDS_PURPOSE, SEEDS_STATE, bootstrap, load_keys
from adapters.matrix.settings import MatrixSettings
from bot.storage.adapter_state import AdapterState
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.storage.rotation import reencrypt
from tests.matrix import bot_kit as bk
from tests.matrix.test_device_recovery import _start_bot, _stop_bot
from tests.matrix.test_matrix_cli import ROOT, _config, _env
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.synapse import RegisteredUser, SynapseServer

pytestmark = pytest.mark.timeout(180)
PASSWORD = "a long test password"
KEY = bytes(range(32))


def spec_canonical_json(value: Any) -> bytes:
    """The specification's own reference (appendices, "Canonical JSON")."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("UTF-8")


def signed_by(obj: dict[str, Any], user_id: str, key_id: str, public_key: str) -> bool:
    signature = obj.get("signatures", {}).get(user_id, {}).get(f"ed25519:{key_id}")
    if signature is None:
        return False
    message = spec_canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})
    try:
        vodozemac.Ed25519PublicKey.from_base64(public_key).verify_signature(
            message, vodozemac.Ed25519Signature.from_base64(signature)
        )
    except Exception:  # noqa: BLE001 - vodozemac raises its own SignatureException
        return False
    return True


def only_key(obj: dict[str, Any]) -> str:
    ((_, value),) = obj["keys"].items()
    return value


def published(synapse: SynapseServer, token: str, user_id: str) -> dict[str, Any]:
    return synapse.request(
        "POST", "/_matrix/client/v3/keys/query", {"device_keys": {user_id: []}}, access_token=token
    )


def assert_cross_signed(answer: dict[str, Any], user_id: str, device_id: str) -> str:
    """The account's three keys are published, chained to the master key, and the device
    carries a valid self-signing signature (and vouches for the master key). Returns the
    master key."""
    master = answer["master_keys"][user_id]
    ssk = answer["self_signing_keys"][user_id]
    usk = answer["user_signing_keys"][user_id]
    assert (master["usage"], ssk["usage"], usk["usage"]) == (["master"], ["self_signing"], ["user_signing"])
    master_key, ssk_key = only_key(master), only_key(ssk)
    assert signed_by(ssk, user_id, master_key, master_key) and signed_by(usk, user_id, master_key, master_key)
    device = answer["device_keys"][user_id][device_id]
    assert signed_by(device, user_id, ssk_key, ssk_key), device.get("signatures")
    device_key = device["keys"][f"ed25519:{device_id}"]
    assert signed_by(master, user_id, device_id, device_key)
    return master_key


async def open_bot(
    synapse: SynapseServer, user: RegisteredUser, store: Path, db: Database, cipher: FieldCipher, *, token: str | None
):  # noqa: ANN201
    settings = MatrixSettings(homeserver=synapse.base_url, user_id=user.user_id, store_path=store)
    pickle_key = await crypto_store_key(AdapterState(db, "matrix"), cipher)
    return await connect(
        settings, SecretStr(token) if token else None, None if token else SecretStr(PASSWORD), pickle_key=pickle_key
    )


async def test_bootstrap_restart_new_device_foreign_identity_and_reset(
    synapse, matrix_localpart, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    bot = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), PASSWORD)
    db = await Database.open(tmp_path / "alongside.db")
    cipher = FieldCipher(KEY)
    store = tmp_path / "store"
    try:
        # First start: keys made, uploaded (Synapse needs no password for a first set-up), the
        # device signed.
        client = await open_bot(synapse, bot, store, db, cipher, token=bot.access_token)
        try:
            first = await bootstrap(client, AdapterState(db, "matrix"), cipher, None)
            assert first.problem is None and first.uploaded_keys and first.signed_device and first.signed_master
            answer = await asyncio.to_thread(published, synapse, bot.access_token, bot.user_id)
            master = assert_cross_signed(answer, bot.user_id, bot.device_id)
            assert master == first.master_key
            # A restart: the same keys, nothing uploaded or signed again.
            again = await bootstrap(client, AdapterState(db, "matrix"), cipher, None)
            assert again.problem is None and again.master_key == master
            assert not (again.uploaded_keys or again.signed_device or again.signed_master)
        finally:
            await client.close()

        # The seeds are kept sealed under the data key, and never logged.
        sealed = await AdapterState(db, "matrix").get(SEEDS_STATE)
        seeds = json.loads(cipher.decrypt(base64.b64decode(sealed), SEEDS_PURPOSE))
        assert sorted(seeds) == ["master", "self_signing", "user_signing"]
        for seed in seeds.values():
            assert seed not in sealed and seed not in caplog.text and seed.rstrip("=") not in caplog.text

        # The crypto store is lost: a password login makes a new device, signed with the kept keys.
        shutil.rmtree(store)
        client = await open_bot(synapse, bot, store, db, cipher, token=None)
        try:
            assert client.device_id != bot.device_id
            renewed = await bootstrap(client, AdapterState(db, "matrix"), cipher, None)
            assert renewed.problem is None and not renewed.uploaded_keys and renewed.signed_device
            answer = await asyncio.to_thread(published, synapse, bot.access_token, bot.user_id)
            assert assert_cross_signed(answer, bot.user_id, client.device_id) == master
        finally:
            await client.close()

        # Another database (not the one holding the keys): one clear line, nothing replaced.
        other_db = await Database.open(tmp_path / "other.db")
        client = await open_bot(synapse, bot, tmp_path / "other-store", other_db, cipher, token=bot.access_token)
        try:
            foreign = await bootstrap(client, AdapterState(other_db, "matrix"), cipher, None)
            assert foreign.problem is not None and "already has a cross-signing identity" in foreign.problem
            assert "alongside matrix cross-sign --reset" in foreign.problem
            assert await AdapterState(other_db, "matrix").get(SEEDS_STATE) is None
            # A reset with only a token: Synapse asks for the password; the line says what to do.
            refused = await bootstrap(client, AdapterState(other_db, "matrix"), cipher, None, reset=True)
            assert refused.problem is not None and "only a token was given" in refused.problem
            assert "ALONGSIDE_MATRIX_PASSWORD" in refused.problem
            answer = await asyncio.to_thread(published, synapse, bot.access_token, bot.user_id)
            assert only_key(answer["master_keys"][bot.user_id]) == master
            assert await AdapterState(other_db, "matrix").get(SEEDS_STATE) is None
            # With the password the reset completes the homeserver's password check.
            done = await bootstrap(client, AdapterState(other_db, "matrix"), cipher, SecretStr(PASSWORD), reset=True)
            assert done.problem is None and done.uploaded_keys and done.master_key != master
            answer = await asyncio.to_thread(published, synapse, bot.access_token, bot.user_id)
            assert assert_cross_signed(answer, bot.user_id, bot.device_id) == done.master_key
            assert await AdapterState(other_db, "matrix").get(SEEDS_STATE) is not None
        finally:
            await client.close()
            await other_db.close()
        # The first database's keys are no longer the account's: said, not overwritten.
        client = await open_bot(synapse, bot, tmp_path / "third-store", db, cipher, token=bot.access_token)
        try:
            replaced = await bootstrap(client, AdapterState(db, "matrix"), cipher, None)
            assert replaced.problem is not None and "is not the one this database holds" in replaced.problem
            assert await AdapterState(db, "matrix").get(SEEDS_STATE) == sealed
        finally:
            await client.close()
        assert PASSWORD not in caplog.text and bot.access_token not in caplog.text
        # `alongside key rotate` re-encrypts the seeds with everything else.
        new_cipher = FieldCipher(bytes(range(1, 33)))
        await reencrypt(db, cipher, new_cipher)
        rotated = await load_keys(AdapterState(db, "matrix"), new_cipher)
        assert rotated is not None and rotated.master.public_key == master
    finally:
        await db.close()


async def test_cli_cross_sign_and_a_token_only_bot_that_cannot_verify_still_answers(
    synapse, matrix_localpart, tmp_path
):
    bot = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), PASSWORD)
    config = _config(tmp_path, synapse.base_url, bot.user_id)
    config.write_text(config.read_text().replace('log_level = "INFO"', 'log_level = "DEBUG"'))
    key = base64.urlsafe_b64encode(KEY).decode().rstrip("=")
    env = _env(ALONGSIDE_MATRIX_ACCESS_TOKEN=bot.access_token, ALONGSIDE_DATA_KEY=key)
    process = await asyncio.create_subprocess_exec(
        *bk_cli("matrix", "cross-sign", "--config", str(config)),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert "is signed by its owner" in stdout.decode()
    answer = await asyncio.to_thread(published, synapse, bot.access_token, bot.user_id)
    master = assert_cross_signed(answer, bot.user_id, bot.device_id)

    # A fresh database and store for the same account, token only: one clear line, and the bot
    # answers.
    (tmp_path / "data" / "alongside.db").rename(tmp_path / "data" / "kept.db")
    (tmp_path / "store").rename(tmp_path / "kept-store")
    process = await _start_bot(config, env)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    try:
        room = await kit.create_room(sam.client, name="circle", invite=[bot.user_id])
        await kit.wait_for_member(sam.client, room, bot.user_id, timeout=60)
        await bk.say(sam, room, "!help")
        await bk.wait_bot(sam, bot.user_id, "Here is what you can use", timeout=30)
    finally:
        await kit.close_clients(sam)
        log = await _stop_bot(process)
    lines = [line for line in log.splitlines() if "cross-signing identity" in line]
    assert len(lines) == 1 and "alongside matrix cross-sign --reset" in lines[0], log[-3000:]
    answer = await asyncio.to_thread(published, synapse, bot.access_token, bot.user_id)
    assert only_key(answer["master_keys"][bot.user_id]) == master

    # The token-only reset: exit 2 with the one line that says what to do.
    process = await asyncio.create_subprocess_exec(
        *bk_cli("matrix", "cross-sign", "--reset", "--config", str(config)),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    errors = [line for line in stderr.decode().splitlines() if line.startswith("alongside:")]
    assert process.returncode == 2 and len(errors) == 1, stderr.decode()[-2000:]
    assert "ALONGSIDE_MATRIX_PASSWORD" in errors[0] and "only a token was given" in errors[0]

    # Nothing secret in any of it, at DEBUG.
    sealed = await _sealed_seeds(tmp_path / "data" / "kept.db")
    for seed in sealed:
        assert seed not in log and seed.rstrip("=") not in log
    assert bot.access_token not in log and key not in log


def bk_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "alongside", *args]


async def _sealed_seeds(path: Path) -> list[str]:
    db = await Database.open(path)
    try:
        sealed = await AdapterState(db, "matrix").get(SEEDS_STATE)
    finally:
        await db.close()
    assert sealed is not None
    return list(json.loads(FieldCipher(KEY).decrypt(base64.b64decode(sealed), SEEDS_PURPOSE)).values())
