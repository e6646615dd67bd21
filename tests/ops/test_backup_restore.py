"""`alongside backup` while the bot works, then `alongside restore` into a new folder: communities,
schedules, agreements, pairing, the seen-event records (so no old command is handled again) and
the Matrix device and its keys all come back, and every refusal changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from nio.crypto import OlmAccount
from nio.store import DefaultStore

from alongside.backup import BackupError, backup, restore
from alongside.runtime import build_core, env_key_of, key_file_for
from alongside.settings import load_settings
from bot.clock import FakeClock
from bot.scheduling.timeline import SimulatedDriver
from bot.storage.adapter_state import AdapterState
from tests.harness import START, Harness, ListSink

ROOT = Path(__file__).resolve().parents[2]
BOT = "@alongside:example.org"
DEVICE = "ALONGSIDEDEV"
BULK_EVENTS = 60_000
# Tables whose every row must come back exactly as it was backed up.
KEPT = (
    "communities", "members", "question_schedules", "community_questions", "question_suggestions",
    "pair_communities", "pair_participants", "pair_consents", "pair_not_with", "pair_rounds", "pairs",
    "pair_members", "agreements", "agreement_parties", "agreement_versions", "agreement_acceptances",
    "space_agreements", "seen_events", "adapter_state", "key_check", "schema_version",
)


def config_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    # Relative paths: resolved against this file's folder, wherever the command runs from.
    config.write_text(
        '[storage]\npath = "data/alongside.db"\n'
        f'[matrix]\nhomeserver = "https://matrix.example.org"\nuser_id = "{BOT}"\n'
        'store_path = "data/matrix-store"\n'
    )
    return config


async def start_bot(config: Path) -> Harness:
    settings = load_settings(config)
    clock = FakeClock(START)
    core = await build_core(settings, clock, seed=1)
    sink = ListSink()
    core.app.attach_sink(sink)
    await core.app.start()
    h = Harness(core.app, core.db, clock, SimulatedDriver(core.timeline, clock), sink, settings.storage.path)
    h.core = core  # type: ignore[attr-defined]
    return h


async def lived_in(h: Harness) -> None:
    for user in ("alex", "sam", "jo", "kim"):
        await h.app.context(h.inv(user))
    await h.say("sam", "/questions suggest What made you smile this week?")
    await h.say("alex", "/questions approve 1")
    await h.say("alex", "/questions schedule daily 18:00")
    for user in ("sam", "jo", "kim", "alex"):
        await h.say(user, "/pair join", channel=None)
        await h.say(user, "/yes", channel=None)
    await h.say("alex", "/pair now")
    out = await h.say("sam", "/agreement start @jo", channel=None)
    short_id = re.search(r"#([0-9A-Z]{5})", out).group(1)
    await h.say("jo", "/yes", channel=None)
    await h.say("sam", "/agreement edit 2 Ask before giving advice.", channel=None)
    await h.say("sam", "/agreement propose", channel=None)
    await h.say("jo", f"/agreement accept #{short_id} v1", channel=None)
    state = AdapterState(h.db, "matrix")
    for number in range(20):
        assert await state.first_sighting(f"$handled-{number}", h.clock.now())
    # A month of a busy bot's handled events: a database big enough that copying it takes a while.
    async with h.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO seen_events (platform, event_id, seen_at) VALUES ('matrix', ?, ?)",
            [(f"$earlier-{number}", h.clock.now().isoformat()) for number in range(BULK_EVENTS)],
        )


def matrix_store(store: Path) -> dict[str, str]:
    """A real nio crypto store (the device's Olm account) and the credentials file."""
    store.mkdir(mode=0o700, parents=True, exist_ok=True)
    account = OlmAccount()
    DefaultStore(BOT, DEVICE, str(store), pickle_key="pickle").save_account(account)
    (store / "credentials.json").write_text(
        json.dumps({"homeserver": "https://matrix.example.org", "user_id": BOT, "device_id": DEVICE, "access_token": "syt_x"})
    )
    return account.identity_keys


def rows(database: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in KEPT}
    finally:
        conn.close()


async def test_backup_under_load_then_restore_into_a_new_folder(tmp_path):
    live = config_in(tmp_path / "live")
    settings = load_settings(live)
    h = await start_bot(live)
    await lived_in(h)
    identity = matrix_store(settings.matrix.store_path)
    wal = Path(f"{settings.storage.path}-wal")
    assert wal.stat().st_size > 0, "part of the data is still only in the -wal file"

    # Commands keep running through the App while the backup is made.
    stop = asyncio.Event()
    during = 0

    async def load() -> None:
        nonlocal during
        state = AdapterState(h.db, "matrix")
        while not stop.is_set():
            await h.say("kim", f"/questions suggest A question asked during the backup, {during}?")
            await state.first_sighting(f"$during-{during}", h.clock.now())
            during += 1
            await asyncio.sleep(0)

    worker = asyncio.create_task(load())
    await asyncio.sleep(0.05)
    before_backup = during
    dest = tmp_path / "backups" / "one"
    done = await asyncio.to_thread(backup, settings.storage.path, settings.matrix.store_path, dest)
    # This task resumes only once the backup has returned: what the worker finished in between
    # ran while the backup was being made.
    after_backup = during
    stop.set()
    await worker
    assert before_backup > 0 and after_backup > before_backup, (before_backup, after_backup)

    # A restore into the running bot's own place is refused, and changes nothing.
    with pytest.raises(BackupError, match="in use"):
        await asyncio.to_thread(
            restore, dest, settings.storage.path, settings.matrix.store_path, env_key=None,
            key_file=key_file_for(settings, settings.storage.path), replace=True,
        )
    await h.core.close()  # type: ignore[attr-defined]

    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["schema_version"] == done.schema_version and manifest["alongside_version"]
    assert manifest["key_check"] and set(manifest["files"]) == {
        "alongside.db", "matrix-store/credentials.json", f"matrix-store/{BOT}_{DEVICE}.db"
    }
    key_text = key_file_for(settings, settings.storage.path).read_text()
    assert key_text.strip() not in json.dumps(manifest)
    assert not any(name.endswith(".key") for name in os.listdir(dest))
    backed_up = rows(dest / "alongside.db")
    assert len(backed_up["seen_events"]) >= 20 + BULK_EVENTS + before_backup
    assert all(backed_up[table] for table in ("communities", "question_schedules", "agreements", "pair_rounds", "pairs"))

    # A new place: without the data key the backup is refused and nothing is written.
    new = config_in(tmp_path / "new")
    new_settings = load_settings(new)
    new_key_file = key_file_for(new_settings, new_settings.storage.path)
    with pytest.raises(BackupError, match="data key does not open this backup"):
        await asyncio.to_thread(
            restore, dest, new_settings.storage.path, new_settings.matrix.store_path,
            env_key=env_key_of(new_settings), key_file=new_key_file,
        )
    assert not new_settings.storage.path.exists() and not new_settings.matrix.store_path.exists()

    # The key comes back from where the secrets are kept; then the restore goes through.
    new_key_file.parent.mkdir(parents=True, exist_ok=True)
    new_key_file.write_text(key_text)
    new_key_file.chmod(0o600)
    restored = await asyncio.to_thread(
        restore, dest, new_settings.storage.path, new_settings.matrix.store_path,
        env_key=None, key_file=new_key_file,
    )
    assert restored.database == new_settings.storage.path and restored.store == new_settings.matrix.store_path
    assert rows(new_settings.storage.path) == backed_up
    assert oct(new_settings.storage.path.stat().st_mode & 0o777) == "0o600"

    # The Matrix device and its keys survive: same account, same credentials.
    again = DefaultStore(BOT, DEVICE, str(new_settings.matrix.store_path), pickle_key="pickle").load_account()
    assert again is not None and again.identity_keys == identity
    assert (new_settings.matrix.store_path / "credentials.json").read_text() == (
        settings.matrix.store_path / "credentials.json"
    ).read_text()

    # The restored bot starts, and an event it handled before the backup is not handled again.
    h2 = await start_bot(new)
    try:
        state = AdapterState(h2.db, "matrix")
        assert not await state.first_sighting("$handled-3", h2.clock.now())
        assert not await state.first_sighting(f"$during-{before_backup - 1}", h2.clock.now())
        assert await state.first_sighting("$new-after-restore", h2.clock.now())
        # The restored schedule goes on: today's 18:00 question is posted.
        h2.sink.take()
        await h2.advance(timedelta(hours=10))
        assert h2.sink.take(), "the daily 18:00 question was posted after the restore"
    finally:
        await h2.core.close()  # type: ignore[attr-defined]


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "alongside", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


async def make_backup(tmp_path: Path) -> tuple[Path, Path]:
    live = config_in(tmp_path / "live")
    h = await start_bot(live)
    await lived_in(h)
    matrix_store(load_settings(live).matrix.store_path)
    await h.core.close()  # type: ignore[attr-defined]
    result = cli("backup", str(tmp_path / "b"), "--config", str(live))
    assert result.returncode == 0, result.stderr
    assert "not in it" in result.stdout
    return live, tmp_path / "b"


async def test_restore_refuses_a_damaged_newer_or_unfinished_backup_and_files_in_the_way(tmp_path):
    live, dest = await make_backup(tmp_path)
    key_file = tmp_path / "live" / "data" / "alongside.db.key"
    target = tmp_path / "other"
    config = config_in(target)
    (target / "data").mkdir(mode=0o700)
    shutil.copy(key_file, target / "data" / "alongside.db.key")

    # Files in the way: refused without --replace, moved aside (never deleted) with it.
    (target / "data" / "alongside.db").write_bytes(b"the present database")
    refused = cli("restore", str(dest), "--config", str(config))
    assert refused.returncode == 2 and "already exists" in refused.stderr and "--replace" in refused.stderr
    assert (target / "data" / "alongside.db").read_bytes() == b"the present database"
    replaced = cli("restore", str(dest), "--config", str(config), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    aside = [p for p in (target / "data").iterdir() if ".before-restore-" in p.name]
    assert [p.read_bytes() for p in aside] == [b"the present database"]

    # A damaged backup.
    damaged = tmp_path / "damaged"
    shutil.copytree(dest, damaged)
    with (damaged / "matrix-store" / "credentials.json").open("a") as handle:
        handle.write(" ")
    result = cli("restore", str(damaged), "--db", str(tmp_path / "x" / "a.db"), "--config", str(config))
    assert result.returncode == 2 and "credentials.json: changed or damaged" in result.stderr
    assert not (tmp_path / "x" / "a.db").exists()

    # A backup from a newer release.
    newer = tmp_path / "newer"
    shutil.copytree(dest, newer)
    conn = sqlite3.connect(newer / "alongside.db")
    conn.execute("INSERT INTO schema_version (version) VALUES (9999)")
    conn.commit()
    conn.close()
    manifest = json.loads((newer / "manifest.json").read_text())
    from alongside.backup import _sha256

    manifest["files"]["alongside.db"]["sha256"] = _sha256(newer / "alongside.db")
    manifest["schema_version"] = 9999
    (newer / "manifest.json").write_text(json.dumps(manifest))
    result = cli("restore", str(newer), "--db", str(tmp_path / "x" / "a.db"), "--config", str(config))
    assert result.returncode == 2 and "newer Alongside" in result.stderr, result.stderr

    # An unfinished backup (no manifest), and a backup into a folder that is not empty.
    (newer / "manifest.json").unlink()
    result = cli("restore", str(newer), "--db", str(tmp_path / "x" / "a.db"), "--config", str(config))
    assert result.returncode == 2 and "not a finished `alongside backup`" in result.stderr
    result = cli("backup", str(dest), "--config", str(live))
    assert result.returncode == 2 and "new, empty folder" in result.stderr
    assert not (tmp_path / "x").exists()


async def test_a_restore_run_as_root_gives_the_files_to_the_data_folders_owner(tmp_path):
    # Tests run as root here and in CI (as an administrator types `alongside restore` by mistake).
    assert os.geteuid() == 0, "this test gives files to another user, which needs root"
    _, dest = await make_backup(tmp_path)
    target = tmp_path / "other"
    config = config_in(target)
    (target / "data").mkdir(mode=0o700)
    shutil.copy(tmp_path / "live" / "data" / "alongside.db.key", target / "data" / "alongside.db.key")
    os.chown(target / "data", 65534, 65534)
    result = cli("restore", str(dest), "--config", str(config))
    assert result.returncode == 0, result.stderr
    for path in (target / "data" / "alongside.db", target / "data" / "matrix-store",
                 target / "data" / "matrix-store" / "credentials.json"):
        assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534), path
