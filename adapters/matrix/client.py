"""Logging in to the homeserver and opening the bot's device and crypto store.

Secrets come from the environment only: ``ALONGSIDE_MATRIX_ACCESS_TOKEN``, or
``ALONGSIDE_MATRIX_PASSWORD`` for a first login, whose access token and device are then kept in
``store_path/credentials.json`` (mode 0600) and used from then on. The crypto store (the
device's keys and the room keys it has received) lives in ``store_path`` too; losing it means a
new device that members' clients do not know. Its keys are encrypted with a pickle key of its
own: a random one, kept in the core's database encrypted under the data key (so `alongside key
rotate` covers it), never nio's default "DEFAULT_KEY"; a store made with that default is
re-encrypted under the new key on the next start. The folder is 0700 and every file in it 0600.

The bot keeps to the device whose keys the store holds: a token for another device is refused
unless ``[matrix] device_id`` names it (a move made on purpose), and a password login after a
revoked token logs the same device in again. A logout deletes the device's keys on the
homeserver, so every start checks that the homeserver holds them and uploads them if not.

Anything that stops the bot from starting (no homeserver configured, a wrong token, a server
that cannot be reached) raises ``ConfigError`` with one clear line: the CLI prints it and exits
with code 2. Tokens and passwords are never logged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import ClientConnectionError
from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    KeysQueryResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    WhoamiResponse,
)
from nio.store import DefaultStore, MatrixStore
from pydantic import SecretStr

from adapters.matrix.events import is_room_state
from adapters.matrix.settings import MatrixSettings
from bot.app import AdapterState, DataKeyError, FieldCipher
from bot.config import ConfigError

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "credentials.json"
REQUEST_TIMEOUT = 60.0
# The crypto store's pickle key: in adapter_state (platform "matrix", this key), as base64 of
# its encryption under the data key for PICKLE_KEY_PURPOSE.
PICKLE_KEY_STATE = "crypto_store_pickle_key"
PICKLE_KEY_PURPOSE = "matrix.pickle_key"
NIO_DEFAULT_PICKLE_KEY = "DEFAULT_KEY"  # what stores made before issue 11 were encrypted with


@dataclass(frozen=True)
class Credentials:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str


class BotClient(AsyncClient):
    """nio's client, but its rooms take state only from genuine state events.

    nio hands every timeline event to its room objects (power levels, creator, members,
    encryption), decrypted ones included, and only checks that an event has the fields of its
    type: a member could encrypt an `m.room.power_levels` payload with a `state_key` giving
    themselves 100, or an `m.room.member` one adding or removing anyone. Here a decrypted event
    is only ever a message, and a timeline event changes room state only when it is a real state
    event (see :func:`adapters.matrix.events.is_room_state`)."""

    def _handle_timeline_event(
        self, event: Any, room_id: str, room: MatrixRoom, encrypted_rooms: set[str]
    ) -> Any:
        if isinstance(event, MegolmEvent):
            if self.olm is None:
                return None
            event.room_id = room_id
            return self.olm._decrypt_megolm_no_error(event)  # what nio does, minus the room update
        if not is_room_state(event):
            return None
        return super()._handle_timeline_event(event, room_id, room, encrypted_rooms)


def client_config(settings: MatrixSettings, *, encryption: bool = True) -> AsyncClientConfig:
    """The bot's nio configuration.

    * ``max_limit_exceeded=0``: a 429 comes back to us (the sender waits ``retry_after_ms``,
      keeps order and drops nothing) instead of nio retrying it invisibly;
    * connection errors are retried without end, backing off to ``reconnect_max_seconds``, so
      the bot rides out a homeserver restart;
    * the sync token is kept in the core's database, not by nio.
    """
    return AsyncClientConfig(
        encryption_enabled=encryption,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=None,
        backoff_factor=0.1,
        max_timeout_retry_wait_time=settings.reconnect_max_seconds,
        request_timeout=REQUEST_TIMEOUT,
    )


def _store_dir(settings: MatrixSettings) -> Path:
    store = Path(settings.store_path).expanduser()
    try:
        store.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(store, 0o700)
        probe = store / ".alongside-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise ConfigError(
            [f"[matrix] store_path: cannot use {store} for the bot's keys ({error.strerror or error})"]
        ) from None
    return store


def _lock_down(store: Path) -> None:
    """The store folder 0700 and every file in it 0600 (the crypto store's database is made
    by SQLite with the process umask)."""
    with contextlib.suppress(OSError):
        os.chmod(store, 0o700)
    for path in store.iterdir():
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)


async def crypto_store_key(state: AdapterState, cipher: FieldCipher) -> str:
    """The crypto store's pickle key, made on first need and kept encrypted in the database
    (in the adapter's own state, `App.adapter_state`)."""
    stored = await state.get(PICKLE_KEY_STATE)
    if stored:
        try:
            return cipher.decrypt(base64.b64decode(stored), PICKLE_KEY_PURPOSE)
        except (DataKeyError, ValueError):
            raise ConfigError(
                ["the Matrix crypto store's key in the database does not open with this data key"]
            ) from None
    key = secrets.token_urlsafe(32)
    await state.put(PICKLE_KEY_STATE, base64.b64encode(cipher.encrypt(key, PICKLE_KEY_PURPOSE)).decode())
    return key


def rekey_store(store: MatrixStore, new_key: str) -> int:
    """Re-encrypt everything pickled in an open crypto store (the account, Olm sessions, room
    keys) under `new_key`, in one transaction: a crash leaves it all under the old key. Returns
    how many pickles were rewritten."""
    account = store.load_account()
    if account is None:
        store.pickle_key = new_key
        return 0
    sessions = [(sender, session) for sender, found in store.load_sessions().items() for session in found]
    groups = list(store.load_inbound_group_sessions())
    store.pickle_key = new_key
    with store.database.bind_ctx(store.models), store.database.atomic():
        store.save_account(account)
        for sender, session in sessions:
            store.save_session(sender, session)
        for group in groups:
            store.save_inbound_group_session(group)
    return 1 + len(sessions) + len(groups)


def open_crypto_store(store: Path, user_id: str, device_id: str, pickle_key: str) -> None:
    """Make sure the device's crypto store opens with `pickle_key`, re-encrypting one made with
    nio's default key. Raises ConfigError when neither key opens it."""
    opened = DefaultStore(user_id, device_id, str(store), pickle_key=pickle_key)
    try:
        try:
            opened.load_account()
            return
        except Exception:  # noqa: BLE001 - nio raises vodozemac's errors for a wrong key
            opened.pickle_key = NIO_DEFAULT_PICKLE_KEY
        try:
            opened.load_account()
        except Exception:  # noqa: BLE001
            raise ConfigError(
                [
                    f"[matrix] store_path: the crypto store in {store} does not open with its key "
                    "(kept in the database); restore the database it belongs to, or move the store "
                    "away to start a new device"
                ]
            ) from None
        count = rekey_store(opened, pickle_key)
        log.info("the crypto store is now encrypted with its own key (%d entries)", count)
    finally:
        opened.database.close()


def read_credentials(store: Path) -> Credentials | None:
    path = store / CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(
            data["homeserver"], data["user_id"], data["device_id"], data["access_token"]
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("%s is unreadable; ignoring it", path)
        return None


def write_credentials(store: Path, credentials: Credentials) -> None:
    path = store / CREDENTIALS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(credentials.__dict__, handle)
    os.replace(tmp, path)


def store_devices(store: Path, user_id: str, stored: Credentials | None) -> list[str]:
    """The devices whose keys this store holds, the one to keep first: the device a password
    login recorded, then each device with a crypto store here (nio names its database
    ``<user id>_<device id>.db``), most recently used first."""
    devices = [stored.device_id] if stored is not None else []
    prefix = f"{user_id}_"
    found = []
    for path in store.glob("*.db"):
        if path.name.startswith(prefix) and len(path.name) > len(prefix) + 3:
            with contextlib.suppress(OSError):
                found.append((path.stat().st_mtime, path.name[len(prefix) : -3]))
    devices += [device for _, device in sorted(found, reverse=True) if device not in devices]
    return devices


def _retire_credentials(store: Path, stored: Credentials) -> None:
    """The bot has moved to another device on purpose: the login kept for the old one must not
    bring it back at a later start without a token. Its token stays beside it (the old device
    can be logged out with it)."""
    retired = store / f"credentials-{stored.device_id}.json"
    try:
        os.replace(store / CREDENTIALS_FILE, retired)
    except OSError as error:
        raise ConfigError(
            [f"[matrix] store_path: cannot put {CREDENTIALS_FILE} aside as {retired} ({error.strerror or error})"]
        ) from None
    log.warning("the bot now uses another device; the login of device %s is kept in %s", stored.device_id, retired)


def _moved_device(store: Path, token_device: str, kept: str) -> ConfigError:
    return ConfigError(
        [
            f"ALONGSIDE_MATRIX_ACCESS_TOKEN belongs to device {token_device}, but the store in "
            f"{store} holds the keys of device {kept}: use a token for {kept}, or start with "
            f"ALONGSIDE_MATRIX_PASSWORD instead of a token (it logs {kept} in again), or, to move "
            f'the bot to {token_device} on purpose, set [matrix] device_id = "{token_device}" '
            f"(the bot then cannot read what was encrypted for {kept}; see docs/matrix.md)"
        ]
    )


@contextlib.contextmanager
def _quiet_nio():
    """nio logs a warning per retry; during the start-up check one clear line is enough."""
    logger = logging.getLogger("nio")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


def _unreachable(homeserver: str, error: BaseException) -> ConfigError:
    reason = str(error).strip() or type(error).__name__
    if isinstance(error, TimeoutError):
        reason = "no answer in time"
    return ConfigError([f"cannot reach the Matrix homeserver at {homeserver} ({reason})"])


async def _check_token(probe: AsyncClient, settings: MatrixSettings, where: str) -> str | ErrorResponse:
    """The device id the token belongs to, or the homeserver's refusal."""
    response = await probe.whoami()
    if not isinstance(response, WhoamiResponse):
        return response
    if response.user_id != settings.user_id:
        raise ConfigError(
            [
                f"{where} belongs to {response.user_id}, but [matrix] user_id is "
                f"{settings.user_id}; use the bot account's own token"
            ]
        )
    device = response.device_id or settings.device_id
    if settings.device_id and response.device_id and response.device_id != settings.device_id:
        raise ConfigError(
            [
                f"{where} belongs to device {response.device_id}, but [matrix] device_id is "
                f"{settings.device_id}; the bot's keys belong to one device, so use a token for it"
            ]
        )
    if not device:
        raise ConfigError(
            ["the homeserver did not say which device the token belongs to; set [matrix] device_id"]
        )
    return device


def _refusal(response: ErrorResponse) -> str:
    return str(response.status_code or "no Matrix error code")


async def login(
    settings: MatrixSettings,
    access_token: SecretStr | None,
    password: SecretStr | None,
) -> Credentials:
    """Check the configured account can log in; returns the credentials to use."""
    # Long: one login story in order (settings, then a configured token, else the stored one,
    # else a password login that is stored); each step decides whether the next runs, and all
    # share one probe client that must be closed, which reads most plainly in one place.
    problems = []
    if not settings.homeserver:
        problems.append('[matrix] homeserver is not set (e.g. homeserver = "https://matrix.example.org")')
    if not settings.user_id:
        problems.append('[matrix] user_id is not set (e.g. user_id = "@alongside:example.org")')
    if problems:
        raise ConfigError(problems)
    store = _store_dir(settings)
    stored = read_credentials(store)
    if stored is not None and (
        stored.user_id != settings.user_id or stored.homeserver != settings.homeserver
    ):
        stored = None
    if access_token is None and password is None and stored is None:
        raise ConfigError(
            [
                "no Matrix login: set ALONGSIDE_MATRIX_ACCESS_TOKEN, or ALONGSIDE_MATRIX_PASSWORD "
                "for a first login"
            ]
        )
    probe_config = replace(
        client_config(settings, encryption=False), max_timeouts=1, request_timeout=15
    )
    probe = AsyncClient(settings.homeserver, settings.user_id, config=probe_config)
    try:
        with _quiet_nio():
            if access_token is not None:
                probe.access_token = access_token.get_secret_value()
                result = await _check_token(probe, settings, "ALONGSIDE_MATRIX_ACCESS_TOKEN")
                if isinstance(result, ErrorResponse):
                    raise ConfigError(
                        [
                            f"the homeserver at {settings.homeserver} did not accept "
                            f"ALONGSIDE_MATRIX_ACCESS_TOKEN ({_refusal(result)})"
                        ]
                    )
                # A token for another device would start an empty key store beside the one the
                # store holds, and the bot could read nothing encrypted for its old device: only
                # when the operator names the new device in [matrix] device_id.
                kept = store_devices(store, settings.user_id, stored)
                if not settings.device_id and kept and result not in kept:
                    raise _moved_device(store, result, kept[0])
                if stored is not None and stored.device_id != result:
                    _retire_credentials(store, stored)
                return Credentials(settings.homeserver, settings.user_id, result, probe.access_token)
            if stored is not None:
                probe.access_token = stored.access_token
                result = await _check_token(probe, settings, "the stored access token")
                if not isinstance(result, ErrorResponse):
                    return replace(stored, device_id=result)
                if password is None:
                    raise ConfigError(
                        [
                            f"the homeserver no longer accepts the access token kept in {store} "
                            f"({_refusal(result)}); set ALONGSIDE_MATRIX_PASSWORD to log in again"
                        ]
                    )
                probe.access_token = ""
            assert password is not None
            # Log the store's device in again (a revoked token is no reason for a new device).
            kept = store_devices(store, settings.user_id, stored)
            probe.device_id = settings.device_id or (kept[0] if kept else "")
            response = await probe.login(password.get_secret_value(), device_name=settings.device_name)
            if not isinstance(response, LoginResponse):
                raise ConfigError(
                    [
                        f"the homeserver at {settings.homeserver} refused the password login for "
                        f"{settings.user_id} ({_refusal(response)})"
                    ]
                )
            if response.user_id != settings.user_id:
                raise ConfigError(
                    [f"the password logged in {response.user_id}, not {settings.user_id}"]
                )
            credentials = Credentials(
                settings.homeserver, response.user_id, response.device_id, response.access_token
            )
            if stored is not None and stored.device_id != response.device_id:
                _retire_credentials(store, stored)  # [matrix] device_id named another device
            write_credentials(store, credentials)
            log.info("logged in as %s; token and device kept in %s", response.user_id, store)
            return credentials
    except (ClientConnectionError, TimeoutError, OSError) as error:
        raise _unreachable(settings.homeserver, error) from None
    finally:
        await probe.close()


async def connect(
    settings: MatrixSettings,
    access_token: SecretStr | None,
    password: SecretStr | None,
    *,
    pickle_key: str,
) -> AsyncClient:
    """A logged-in client with its crypto store open (encrypted with `pickle_key`, see
    :func:`crypto_store_key`) and its device keys uploaded."""
    credentials = await login(settings, access_token, password)
    return await open_client(settings, credentials, pickle_key=pickle_key)


async def open_client(settings: MatrixSettings, credentials: Credentials, *, pickle_key: str) -> AsyncClient:
    """The client for credentials :func:`login` checked, its crypto store open with
    `pickle_key` and its device keys uploaded."""
    store = _store_dir(settings)
    try:
        open_crypto_store(store, credentials.user_id, credentials.device_id, pickle_key)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(
            [f"[matrix] store_path: cannot open the crypto store in {store} ({type(error).__name__})"]
        ) from None
    client = BotClient(
        settings.homeserver,
        credentials.user_id,
        device_id=credentials.device_id,
        store_path=str(store),
        config=replace(client_config(settings), pickle_key=pickle_key),
    )
    try:
        client.restore_login(credentials.user_id, credentials.device_id, credentials.access_token)
    except Exception as error:
        await client.close()
        raise ConfigError(
            [f"[matrix] store_path: cannot open the crypto store in {store} ({type(error).__name__})"]
        ) from None
    _lock_down(store)
    try:
        with _quiet_nio():
            client.config = replace(client.config, max_timeouts=1)
            try:
                await ensure_device_keys(client)
            finally:
                client.config = replace(client.config, max_timeouts=None)
    except (ClientConnectionError, TimeoutError, OSError) as error:
        await client.close()
        raise _unreachable(settings.homeserver, error) from None
    return client


async def ensure_device_keys(client: AsyncClient) -> None:
    """Make sure the homeserver holds this device's keys, uploading them when it does not.

    A logout (a revoked token, a device removed from a Matrix app's session list) deletes the
    device and its keys on the server. A password login with the same device id brings the
    device back without keys, and nio, whose account says they were uploaded long ago, never
    sends them again: no member's app could encrypt for the bot. So at every start the server's
    copy is compared with the device's own, and a missing or different one is replaced."""
    if client.olm is None:
        return
    if client.olm.account.shared:
        method, path, data = Api.keys_query(client.access_token, {client.user_id})
        response = await client._send(KeysQueryResponse, method, path, data)
        if isinstance(response, ErrorResponse):
            log.warning("could not ask the homeserver for this device's keys: %s", response.status_code)
        else:
            held = response.device_keys.get(client.user_id, {}).get(client.device_id)
            keys = held.get("keys", {}) if isinstance(held, dict) else {}
            ours = client.olm.account.identity_keys
            if (
                keys.get(f"ed25519:{client.device_id}") != ours["ed25519"]
                or keys.get(f"curve25519:{client.device_id}") != ours["curve25519"]
            ):
                log.warning(
                    "the homeserver %s this device's keys (%s); uploading them again",
                    "does not hold" if held is None else "holds other keys than",
                    client.device_id,
                )
                client.olm.account.shared = False  # nio then uploads identity and one-time keys
    if client.should_upload_keys:
        upload = await client.keys_upload()
        if isinstance(upload, ErrorResponse):
            log.warning("uploading the device keys failed: %s", upload.status_code)
