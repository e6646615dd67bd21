"""Files that would give keys or data away: the data folder the bot creates is 0700, the database,
its -wal and -shm files and the key file are 0600 whatever the umask, and a key file or database
others can read is named in one warning with the chmod that fixes it."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from alongside.runtime import build_core
from alongside.settings import load_settings
from bot.clock import FakeClock
from tests.e2e.console import run_console
from tests.harness import START
from tests.trust.test_data_key import check


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000])
async def test_created_folder_database_wal_and_key_file_are_private(tmp_path, umask):
    db = tmp_path / "srv" / "data" / "alongside.db"
    previous = os.umask(umask)
    try:
        core = await build_core(load_settings(None), FakeClock(START), db_path=db)
        try:
            await core.app.handle_text(_inv(), "questions suggest What grows here?", lambda _: None)
            wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
            assert wal.exists() and shm.exists()
            assert {p.name: mode(p) for p in (db, wal, shm, db.with_name("alongside.db.key"))} == {
                "alongside.db": 0o600,
                "alongside.db-wal": 0o600,
                "alongside.db-shm": 0o600,
                "alongside.db.key": 0o600,
            }
            assert mode(db.parent) == 0o700
            assert mode(db.parent.parent) == 0o700  # made by the bot too
        finally:
            await core.close()
    finally:
        os.umask(previous)


async def test_an_existing_folder_keeps_its_mode(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    core = await build_core(load_settings(None), FakeClock(START), db_path=folder / "alongside.db")
    await core.close()
    assert mode(folder) == 0o755
    assert mode(folder / "alongside.db") == 0o600


def _inv():
    from bot.context import Actor, CommunityRef, Invocation

    return Invocation(CommunityRef("console", "demo", "demo"), Actor("sam", "sam", False), "circle", False)


async def test_a_key_file_others_can_read_is_named_in_one_warning(tmp_path, caplog):
    db = tmp_path / "alongside.db"
    core = await build_core(load_settings(None), FakeClock(START), db_path=db)
    await core.close()
    key_file = tmp_path / "alongside.db.key"
    key_file.chmod(0o644)
    caplog.set_level(logging.INFO)
    core = await build_core(load_settings(None), FakeClock(START), db_path=db)
    await core.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(key_file) in warnings[0] and f"chmod 600 {key_file}" in warnings[0]
    assert key_file.read_text().strip() not in warnings[0]
    key_file.chmod(0o600)
    caplog.clear()
    core = await build_core(load_settings(None), FakeClock(START), db_path=db)
    await core.close()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_real_process_and_check_warn_about_a_readable_key_file_and_database(tmp_path):
    db = tmp_path / "alongside.db"
    key_file = tmp_path / "alongside.db.key"
    assert run_console("/help\n", db).returncode == 0
    key_file.chmod(0o640)
    db.chmod(0o644)
    done = run_console("/help\n", db)
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if "chmod 600" in line]
    assert len(warnings) == 1, done.stderr
    assert str(db) in warnings[0] and str(key_file) in warnings[0]
    checked = check(tmp_path, db)
    assert checked.returncode == 0, checked.stdout
    assert any(line.startswith("warning:") and f"chmod 600 {db}" in line for line in checked.stdout.splitlines())
