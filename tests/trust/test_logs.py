"""Logs never contain message text, agreement or check-in content, tokens or keys: full flows are
run with logging at DEBUG, and every record is searched for the secrets and texts used."""

from __future__ import annotations

import base64
import logging
import re
import stat
from datetime import timedelta

import pytest

from adapters.matrix.cross_signing import load_keys
from adapters.matrix.key_backup import load_key
from alongside.logging_setup import SecretMask, configure_logging, quiet_libraries
from alongside.settings import load_settings
from tests.e2e.console import run_console
from tests.harness import TEST_KEY, make_harness
from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401

TEXTS = {
    "suggestion": "What garden xq19 do you tend when nobody is watching?",
    "agreement": "Please check in with me before advice zz42.",
    "checkin": "the long walk kk31 helped",
    "objection": "Let us slow down on this pp07.",
    "space": "A place where we listen first mm63.",
}
SECRETS = {
    "discord": "discord-token-Tq8w1X",
    "matrix": "syt_bWF0cml4_secretToken_9z",
    "password": "matrix-password-Vv3",
}


def leaked(text: str) -> list[str]:
    found = [name for name, value in {**TEXTS, **SECRETS}.items() if value in text]
    found += [name for name, value in TEXTS.items() if re.search(r"[a-z]{2}\d{2}", value).group() in text]
    key_forms = (TEST_KEY.hex(), base64.urlsafe_b64encode(TEST_KEY).decode().rstrip("="))
    found += ["data key" for form in key_forms if form in text]
    return found


async def test_core_flows_at_debug_log_nothing_private(tmp_path, caplog, monkeypatch, store):
    monkeypatch.setenv("ALONGSIDE_DISCORD_TOKEN", SECRETS["discord"])
    monkeypatch.setenv("ALONGSIDE_MATRIX_ACCESS_TOKEN", SECRETS["matrix"])
    caplog.set_level(logging.DEBUG)
    quiet_libraries()
    h = await make_harness(tmp_path, settings=load_settings(None))
    for user in ("alex", "sam", "jo"):
        await h.app.context(h.inv(user))
    await h.say("sam", f"/questions suggest {TEXTS['suggestion']}")
    await h.say("alex", "/questions approve 1 connection")
    await h.say("alex", "/questions schedule daily 18:00")
    for user in ("sam", "jo"):
        await h.say(user, "/pair join", channel=None)
        await h.say(user, "/yes", channel=None)
    await h.say("alex", "/pair now")
    await h.advance(timedelta(days=8))
    await h.say("sam", "/checkin", channel=None)
    await h.say("sam", "/checkin 3", channel=None)
    await h.say("sam", f"/checkin share {TEXTS['checkin']}", channel=None)
    out = await h.say("sam", "/agreement start @jo", channel=None)
    short_id = re.search(r"#([0-9A-Z]{5})", out).group(1)
    await h.say("jo", "/yes", channel=None)
    await h.say("sam", f"/agreement edit 2 {TEXTS['agreement']}", channel=None)
    await h.say("sam", "/agreement propose", channel=None)
    await h.say("jo", f"/agreement accept #{short_id} v1", channel=None)
    await h.say("alex", "/space-agreement draft")
    await h.say("jo", f"/space-agreement propose purpose {TEXTS['space']}")
    await h.say("sam", f"/space-agreement object 1 {TEXTS['objection']}")
    await h.say("sam", "/mydata export", channel=None)
    await h.say("sam", "/mydata forget", channel=None)
    await h.say("sam", "/yes", channel=None)
    # An internal error is logged with its traceback, still without the arguments.
    await h.close()
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "the flows were expected to log something"
    assert leaked(records) == []


def test_console_process_logging_to_a_file_at_debug(tmp_path):
    config = tmp_path / "config.toml"
    log_file = tmp_path / "alongside.log"
    config.write_text(f'log_level = "DEBUG"\nlog_file = "{log_file}"\n')
    script = "\n".join(
        [
            f"/questions suggest {TEXTS['suggestion']}",
            "/questions approve 1 connection",
            "/questions now",
            "/as sam",
            "/agreement start @jo",
            "/as jo",
            "/yes",
            f"/agreement edit 1 {TEXTS['agreement']}",
            "/agreement propose",
            "/mydata forget",
            "/yes",
        ]
    )
    result = run_console(
        script + "\n",
        tmp_path / "a.db",
        extra_args=("--config", str(config)),
        env={"ALONGSIDE_DISCORD_TOKEN": SECRETS["discord"], "ALONGSIDE_MATRIX_PASSWORD": SECRETS["password"]},
    )
    assert result.returncode == 0, result.stderr
    logged = log_file.read_text() + result.stderr
    assert "DEBUG" in logged or "INFO" in logged
    assert leaked(logged) == []


def test_secret_mask_redacts_what_slips_through():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", (SECRETS["discord"],), None)
    SecretMask([SECRETS["discord"]]).filter(record)
    assert SECRETS["discord"] not in record.getMessage() and "[redacted]" in record.getMessage()
    # A secret learnt later (the Matrix crypto store's pickle key) is masked from then on.
    mask = SecretMask([])
    mask.add("pickle-key-learnt-late")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", ("pickle-key-learnt-late",), None)
    mask.filter(record)
    assert "pickle-key-learnt-late" not in record.getMessage()


