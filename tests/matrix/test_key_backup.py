"""Room keys survive a lost crypto store: the server-side backup on the real test Synapse (issue 16).

What the homeserver holds is checked with code the bot did not write: vodozemac's PkDecryption
(as matrix-rust-sdk uses it) opens the uploaded session_data, vodozemac's ed25519 checks the
version's signatures, and the specification's reference canonical JSON is the signed form.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
from typing import Any
from urllib.parse import quote

import pytest
import vodozemac

from adapters.matrix.cross_signing import load_keys
from adapters.matrix.key_backup import ALGORITHM, KEY_STATE, encrypt_session_data, load_key
from bot.storage.adapter_state import AdapterState
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.storage.rotation import reencrypt
from tests.matrix import bot_kit as bk
from tests.matrix.test_cross_signing import signed_by
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.synapse import SynapseHTTPError, SynapseServer

pytestmark = pytest.mark.timeout(180)
API = "/_matrix/client/v3"


def backup_keys(synapse: SynapseServer, token: str, version: str) -> dict[str, Any]:
    return synapse.request("GET", f"{API}/room_keys/keys?version={version}", access_token=token)


async def wait_backed_up(synapse: SynapseServer, token: str, version: str, room_id: str) -> dict[str, Any]:
    for _ in range(200):
        answer = await asyncio.to_thread(backup_keys, synapse, token, version)
        sessions = answer.get("rooms", {}).get(room_id, {}).get("sessions", {})
        if sessions:
            return sessions
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no room key of {room_id} in the backup")


def pk_decrypt(private: bytes, data: dict[str, str]) -> dict[str, Any]:
    decryption = vodozemac.PkDecryption.from_key(vodozemac.Curve25519SecretKey.from_bytes(private))
    message = vodozemac.Message.from_base64(data["ciphertext"], data["mac"], data["ephemeral"])
    return json.loads(decryption.decrypt(message))


async def test_room_keys_are_backed_up_and_a_new_device_reads_what_was_sent_before_the_loss(
    synapse, matrix_localpart, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG, logger="adapters")
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    try:
        assert bot.key_backup is not None and bot.key_backup.problem is None, bot.key_backup.problem
        version = bot.key_backup.version
        assert version is not None
        # The version: our algorithm and public key, signed by the device and the master key.
        current = await asyncio.to_thread(
            synapse.request, "GET", f"{API}/room_keys/version", access_token=bot.user.access_token
        )
        assert (current["version"], current["algorithm"]) == (version, ALGORITHM)
        assert bot.app is not None
        state, cipher = bot.app.adapter_state("matrix"), bot.app.cipher
        key, crossing = await load_key(state, cipher), await load_keys(state, cipher)
        assert key is not None and crossing is not None
        auth = current["auth_data"]
        assert auth["public_key"] == key.public_key
        device_key = bot.adapter.client.olm.account.identity_keys["ed25519"]
        assert signed_by(auth, bot.user_id, bot.user.device_id, device_key)
        assert signed_by(auth, bot.user_id, crossing.master.public_key, crossing.master.public_key)
        private = base64.b64decode(key.private_text())
        assert key.private_text() not in (await state.get(KEY_STATE) or "")

        room = await bk.community_room(bot, [sam], encrypted=True)
        await bk.say(sam, room, "!help")
        private_room, _ = await bk.wait_bot(sam, bot.user_id, "Here is what you can use", timeout=40)

        # Sam's room key is in the backup, and a client's own code opens it.
        sessions = await wait_backed_up(synapse, bot.user.access_token, version, room)
        sam_curve = sam.client.olm.account.identity_keys["curve25519"]
        session_id, backed = next(
            (sid, b) for sid, b in sessions.items() if pk_decrypt(private, b["session_data"])["sender_key"] == sam_curve
        )
        plain = pk_decrypt(private, backed["session_data"])
        assert plain["algorithm"] == "m.megolm.v1.aes-sha2"
        assert plain["sender_claimed_keys"] == {"ed25519": sam.client.olm.account.identity_keys["ed25519"]}
        restored = vodozemac.InboundGroupSession.import_session(vodozemac.ExportedSessionKey(plain["session_key"]))
        assert restored.session_id == session_id and backed["first_message_index"] == restored.first_known_index
        assert backed["forwarded_count"] == 0 and backed["is_verified"] is False

        # Someone who knows only the public key (the homeserver, say) adds a key of their own.
        forged_id = "forged" + session_id[6:]
        forged = {**plain, "session_key": plain["session_key"]}
        await asyncio.to_thread(
            synapse.request,
            "PUT",
            f"{API}/room_keys/keys/{quote(room, safe='')}/{quote(forged_id, safe='')}?version={version}",
            {
                "first_message_index": 0,
                "forwarded_count": 0,
                "is_verified": True,
                "session_data": encrypt_session_data(key.public_key, forged),
            },
            access_token=bot.user.access_token,
        )

        # The bot is down; sam's next command uses the room key the old device had (and backed
        # up), so only the backup can give it to a new device.
        await bot.stop()
        after = bk.mark(sam)
        await bk.say(sam, room, "!help resources")
        shutil.rmtree(bot.matrix.store_path)
        old_device = bot.user.device_id
        bot.user = await asyncio.to_thread(synapse.login, bot.user)
        assert bot.user.device_id != old_device
        await bot.start()

        await bk.wait_bot(sam, bot.user_id, bk.help_for("resources"), room_id=private_room, after=after, timeout=30)
        assert bot.key_backup.version == version and bot.key_backup.restored >= 1
        olm = bot.adapter.client.olm
        assert olm.inbound_group_store.get(room, sam_curve, session_id) is not None
        assert not any(s.id == forged_id for s in olm.inbound_group_store)
        # Answered once (the exactly-once rules hold for a command read from backup).
        await bot.idle()
        await bk.quiet(1.0)
        answers = [e for e in bk.bot_messages(sam, bot.user_id, private_room, after) if bk.help_for("resources")(getattr(e, "body", ""))]
        assert len(answers) == 1
    finally:
        await kit.close_clients(sam)
        await bot.stop()
    # `alongside key rotate` re-encrypts the backup's key with everything else.
    db = await Database.open(bot.db_path)
    try:
        new_cipher = FieldCipher(bytes(range(1, 33)))
        await reencrypt(db, cipher, new_cipher)
        rotated = await load_key(AdapterState(db, "matrix"), new_cipher)
        assert rotated is not None and rotated.public_key == key.public_key
    finally:
        await db.close()
    text = caplog.text
    assert "restored" in text and "ignored (not written by this bot)" in text
    assert key.private_text() not in text and key.private_text().rstrip("=") not in text
    assert plain["session_key"] not in text


async def test_someone_else_s_backup_is_left_alone(synapse, matrix_localpart, tmp_path, caplog):
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    foreign = vodozemac.Curve25519SecretKey().public_key().to_base64()
    theirs = await asyncio.to_thread(
        synapse.request,
        "POST",
        f"{API}/room_keys/version",
        {"algorithm": ALGORITHM, "auth_data": {"public_key": foreign}},
        access_token=user.access_token,
    )
    matrix = bk.MatrixSettings(homeserver=synapse.base_url, user_id=user.user_id, store_path=tmp_path / "bot-store")
    bot = bk.Bot(synapse, user, bk.load_settings(None), matrix, tmp_path / "alongside.db", bk.FakeClock(bk.START))
    await bot.start()
    try:
        assert bot.key_backup is not None and bot.key_backup.version is None
        assert "leaves it alone" in (bot.key_backup.problem or "")
        # Still theirs, untouched, and nothing was uploaded to it.
        current = await asyncio.to_thread(
            synapse.request, "GET", f"{API}/room_keys/version", access_token=user.access_token
        )
        assert current["version"] == theirs["version"] and current["auth_data"]["public_key"] == foreign
        assert await bot.key_backup.upload_new() == 0
    finally:
        await bot.stop()
    lines = [r.getMessage() for r in caplog.records if "room-key backup" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith(f"{user.user_id} already has a room-key backup"), lines
    with pytest.raises(SynapseHTTPError):  # the bot made no version of its own
        await asyncio.to_thread(
            synapse.request, "GET", f"{API}/room_keys/version/{int(theirs['version']) + 1}", access_token=user.access_token
        )
