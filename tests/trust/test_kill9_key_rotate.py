"""`alongside key rotate` is all or nothing under kill -9: the real command is killed at every kind
of step it takes (each SQL statement it sends, before and after each fsync, link, rename and unlink)
and afterwards exactly one of the old and new keys opens the database, every value decrypts with
that one and none with the other, the key file (or the pending new key beside it) agrees with the
database, and the next start leaves the key file holding the one key that opens it."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from alongside.runtime import open_store
from alongside.settings import load_settings
from bot.clock import FakeClock
from bot.storage.crypto import encode_key, pending_key_file, read_key_file
from bot.storage.db import Database
from bot.storage.keycheck import opens, stored_check
from tests.e2e.console import ROOT
from tests.harness import START, TEST_KEY
from tests.trust.encrypted_world import build
from tests.trust.test_key_rotate import opened_by

# Runs `alongside key rotate` and SIGKILLs itself at its Nth step; prints the steps it took.
KILLER = r"""
import os, signal, sys
import aiosqlite

target = int(sys.argv[1])
steps = []

def step(label):
    steps.append(label)
    if len(steps) == target:
        os.kill(os.getpid(), signal.SIGKILL)

real_execute = aiosqlite.Connection.execute

async def execute(self, sql, *args, **kwargs):
    step("sql:" + sql.split()[0].upper())
    return await real_execute(self, sql, *args, **kwargs)

aiosqlite.Connection.execute = execute
for name in ("fsync", "link", "replace", "unlink"):
    def wrapped(*args, _real=getattr(os, name), _name=name, **kwargs):
        step(_name)
        result = _real(*args, **kwargs)
        step(_name + ":done")
        return result
    setattr(os, name, wrapped)

from alongside.cli import main
code = main(sys.argv[2:])
sys.stderr.write("steps=" + ",".join(steps) + "\n")
sys.exit(code)
"""

POINTS = 24


def rotate_killed_at(folder: Path, point: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(point), "key", "rotate", "--db", str(folder / "alongside.db")],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


async def template(tmp_path: Path) -> Path:
    """A lived-in database with its key file and check value, closed (no -wal left)."""
    folder = tmp_path / "template"
    folder.mkdir()
    h = await build(folder)
    await h.close()
    (folder / "alongside.db.key").write_text(encode_key(TEST_KEY) + "\n")
    (folder / "alongside.db.key").chmod(0o600)
    db, _, lock = await open_store(load_settings(None), FakeClock(START), folder / "alongside.db")
    await db.close()
    lock.release()
    assert not Path(f"{folder}/alongside.db-wal").exists()
    return folder


def copy(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in ("alongside.db", "alongside.db.key"):
        shutil.copy2(source / name, target / name)
    return target


def choose_points(steps: list[str]) -> list[int]:
    """Every step that is not one of the many UPDATEs (BEGIN, COMMIT, checkpoint, file operations),
    and enough UPDATEs drawn at random to make POINTS."""
    special = [i for i, label in enumerate(steps, 1) if label != "sql:UPDATE"]
    updates = [i for i, label in enumerate(steps, 1) if label == "sql:UPDATE"]
    rng = random.Random(20261207)
    extra = rng.sample(updates, min(len(updates), max(0, POINTS - len(special))))
    return sorted({*special, *extra})


async def test_key_rotate_is_all_or_nothing_under_kill_9(tmp_path):
    source = await template(tmp_path)
    dry = copy(source, tmp_path / "dry")
    done = rotate_killed_at(dry, 0)
    assert done.returncode == 0, done.stderr
    steps = re.search(r"steps=(.*)", done.stderr).group(1).split(",")
    assert "sql:COMMIT" in steps and "replace" in steps
    points = choose_points(steps)
    assert len(points) >= 20, (len(points), steps)
    outcomes = {"old": 0, "new": 0}
    for point in points:
        folder = copy(source, tmp_path / f"kill{point}")
        killed = rotate_killed_at(folder, point)
        assert killed.returncode == -signal.SIGKILL, (point, steps[point - 1], killed.returncode, killed.stderr)
        key_file = folder / "alongside.db.key"
        pending = pending_key_file(key_file)
        on_disk = read_key_file(key_file)
        new = read_key_file(pending) if pending.exists() else (on_disk if on_disk != TEST_KEY else None)
        db = await Database.open(folder / "alongside.db")
        try:
            total = await opened_by(db, TEST_KEY) + (await opened_by(db, new) if new else 0)
            by_old = await opened_by(db, TEST_KEY)
            by_new = await opened_by(db, new) if new else 0
            assert {by_old, by_new} == {0, total} and total > 0, (point, steps[point - 1], by_old, by_new)
            winner = TEST_KEY if by_old else new
            check = await stored_check(db)
            assert check is not None and opens(winner, check), point
            # The key file agrees with the database, or the pending new key beside it does.
            assert on_disk == winner or (pending.exists() and read_key_file(pending) == winner), point
        finally:
            await db.close()
        outcomes["old" if winner == TEST_KEY else "new"] += 1
        # The next start (as `alongside run` does) leaves exactly the winning key in the key file.
        db, cipher, lock = await open_store(load_settings(None), FakeClock(START), folder / "alongside.db")
        try:
            assert read_key_file(key_file) == winner
            assert await opened_by(db, winner) == total
            leftovers = sorted(p.name for p in folder.iterdir() if "alongside.db.key" in p.name)
            assert leftovers == ["alongside.db.key"], (point, leftovers)
        finally:
            await db.close()
            lock.release()
    assert outcomes["old"] and outcomes["new"], outcomes
    print(f"key rotate killed at {len(points)} of {len(steps)} steps: {outcomes}")
