"""The test PostgreSQL itself: it runs unprivileged, on loopback, tuned for tests; each test's
database is its own; it dies with the process that started it; and a server left behind by a
killed run is cleaned up by the next."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.storage.db import available_migrations, open_database
from tests.child_server import start_time
from tests.harness import make_harness
from tests.pg_harness.databases import TEMPLATE, PgDatabases
from tests.pg_harness.server import PostgresServer

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    if start_time(pid) is None:
        return False
    # A zombie (dead, not yet reaped by whoever its parent is now) counts as dead.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _wait_dead(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A base folder of the test's own (not under pytest's tmp_path, which the unprivileged
    server could not reach), so its stale-server sweep sees only this test's servers."""
    folder = Path(tempfile.gettempdir()) / f"alongside-pg-selftest-{uuid.uuid4().hex[:8]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_server_runs_unprivileged_on_loopback_tuned_for_tests(pg_server: PostgresServer) -> None:
    status = Path(f"/proc/{pg_server.pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid != 0
    if os.geteuid() == 0:
        assert pg_server.user == "postgres"
        assert pg_server.psql("SELECT current_user") == "postgres"
    else:
        assert uid == os.geteuid()
    assert pg_server.psql("SHOW listen_addresses") == "127.0.0.1"
    assert pg_server.psql("SHOW unix_socket_directories") == ""
    for setting in ("fsync", "synchronous_commit", "full_page_writes"):
        assert pg_server.psql(f"SHOW {setting}") == "off"
    assert oct(pg_server.data_dir.stat().st_mode & 0o777) == oct(0o700)


async def test_each_fresh_database_is_migrated_and_its_own(pg_databases: PgDatabases) -> None:
    first, second = await pg_databases.fresh(), await pg_databases.fresh()
    assert first != second
    newest = available_migrations()[-1][0]
    a = await asyncpg.connect(first)
    b = await asyncpg.connect(second)
    try:
        for conn in (a, b):
            assert await conn.fetchval("SELECT MAX(version) FROM schema_version") == newest
        await a.execute("CREATE TABLE only_in_first (x INTEGER)")
        await a.execute("INSERT INTO schema_version (version) VALUES (99999)")
        assert await b.fetchval("SELECT to_regclass('only_in_first')") is None
        assert await b.fetchval("SELECT MAX(version) FROM schema_version") == newest
    finally:
        await a.close()
        await b.close()
    # The template is untouched by what a test wrote.
    third = await pg_databases.fresh()
    c = await asyncpg.connect(third)
    try:
        assert await c.fetchval("SELECT to_regclass('only_in_first')") is None
        assert await c.fetchval("SELECT MAX(version) FROM schema_version") == newest
    finally:
        await c.close()
    for url in (first, second, third):
        await pg_databases.drop(url)
    names = {r.strip() for r in pg_databases.server.psql("SELECT datname FROM pg_database").splitlines()}
    assert not {u.rsplit("/", 1)[1] for u in (first, second, third)} & names
    assert TEMPLATE in names


async def test_a_harness_on_postgresql_keeps_nothing_of_the_previous_test(store, tmp_path) -> None:
    """Run twice in a row per engine: whatever the first run wrote, the second never sees."""
    for attempt in range(2):
        h = await make_harness(tmp_path / str(attempt))
        try:
            assert await h.db.fetchall("SELECT id FROM communities") == []
            await h.run("alex", "setup questions channel circle")
            assert await h.db.fetchall("SELECT id FROM communities") != []
        finally:
            await h.close()


_OWNER = """
import sys, time
from pathlib import Path
from tests.pg_harness.server import PostgresServer
server = PostgresServer(base_dir=Path(sys.argv[1]), die_with_parent=sys.argv[2] == "1").start()
print(server.pid, server.folder, flush=True)
time.sleep(600)
"""


def _start_owner(base_dir: Path, die_with_parent: bool) -> tuple[subprocess.Popen[str], int, Path]:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(base_dir), "1" if die_with_parent else "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    pid, folder = owner.stdout.readline().split()
    return owner, int(pid), Path(folder)


def test_the_server_dies_with_the_process_that_started_it(base_dir: Path) -> None:
    owner, postmaster, folder = _start_owner(base_dir, die_with_parent=True)
    assert _alive(postmaster)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert _wait_dead(postmaster), "postgres outlived the test process that started it"


def test_a_stale_server_from_a_killed_run_is_cleaned_up_on_start(base_dir: Path) -> None:
    # A server whose owner was killed before it could ask for the parent-death signal: it
    # lives on, as one would after a run killed in the middle of set-up.
    owner, postmaster, folder = _start_owner(base_dir, die_with_parent=False)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    time.sleep(0.5)
    assert _alive(postmaster) and folder.is_dir()
    server = PostgresServer(base_dir=base_dir)
    try:
        server.start()
        assert server.removed_stale == [folder]
        assert _wait_dead(postmaster)
        assert not folder.exists()
        assert server.psql("SELECT 1") == "1"
    finally:
        server.cleanup()
    assert [p.name for p in base_dir.iterdir()] == [".lock"]


async def test_fresh_databases_are_fast(pg_databases: PgDatabases, capsys) -> None:
    """Cloning the migrated template beats migrating from empty (figures shown at the end)."""
    await pg_databases.drop(await pg_databases.fresh())  # the template exists

    admin = await asyncpg.connect(pg_databases.server.url())
    try:
        began = time.monotonic()
        await admin.execute("CREATE DATABASE from_empty")
        db = await open_database(pg_databases.server.url("from_empty"))
        await db.close()
        migrated = time.monotonic() - began
        await admin.execute("DROP DATABASE from_empty WITH (FORCE)")
    finally:
        await admin.close()
    clones = []
    for _ in range(5):
        began = time.monotonic()
        url = await pg_databases.fresh()
        clones.append(time.monotonic() - began)
        await pg_databases.drop(url)
    clone = sorted(clones)[len(clones) // 2]
    assert clone < migrated
    with capsys.disabled():
        print(
            f"\nPostgreSQL for tests: server up in {pg_databases.server.timings['start']:.2f} s"
            f" (initdb {pg_databases.server.timings['initdb']:.2f} s); a database migrated from"
            f" empty {migrated * 1000:.0f} ms, cloned from the template {clone * 1000:.0f} ms (median of 5)"
        )