# The crypto store's own loggers, as the installed matrix-nio and peewee name them: nio's crypto
# (olm sessions, room keys) and store (the SQLite crypto store) modules log to "<package>.log",
# and peewee, under the store, logs each SQL statement with its parameters.
CRYPTO_STORE_LOGGERS = ("nio", "nio.crypto", "nio.crypto.log", "nio.store", "nio.store.log", "peewee")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("crypto_loggers", ["quieted", "at-debug"])
async def test_matrix_adapter_in_encrypted_rooms_at_debug_logs_no_key_material(
    synapse, matrix_localpart, tmp_path, caplog, crypto_loggers  # noqa: F811
):
    """The bot's device keys, its crypto store's pickle key, the room keys it holds, its access
    token and the data key never reach the log, with everything at DEBUG, through encrypted
    community and private rooms and a room-key backup upload (and the store's files are the
    bot's alone). "quieted" is production (configure_logging holds the libraries down);
    "at-debug" frees the crypto store's own loggers too (issue 16), so that what they would say
    is known to hold no secret either, not only kept out of sight."""
    caplog.set_level(logging.DEBUG)
    if crypto_loggers == "quieted":
        quiet_libraries()  # what configure_logging does after setting the level
    else:
        for name in CRYPTO_STORE_LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name)  # restored by caplog at teardown
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        assert bot.adapter is not None
        room = await bk.community_room(bot, [alex, sam], encrypted=True)
        for member in (alex, sam):
            seen = bk.mark(member)
            await bk.say(member, room, "!help resources")
            private, _ = await bk.wait_bot(member, bot.user_id, bk.help_for("resources"), after=seen, timeout=30)
            assert bot.adapter.client.rooms[private].encrypted
        seen = bk.mark(sam)
        await bk.say(sam, private, f"questions suggest {TEXTS['suggestion']}")
        await bk.wait_bot(sam, bot.user_id, "Thank you", after=seen, timeout=30)
        await bot.idle()
        client = bot.adapter.client
        assert client.olm is not None
        pickle_key = client.config.pickle_key
        identity = client.olm.account.identity_keys
        room_keys = [
            session.export_session(session.first_known_index) for session in client.olm.inbound_group_store
        ]
        assert room_keys, "the bot was expected to hold room keys"
        # The cross-signing keys made at start (issue 16): their seeds are never logged.
        assert bot.cross_signing is not None and bot.cross_signing.verified, bot.cross_signing
        kept = await load_keys(bot.app.adapter_state("matrix"), bot.app.cipher)
        assert kept is not None
        seeds = kept.secrets()
        # ... nor the room-key backup's private key (the room keys go through the backup too).
        backup_key = await load_key(bot.app.adapter_state("matrix"), bot.app.cipher)
        assert backup_key is not None
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam)
    assert bot.key_backup is not None and bot.key_backup.uploaded >= 1
    secrets = {
        "pickle key": pickle_key,
        "curve25519 identity key": identity["curve25519"],
        "ed25519 identity key": identity["ed25519"],
        "access token": bot.user.access_token,
        "data key": base64.urlsafe_b64encode(bk.TEST_KEY).decode().rstrip("="),
        "data key (hex)": bk.TEST_KEY.hex(),
        **{f"room key {n}": key for n, key in enumerate(room_keys)},
        **{f"cross-signing seed {n}": seed for n, seed in enumerate(seeds)},
        **{f"backup key {n}": secret for n, secret in enumerate(backup_key.secrets())},
    }
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert records, "the run was expected to log something"
    if crypto_loggers == "at-debug":
        # The crypto store's loggers really spoke (else this mode would prove nothing).
        spoke = {r.name for r in caplog.records if r.name in CRYPTO_STORE_LOGGERS and r.levelno < logging.WARNING}
        assert {"peewee", "nio.crypto.log"} <= spoke, spoke
    if crypto_loggers == "at-debug":
        # The identity keys here are the device's public keys (published with /keys/upload, and
        # the sender_key of every message it encrypts): the freed crypto loggers name them, as
        # they name session ids. Their private halves exist only inside the pickled account,
        # encrypted with the pickle key, which is checked. Everything else must be absent.
        del secrets["curve25519 identity key"], secrets["ed25519 identity key"]
    assert [name for name, value in secrets.items() if value and value in records] == []
    assert leaked(records) == []  # nor the words a member typed (decrypted by the bot)
    assert "DEFAULT_KEY" not in {pickle_key}, "the crypto store must have a key of its own"
    store = bot.matrix.store_path
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in store.iterdir() if path.is_file()}
    assert files and all(mode == 0o600 for mode in files.values()), files


def test_log_level_debug_keeps_the_crypto_store_loggers_quiet(tmp_path):
    """With log_level DEBUG, the bot's own DEBUG lines are written, and nothing below WARNING
    from the crypto store's loggers: freed, peewee logs every row of the store (the pickled
    Olm account and room-key sessions, encrypted with the pickle key, and the public identity
    keys), nio's crypto and store loggers name sessions and sender keys, nio.responses whole
    sync bodies. A log file outlives a deleted store, so it holds none of that."""
    log_file = tmp_path / "alongside.log"
    settings = load_settings(None).model_copy(update={"log_level": "DEBUG", "log_file": log_file})
    root = logging.getLogger()
    names = (*CRYPTO_STORE_LOGGERS, "nio.responses")
    saved = (root.level, root.handlers[:], {name: logging.getLogger(name).level for name in names})
    try:
        configure_logging(settings)
        for name in names:
            logging.getLogger(name).debug("crypto-store-line %s at debug", name)
            logging.getLogger(name).info("crypto-store-line %s at info", name)
        logging.getLogger("adapters.matrix.adapter").debug("bot-line at debug")
        for handler in root.handlers:
            handler.flush()
        written = log_file.read_text()
    finally:
        for handler in root.handlers:
            if handler not in saved[1]:
                handler.close()
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
    assert "bot-line at debug" in written
    assert "crypto-store-line" not in written, written

