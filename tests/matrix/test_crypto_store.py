"""The Matrix crypto store's pickle key (issue 11, hole 11, the Matrix half).

nio encrypts the stored account, Olm sessions and room keys with a "pickle key", "DEFAULT_KEY"
unless told otherwise. The bot's is a random key kept in its database encrypted under the data
key; a store made with the default is re-encrypted under it, all at once, keeping the device."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from nio import AsyncClient
from nio.crypto import InboundGroupSession, OlmAccount, OutboundGroupSession, OutboundSession
from nio.store import DefaultStore

from adapters.matrix.client import (
    NIO_DEFAULT_PICKLE_KEY,
    PICKLE_KEY_PURPOSE,
    PICKLE_KEY_STATE,
    crypto_store_key,
    open_crypto_store,
)
from bot.config import ConfigError
from bot.storage.crypto import FieldCipher
from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401

USER, DEVICE = "@bot:example.org", "BOTDEVICE"


def _old_store(folder: Path) -> tuple[dict[str, str], str, str]:
    """A store as nio makes it by default: account, one Olm session, one room key."""
    store = DefaultStore(USER, DEVICE, str(folder), pickle_key=NIO_DEFAULT_PICKLE_KEY)
    account, other = OlmAccount(), OlmAccount()
    store.save_account(account)
    other.generate_one_time_keys(1)
    one_time = next(iter(other.one_time_keys["curve25519"].values()))
    session = OutboundSession(account, other.identity_keys["curve25519"], one_time)
    store.save_session(other.identity_keys["curve25519"], session)
    group = InboundGroupSession(
        OutboundGroupSession().session_key, other.identity_keys["ed25519"], other.identity_keys["curve25519"], "!r:x"
    )
    store.save_inbound_group_session(group)
    store.database.close()
    return account.identity_keys, session.id, group.id


def _opens_with(folder: Path, key: str) -> bool:
    store = DefaultStore(USER, DEVICE, str(folder), pickle_key=key)
    try:
        store.load_account()
        return True
    except Exception:  # noqa: BLE001 - vodozemac's errors for a wrong key
        return False
    finally:
        store.database.close()


def test_a_store_made_with_the_default_key_is_re_encrypted_whole(tmp_path):
    identity, session_id, group_id = _old_store(tmp_path)
    open_crypto_store(tmp_path, USER, DEVICE, "a-key-of-its-own")
    assert not _opens_with(tmp_path, NIO_DEFAULT_PICKLE_KEY)
    store = DefaultStore(USER, DEVICE, str(tmp_path), pickle_key="a-key-of-its-own")
    account = store.load_account()
    assert account is not None and account.identity_keys == identity
    assert [s.id for s in store.load_sessions()] == [session_id]
    assert [g.id for g in store.load_inbound_group_sessions()] == [group_id]
    store.database.close()
    open_crypto_store(tmp_path, USER, DEVICE, "a-key-of-its-own")  # the next start: nothing to do
    assert _opens_with(tmp_path, "a-key-of-its-own")
    with pytest.raises(ConfigError, match="does not open with its key"):
        open_crypto_store(tmp_path, USER, DEVICE, "some other key")


def test_re_encryption_is_all_or_nothing(tmp_path, monkeypatch):
    _old_store(tmp_path)

    def crash(self, session):  # noqa: ANN001
        raise OSError("killed")

    monkeypatch.setattr(DefaultStore, "save_inbound_group_session", crash)
    with pytest.raises(OSError):
        open_crypto_store(tmp_path, USER, DEVICE, "new")
    monkeypatch.undo()
    # Everything still under the old key (the account was rewritten, then rolled back).
    assert _opens_with(tmp_path, NIO_DEFAULT_PICKLE_KEY) and not _opens_with(tmp_path, "new")
    store = DefaultStore(USER, DEVICE, str(tmp_path), pickle_key=NIO_DEFAULT_PICKLE_KEY)
    assert len(list(store.load_sessions())) == 1 and len(list(store.load_inbound_group_sessions())) == 1
    store.database.close()
    open_crypto_store(tmp_path, USER, DEVICE, "new")
    assert _opens_with(tmp_path, "new")


async def test_the_pickle_key_is_random_and_kept_encrypted_in_the_database(harness):
    app = harness.app
    key = await crypto_store_key(app.adapter_state("matrix"), app.cipher)
    assert key == await crypto_store_key(app.adapter_state("matrix"), app.cipher) and len(key) >= 40 and key != NIO_DEFAULT_PICKLE_KEY
    row = await app.db.fetchone(
        "SELECT value FROM adapter_state WHERE platform = 'matrix' AND key = ?", (PICKLE_KEY_STATE,)
    )
    assert key not in row[0]
    assert app.cipher.decrypt(base64.b64decode(row[0]), PICKLE_KEY_PURPOSE) == key
    # Another data key: one clear line, not a traceback.
    with pytest.raises(ConfigError, match="does not open with this data key"):
        await crypto_store_key(app.adapter_state("matrix"), FieldCipher(bytes(32)))


@pytest.mark.timeout(120)
async def test_the_bot_keeps_its_device_when_its_store_is_re_encrypted(synapse, matrix_localpart, tmp_path):  # noqa: F811
    # A store made the way the bot made it before: nio's client with its default pickle key.
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    store = tmp_path / "bot-store"
    store.mkdir()
    old = AsyncClient(synapse.base_url, user.user_id, store_path=str(store), config=kit.client_config())
    old.restore_login(user.user_id, user.device_id, user.access_token)
    assert old.olm is not None
    identity = old.olm.account.identity_keys
    await old.keys_upload()
    await old.close()
    assert _store_opens(store, user, NIO_DEFAULT_PICKLE_KEY)

    settings = bk.load_settings(None)
    matrix = bk.MatrixSettings(homeserver=synapse.base_url, user_id=user.user_id, store_path=store)
    bot = bk.Bot(synapse, user, settings, matrix, tmp_path / "alongside.db", bk.FakeClock(bk.START))
    await bot.start()
    try:
        assert bot.adapter is not None and bot.adapter.client.olm is not None
        assert bot.adapter.client.device_id == user.device_id
        assert bot.adapter.client.olm.account.identity_keys == identity
        pickle_key = bot.adapter.client.config.pickle_key
    finally:
        await bot.stop()
    assert not _store_opens(store, user, NIO_DEFAULT_PICKLE_KEY) and _store_opens(store, user, pickle_key)


def _store_opens(folder: Path, user, key: str) -> bool:  # noqa: ANN001
    store = DefaultStore(user.user_id, user.device_id, str(folder), pickle_key=key)
    try:
        return store.load_account() is not None
    except Exception:  # noqa: BLE001
        return False
    finally:
        store.database.close()
