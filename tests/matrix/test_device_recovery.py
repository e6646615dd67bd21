"""The bot's Matrix device survives a revoked token and never moves silently (issue 13, defects
2 and 3).

* Logging out (a revoked token) makes Synapse drop the device and its keys. Starting again with
  the password keeps the device id, and the bot must then upload its device keys again, or no
  member's app can encrypt for it and every encrypted command goes unread, restart after restart.
* A token for another device than the one whose keys the store holds is refused (one line, exit
  2) instead of starting a fresh device with an empty key store beside the old one; setting
  ``[matrix] device_id`` to the token's device is how an operator moves on deliberately.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.matrix.client import CREDENTIALS_FILE, login, open_crypto_store
from adapters.matrix.settings import MatrixSettings
from bot.config import ConfigError
from tests.matrix import bot_kit as bk
from tests.matrix.test_matrix_cli import ROOT, _config, _env, _one_line_exit_2, _run
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.synapse import SynapseServer

pytestmark = pytest.mark.timeout(180)
PASSWORD = "a long test password"


def _stored(store: Path) -> dict[str, str]:
    return _stored_at(store / CREDENTIALS_FILE)


def _stored_at(path: Path) -> dict[str, str]:
    return json.loads(path.read_text())


def _server_device_keys(synapse: SynapseServer, token: str, user_id: str, device_id: str) -> dict | None:
    """What the homeserver hands members' apps for the device (None: nothing)."""
    answer = synapse.request(
        "POST", "/_matrix/client/v3/keys/query", {"device_keys": {user_id: [device_id]}}, access_token=token
    )
    return answer.get("device_keys", {}).get(user_id, {}).get(device_id)


async def _start_bot(config: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alongside", "run", "--adapter", "matrix", "--config", str(config),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _stop_bot(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    log = stderr.decode()
    assert process.returncode == 0, log[-3000:]
    assert "Traceback" not in log and PASSWORD not in log
    return log


async def test_revoked_token_then_password_keeps_the_device_and_reads_encrypted_commands(
    synapse, matrix_localpart, tmp_path
):
    bot = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), PASSWORD)
    config = _config(tmp_path, synapse.base_url, bot.user_id)
    store = tmp_path / "store"
    env = _env(ALONGSIDE_MATRIX_PASSWORD=PASSWORD)

    # A first password login; a member's encrypted command is read and answered.
    process = await _start_bot(config, env)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    try:
        room = await kit.create_room(sam.client, name="circle", encrypted=True, public=True, invite=[bot.user_id])
        await kit.wait_for_member(sam.client, room, bot.user_id, timeout=60)
        await bk.say(sam, room, "!help")
        await bk.wait_bot(sam, bot.user_id, "Here is what you can use", timeout=40)
    finally:
        await kit.close_clients(sam)
        await _stop_bot(process)
    first = _stored(store)
    device = first["device_id"]
    assert _server_device_keys(synapse, bot.access_token, bot.user_id, device) is not None

    # The token is revoked: Synapse deletes the device, and its keys with it.
    await asyncio.to_thread(
        synapse.request, "POST", "/_matrix/client/v3/logout", {}, access_token=first["access_token"]
    )
    assert _server_device_keys(synapse, bot.access_token, bot.user_id, device) is None

    # As docs/matrix.md says: start once more with the password. The same device is kept, and a
    # member whose app meets the bot's device now (a newcomer) can encrypt for it.
    process = await _start_bot(config, env)
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    try:
        await kit.wait_until(
            alex.client, lambda: _stored(store)["access_token"] != first["access_token"], 40, "a new login"
        )
        assert _stored(store)["device_id"] == device
        await kit.join(alex.client, room)
        await bk.say(alex, room, "!help")
        await bk.wait_bot(alex, bot.user_id, "Here is what you can use", timeout=40)
    finally:
        await kit.close_clients(alex)
        log = await _stop_bot(process)
    assert _server_device_keys(synapse, bot.access_token, bot.user_id, device) is not None
    assert first["access_token"] not in log


async def test_a_token_for_another_device_is_refused_with_one_line(synapse, matrix_localpart, tmp_path):
    bot = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), PASSWORD)
    config = _config(tmp_path, synapse.base_url, bot.user_id)
    store = tmp_path / "store"
    settings = MatrixSettings(homeserver=synapse.base_url, user_id=bot.user_id, store_path=store)
    kept = await login(settings, None, SecretStr(PASSWORD))  # the store's device
    other = await asyncio.to_thread(synapse.login, bot)  # a token for a new device
    assert other.device_id != kept.device_id
    before = sorted(p.name for p in store.iterdir())

    result = await asyncio.to_thread(_run, config, _env(ALONGSIDE_MATRIX_ACCESS_TOKEN=other.access_token))
    line = _one_line_exit_2(result)
    assert other.device_id in line and kept.device_id in line
    assert f'device_id = "{other.device_id}"' in line  # how to move on deliberately
    assert other.access_token not in result.stderr
    assert sorted(p.name for p in store.iterdir()) == before  # no key store for a new device
    assert not (tmp_path / "data" / "alongside.db").exists()

    # Naming the token's device is the deliberate move; the token for the store's device is fine.
    moved = await login(settings.model_copy(update={"device_id": other.device_id}), SecretStr(other.access_token), None)
    assert moved.device_id == other.device_id
    # The login kept for the old device is put aside, so a start without a token cannot quietly
    # move the bot back to it.
    assert not (store / CREDENTIALS_FILE).exists()
    assert _stored_at(store / f"credentials-{kept.device_id}.json")["access_token"] == kept.access_token
    with pytest.raises(ConfigError, match="no Matrix login"):
        await login(settings, None, None)
    again = await asyncio.to_thread(synapse.login, bot, kept.device_id)
    assert (await login(settings, SecretStr(again.access_token), None)).device_id == kept.device_id


async def test_a_store_from_token_starts_keeps_its_device(synapse, matrix_localpart, tmp_path):
    """No password login ever, so no credentials.json: the crypto store names the device."""
    bot = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), PASSWORD)
    store = tmp_path / "store"
    store.mkdir()
    open_crypto_store(store, bot.user_id, bot.device_id, "a pickle key")
    settings = MatrixSettings(homeserver=synapse.base_url, user_id=bot.user_id, store_path=store)
    other = await asyncio.to_thread(synapse.login, bot)
    with pytest.raises(ConfigError) as refused:
        await login(settings, SecretStr(other.access_token), None)
    assert bot.device_id in refused.value.problems[0] and other.device_id in refused.value.problems[0]
    # That token revoked, the password logs the same device in again rather than a new one.
    await asyncio.to_thread(synapse.request, "POST", "/_matrix/client/v3/logout", {}, access_token=bot.access_token)
    assert (await login(settings, None, SecretStr(PASSWORD))).device_id == bot.device_id


async def test_a_password_login_for_another_named_device_puts_the_old_login_aside(
    synapse, matrix_localpart, tmp_path
):
    bot = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), PASSWORD)
    store = tmp_path / "store"
    settings = MatrixSettings(homeserver=synapse.base_url, user_id=bot.user_id, store_path=store)
    kept = await login(settings, None, SecretStr(PASSWORD))
    await asyncio.to_thread(synapse.request, "POST", "/_matrix/client/v3/logout", {}, access_token=kept.access_token)
    moved = await login(settings.model_copy(update={"device_id": "MOVEDHERE"}), None, SecretStr(PASSWORD))
    assert moved.device_id == _stored(store)["device_id"] == "MOVEDHERE"
    assert _stored_at(store / f"credentials-{kept.device_id}.json")["device_id"] == kept.device_id
