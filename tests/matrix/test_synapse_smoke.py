"""Smoke tests for the Matrix harness: a real Synapse plus matrix-nio members."""

from __future__ import annotations

import time
import uuid

import pytest
from nio import RoomSendError

from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.synapse import SynapseHTTPError, SynapseServer


def _txn() -> str:
    return uuid.uuid4().hex


def _raw_send(server: SynapseServer, token: str, room_id: str, body: str) -> dict:
    return server.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{_txn()}",
        {"msgtype": "m.text", "body": body},
        access_token=token,
    )


def _first_limit_error(
    server: SynapseServer, token: str, room_id: str, tries: int
) -> SynapseHTTPError | None:
    for i in range(tries):
        try:
            _raw_send(server, token, room_id, f"burst {i}")
        except SynapseHTTPError as e:
            return e
    return None


def test_register_and_whoami(synapse: SynapseServer, matrix_localpart) -> None:
    user = synapse.register(matrix_localpart("plain"))
    assert user.user_id.endswith(":localhost")
    who = synapse.request(
        "GET", "/_matrix/client/v3/account/whoami", access_token=user.access_token
    )
    assert who["user_id"] == user.user_id and who["device_id"] == user.device_id
    with pytest.raises(SynapseHTTPError) as info:
        synapse.register(user.localpart)
    assert info.value.errcode == "M_USER_IN_USE"


async def test_encrypted_private_room(synapse: SynapseServer, matrix_localpart, tmp_path) -> None:
    alice = await kit.connect_member(synapse, matrix_localpart("alice"), tmp_path)
    bob = await kit.connect_member(synapse, matrix_localpart("bob"), tmp_path)
    try:
        room_id = await kit.create_room(
            alice.client, name="circle", encrypted=True, invite=[bob.user_id]
        )
        await kit.accept_invite(bob.client, room_id)
        await kit.wait_for_member(alice.client, room_id, bob.user_id)
        assert alice.client.rooms[room_id].encrypted

        assert await kit.trust_all_devices(alice.client, [bob.user_id])
        await kit.trust_all_devices(bob.client, [alice.user_id])

        # ignore_unverified_devices=False: nio would refuse if trust had not worked.
        await kit.send_text(alice.client, room_id, "hello bob", ignore_unverified_devices=False)
        event = await kit.wait_for_message(bob.client, room_id, "hello bob", sender=alice.user_id)
        assert event.decrypted and event.verified is not None

        await kit.send_text(bob.client, room_id, "hi alice", ignore_unverified_devices=False)
        reply = await kit.wait_for_message(alice.client, room_id, "hi alice")
        assert reply.decrypted and reply.sender == bob.user_id

        # The server only ever saw ciphertext.
        msgs = synapse.request(
            "GET",
            f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=20",
            access_token=bob.user.access_token,
        )
        types = {e["type"] for e in msgs["chunk"]}
        assert "m.room.encrypted" in types and "m.room.message" not in types
    finally:
        await kit.close_clients(alice, bob)


async def test_unencrypted_public_room(synapse: SynapseServer, matrix_localpart, tmp_path) -> None:
    alice = await kit.connect_member(synapse, matrix_localpart("alice"), tmp_path)
    bob = await kit.connect_member(synapse, matrix_localpart("bob"), tmp_path, encrypted=False)
    try:
        room_id = await kit.create_room(alice.client, name="lobby", public=True)
        assert not alice.client.rooms[room_id].encrypted
        await kit.join(bob.client, room_id)  # public: no invite needed
        await kit.wait_for_member(alice.client, room_id, bob.user_id)

        await kit.send_text(bob.client, room_id, "plain hello")
        event = await kit.wait_for_message(alice.client, room_id, "plain hello")
        assert event.sender == bob.user_id and not event.decrypted
    finally:
        await kit.close_clients(alice, bob)


async def test_restart_keeps_state(synapse: SynapseServer, matrix_localpart, tmp_path) -> None:
    alice = await kit.connect_member(synapse, matrix_localpart("alice"), tmp_path)
    bob = await kit.connect_member(synapse, matrix_localpart("bob"), tmp_path)
    try:
        room_id = await kit.create_room(alice.client, encrypted=True, invite=[bob.user_id])
        await kit.accept_invite(bob.client, room_id)
        await kit.wait_for_member(alice.client, room_id, bob.user_id)
        await kit.send_text(alice.client, room_id, "before restart")
        await kit.wait_for_message(bob.client, room_id, "before restart")

        base_url = synapse.base_url
        started = time.monotonic()
        synapse.restart()  # sync loops keep running; nio reconnects by itself
        restart_s = time.monotonic() - started
        assert synapse.base_url == base_url and synapse.running
        print(f"synapse restart took {restart_s:.1f}s")

        await kit.send_text(alice.client, room_id, "after restart")
        event = await kit.wait_for_message(bob.client, room_id, "after restart", timeout=30)
        assert event.decrypted
        # Tokens live in SQLite, so they survived the restart.
        synapse.request(
            "GET", "/_matrix/client/v3/account/whoami", access_token=bob.user.access_token
        )
    finally:
        await kit.close_clients(alice, bob)


async def test_override_ratelimit_slows_one_user(
    synapse: SynapseServer, matrix_localpart, tmp_path
) -> None:
    slow = synapse.register(matrix_localpart("slow"))
    fast = synapse.register(matrix_localpart("fast"))
    room_id = synapse.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"preset": "public_chat", "invite": []},
        access_token=slow.access_token,
    )["room_id"]
    synapse.request(
        "POST", f"/_matrix/client/v3/join/{room_id}", {}, access_token=fast.access_token
    )

    assert synapse.override_ratelimit(slow.user_id, 1, 1) == {
        "messages_per_second": 1,
        "burst_count": 1,
    }
    err = _first_limit_error(synapse, slow.access_token, room_id, tries=10)
    assert err is not None, "slowed user was never rate limited"
    assert err.status == 429 and err.errcode == "M_LIMIT_EXCEEDED"
    assert err.body["retry_after_ms"] > 0

    # Everyone else is still effectively unlimited on the same server.
    assert _first_limit_error(synapse, fast.access_token, room_id, tries=30) is None

    # A nio client sees the 429 as a RoomSendError when told not to retry.
    client = await kit.make_client(
        synapse,
        slow,
        tmp_path / "slow",
        encrypted=False,
        config=kit.client_config(False, max_limit_exceeded=0),
    )
    try:
        loop = await kit.start_sync_loop(client)
        await kit.wait_for_room(client, room_id)
        responses = [
            await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": str(i)})
            for i in range(3)
        ]
        limited = [r for r in responses if isinstance(r, RoomSendError)]
        assert limited and limited[0].status_code == "M_LIMIT_EXCEEDED"
        assert limited[0].retry_after_ms is not None
        await loop.stop()
    finally:
        await client.close()

    synapse.clear_ratelimit_override(slow.user_id)
    assert _first_limit_error(synapse, slow.access_token, room_id, tries=10) is None


def test_rate_limited_server(synapse_rate_limited: SynapseServer, matrix_localpart) -> None:
    server = synapse_rate_limited
    user = server.register(matrix_localpart("limited"))
    room_id = server.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"preset": "private_chat"},
        access_token=user.access_token,
    )["room_id"]
    err = _first_limit_error(server, user.access_token, room_id, tries=10)
    assert err is not None and err.errcode == "M_LIMIT_EXCEEDED"
    assert err.body["retry_after_ms"] > 0
