"""Releases: shipped migrations never change, a database from a newer release is refused with one
line, and the version the program reports is the package's."""

import hashlib
import os
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from bot.storage.db import Database, NewerSchemaError, available_migrations

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "bot" / "storage" / "migrations"

# Every migration ever shipped, with the sha256 of its file. A shipped migration never changes
# (databases out there already ran it): fix mistakes in a new migration instead. When you add a
# migration, add its line here:  sha256sum bot/storage/migrations/NNNN_name.sql
SHIPPED = {
    "0001_core.sql": "5cb4fd433d1decadaf474bfce0f763c1d011a4376eac1b16bc57a5e5cd2942bb",
    "0002_pairing.sql": "c293c71b7a80e1ea758380a109d15df27b665d3b0a924cdb01e6f1d0e09d37f0",
    "0003_agreements.sql": "f67f5d16be1ca6650e5fda3dc8a740b1d8f140006f95560baf60577db9043aa2",
    "0004_adapter_state.sql": "760d7b1a21feb642ec11ecc7e96db9a96d492bd6a855a78c2a95c30efe4b0e38",
    "0005_retention_indexes.sql": "50658daea9c217b7a923e25cea08410688004e198e33f17700f6a30963f53689",
    "0006_command_indexes.sql": "1a6b400a5e48270988b59e8698687dc5c6c973c486f15d2578a618c2a5c5e833",
    "0007_key_check.sql": "4057fda6b25ecaf3482704c53e5d8eb9666d83604875cb3471b77bfc864ff812",
    "0008_never_reuse_ids.sql": "768b95731d0359df342ae8596a0a8b237791c46db41ed77dc335c259f03ef221",
    "0009_agreement_invitations_and_proposal_limits.sql": "21499caf817e82cdee3ab818298056cb8594e3f9e37bba25e4174c27d2eadf4a",
    "0013_community_resources.sql": "c97851aede18c2d25044cb3364c6c7b4e5716775ab378ee93b89d35e60daff80",
    "0015_space_change_withdrawn.sql": "0fa7816f7846b5d2c0778c003f7a0e9a13e91d05dbc81a0116f6385ac86f7c9b",
    "0016_question_depth.sql": "72c19d39f51792a7ff24da53ada277d9c1ed80cee604bf7dce3f80a52cd14eff",
    "0017_pair_preferences.sql": "0fdbf5bdab117c2a82a3c50ab00719f52465e8ca9ff1a37093fca28774143b4e",
    "0018_pair_circles.sql": "da93448b3da9943d10a864d9107c0b5d54278394e4be6f2717a898f9d518ed71",
    "0019_member_language.sql": "642829a9301c5d7d73c10130b2476790ad623b8a0b35bdbc62805b70042184e7",
    "0020_work_claims.sql": "f5887f28334ba173d0d8c1f1d5692751262472388e9460e657b8e1028c14a291",
    # PostgreSQL's own versions of migrations whose SQLite form it cannot run (table rebuilds).
    "postgresql/0008_never_reuse_ids.sql": "67fc17dc3029cd3c8f17228b397ee7fe46791e3f5db2451b030e7dc7873eb499",
    "postgresql/0015_space_change_withdrawn.sql": "98cc5d8abdaa203407e2530626b8464f1e9f7d6e6d6464b37c8adf0fc570ed3d",
}


def test_every_migration_file_is_listed_with_its_checksum():
    problems = []
    present = {
        path.relative_to(MIGRATIONS).as_posix(): path
        for path in [*MIGRATIONS.glob("*.sql"), *MIGRATIONS.glob("postgresql/*.sql")]
    }
    for name in sorted(present):
        digest = hashlib.sha256(present[name].read_bytes()).hexdigest()
        if name not in SHIPPED:
            problems.append(
                f"{name}: new migration not listed in SHIPPED in {__file__}; add"
                f' "{name}": "{digest}",'
            )
        elif SHIPPED[name] != digest:
            problems.append(
                f"{name}: changed after it shipped (sha256 {digest}, shipped {SHIPPED[name]});"
                " put the change in a new migration and restore this file"
            )
    for name in sorted(set(SHIPPED) - set(present)):
        problems.append(f"{name}: a shipped migration was removed or renamed; put it back")
    assert not problems, "\n".join(problems)
    shared = sorted(name for name in SHIPPED if "/" not in name)
    assert [name for _, name, _ in available_migrations()] == shared
    # A PostgreSQL version replaces a shared migration of the same number; it never adds one.
    assert [name for _, name, _ in available_migrations("postgresql")] == shared
    assert {name.removeprefix("postgresql/") for name in SHIPPED if "/" in name} <= set(shared)


async def test_a_database_from_a_newer_release_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "alongside.db"
    db = await Database.open(path)
    await db.close()
    newest = available_migrations()[-1][0]
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (newest + 1,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NewerSchemaError) as caught:
        await Database.open(path)
    line = str(caught.value)
    assert "\n" not in line and f"schema version {newest + 1}" in line and str(newest) in line
    assert "newer" in line and "nothing was changed" in line
    assert path.read_bytes() == before


def cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "alongside", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )


async def test_run_on_a_newer_database_exits_2_with_one_line(tmp_path):
    path = tmp_path / "alongside.db"
    db = await Database.open(path)
    await db.close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version (version) VALUES (9999)")
    conn.commit()
    conn.close()
    result = cli("run", "--db", str(path), "--start", "2026-01-05T09:00")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "schema version 9999" in lines[0] and "Traceback" not in result.stderr


def test_version_is_the_package_version():
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"alongside {metadata.version('alongside')}"
    assert metadata.version("alongside") != "0.0.0"
