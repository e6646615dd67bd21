"""A wrong or missing data key is noticed before anything is read or written: the real `alongside`
process refuses with one line and exit code 2, changes nothing, and never makes a new key beside
stored data. `alongside check` tells the same."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.storage.crypto import generate_key_text
from tests.e2e.console import ROOT, run_console

SCRIPT = "/questions suggest What helps you rest when the week is long?\n"
LATER = "/questions suggest Another question, written later?\n"


def dump(db: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(map(repr, conn.execute(f"SELECT * FROM {table}"))) for table in tables}
    finally:
        conn.close()


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("alongside: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Alongside:" not in done.stdout  # the bot never started
    return lines[0]


def check(tmp_path: Path, db: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "check.toml"
    config.write_text(f'[storage]\npath = "{db}"\n')
    return subprocess.run(
        [sys.executable, "-m", "alongside", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )


def test_a_wrong_key_in_the_environment_refuses_and_changes_nothing(tmp_path):
    db = tmp_path / "alongside.db"
    key = generate_key_text()
    assert run_console(SCRIPT, db, env={"ALONGSIDE_DATA_KEY": key}).returncode == 0
    before = dump(db)
    done = run_console(LATER, db, env={"ALONGSIDE_DATA_KEY": generate_key_text()})
    line = refused(done, "ALONGSIDE_DATA_KEY", str(db))
    assert key not in line
    assert dump(db) == before
    assert not (tmp_path / "alongside.db.key").exists()
    # The right key still works, and sees the first suggestion.
    again = run_console("/questions suggestions\n", db, env={"ALONGSIDE_DATA_KEY": key})
    assert again.returncode == 0, again.stderr


def test_a_wrong_key_file_refuses_and_is_left_alone(tmp_path):
    db = tmp_path / "alongside.db"
    key_file = tmp_path / "alongside.db.key"
    assert run_console(SCRIPT, db).returncode == 0
    key_file.write_text(generate_key_text() + "\n")
    wrong = key_file.read_text()
    before = dump(db)
    refused(run_console(LATER, db), str(key_file), "backup")
    assert key_file.read_text() == wrong
    assert dump(db) == before


def test_a_missing_key_file_beside_stored_data_refuses_and_makes_no_new_key(tmp_path):
    db = tmp_path / "alongside.db"
    key_file = tmp_path / "alongside.db.key"
    assert run_console(SCRIPT, db).returncode == 0
    key = key_file.read_text()
    key_file.unlink()
    before = dump(db)
    refused(run_console(LATER, db), str(key_file), "missing")
    assert not key_file.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if ".key" in p.name) == []
    assert dump(db) == before
    key_file.write_text(key)  # put back from the backup: all is well
    assert run_console(LATER, db).returncode == 0


def test_the_env_key_that_does_not_match_while_the_key_file_does_says_so(tmp_path):
    db = tmp_path / "alongside.db"
    assert run_console(SCRIPT, db).returncode == 0
    line = refused(run_console(LATER, db, env={"ALONGSIDE_DATA_KEY": generate_key_text()}), "unset")
    assert str(tmp_path / "alongside.db.key") in line


def test_a_new_database_records_a_check_value_that_is_not_the_key(tmp_path):
    db = tmp_path / "alongside.db"
    key = generate_key_text()
    assert run_console(SCRIPT, db, env={"ALONGSIDE_DATA_KEY": key}).returncode == 0
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, value FROM key_check").fetchall()
    conn.close()
    assert len(rows) == 1 and rows[0][1][:1] == b"\x01"
    import base64

    raw = base64.urlsafe_b64decode(key + "==")
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("alongside.db"))
    assert raw not in files and key.encode() not in files


def _make_legacy(db: Path) -> None:
    """As a database from before the key check: no check value, no migration 7."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE IF EXISTS key_check")
    conn.execute("DELETE FROM schema_version WHERE version = 7")
    conn.commit()
    conn.close()


def test_a_database_from_before_the_check_gets_one_only_for_a_key_that_opens_its_data(tmp_path):
    db = tmp_path / "alongside.db"
    key = generate_key_text()
    assert run_console(SCRIPT, db, env={"ALONGSIDE_DATA_KEY": key}).returncode == 0
    _make_legacy(db)
    refused(run_console(LATER, db, env={"ALONGSIDE_DATA_KEY": generate_key_text()}), "ALONGSIDE_DATA_KEY")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'key_check'").fetchone()[0] in (0, 1)
    assert conn.execute("SELECT COUNT(*) FROM question_suggestions").fetchone()[0] == 1
    conn.close()
    assert run_console(LATER, db, env={"ALONGSIDE_DATA_KEY": key}).returncode == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM key_check").fetchone()[0] == 1
    conn.close()
    # From now on the check value decides: a wrong key is refused at once.
    refused(run_console(LATER, db, env={"ALONGSIDE_DATA_KEY": generate_key_text()}), "ALONGSIDE_DATA_KEY")


def test_a_database_from_before_the_check_with_nothing_encrypted_accepts_the_key(tmp_path):
    db = tmp_path / "alongside.db"
    assert run_console("/help\n", db, env={"ALONGSIDE_DATA_KEY": generate_key_text()}).returncode == 0
    _make_legacy(db)
    assert run_console("/help\n", db, env={"ALONGSIDE_DATA_KEY": generate_key_text()}).returncode == 0


def test_check_verifies_the_key_against_the_database(tmp_path):
    db = tmp_path / "data" / "alongside.db"
    key = generate_key_text()
    # No database yet: nothing to verify, and nothing is created.
    fresh = check(tmp_path, db, {"ALONGSIDE_DATA_KEY": key})
    assert fresh.returncode == 0 and fresh.stdout.strip().endswith("ok"), fresh.stdout
    assert not db.exists()
    db.parent.mkdir()
    assert run_console(SCRIPT, db, env={"ALONGSIDE_DATA_KEY": key}).returncode == 0
    good = check(tmp_path, db, {"ALONGSIDE_DATA_KEY": key})
    assert good.returncode == 0 and good.stdout.strip().endswith("ok"), good.stdout
    before = dump(db)
    bad = check(tmp_path, db, {"ALONGSIDE_DATA_KEY": generate_key_text()})
    assert bad.returncode == 2, (bad.stdout, bad.stderr)
    assert "ALONGSIDE_DATA_KEY does not open the database" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr
    missing = check(tmp_path, db)  # no env key and no key file beside the data
    assert missing.returncode == 2 and "missing" in missing.stdout, missing.stdout
    assert not (db.parent / "alongside.db.key").exists()
    assert dump(db) == before


def test_a_malformed_key_is_refused_before_anything_is_created(tmp_path):
    db = tmp_path / "alongside.db"
    refused(run_console("/help\n", db, env={"ALONGSIDE_DATA_KEY": "c2hvcnQ"}), "ALONGSIDE_DATA_KEY", "32 bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "alongside.db.key").write_text("not a key at all\n")
    refused(run_console("/help\n", db), "alongside.db.key")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alongside.db.key"]
