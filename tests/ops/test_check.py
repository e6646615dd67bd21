"""`alongside check` catches what would fail at start, names the setting or variable, never shows
a traceback, and exits 0 (fine), 1 (a setting, variable or prompt), 2 (the database would be
refused) or 3 (--online: the server is unreachable or refuses the token)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALONGSIDE_") or "SYNAPSE" in k}
    result = subprocess.run(
        [sys.executable, "-m", "alongside", "check", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def matrix_config(tmp_path: Path, homeserver: str = "https://matrix.example.org") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "data/alongside.db"\n[matrix]\nhomeserver = "{homeserver}"\n'
        'user_id = "@alongside:example.org"\nstore_path = "data/matrix-store"\n'
    )
    return config


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_misspelt_variable_is_named(tmp_path):
    result = check("--config", str(matrix_config(tmp_path)), env={"ALONGSIDE_MATRIX__HOMSERVER": "https://x.org"})
    assert result.returncode == 1
    assert "ALONGSIDE_MATRIX__HOMSERVER: no such setting" in result.stdout
    assert "did you mean ALONGSIDE_MATRIX__HOMESERVER?" in result.stdout


def test_a_secret_in_the_file_says_which_variable(tmp_path):
    config = matrix_config(tmp_path)
    config.write_text(config.read_text() + 'access_token = "syt_secret_value"\n')
    result = check("--config", str(config))
    assert result.returncode == 1
    assert "matrix.access_token" in result.stdout and "put this in ALONGSIDE_MATRIX_ACCESS_TOKEN" in result.stdout
    assert "syt_secret_value" not in result.stdout + result.stderr


def test_the_chosen_adapter_needs_its_settings(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "data/alongside.db"\n')
    matrix = check("--config", str(config), "--adapter", "matrix")
    assert matrix.returncode == 1
    assert "[matrix] homeserver is not set" in matrix.stdout and "[matrix] user_id is not set" in matrix.stdout
    assert "ALONGSIDE_MATRIX_ACCESS_TOKEN" in matrix.stdout
    discord = check("--config", str(config), "--adapter", "discord")
    assert discord.returncode == 1 and "ALONGSIDE_DISCORD_TOKEN" in discord.stdout
    # Without --adapter nothing adapter-specific is asked for; with everything given, ok.
    assert check("--config", str(config)).returncode == 0
    ready = check("--config", str(matrix_config(tmp_path)), "--adapter", "matrix",
                  env={"ALONGSIDE_MATRIX_ACCESS_TOKEN": "syt_x"})
    assert ready.returncode == 0 and ready.stdout.strip().endswith("ok")
    assert check("--config", str(config), "--adapter", "discord",
                 env={"ALONGSIDE_DISCORD_TOKEN": "abc"}).returncode == 0


def test_a_data_key_that_does_not_open_the_database_exits_2(tmp_path):
    config = matrix_config(tmp_path)
    made = subprocess.run(
        [sys.executable, "-m", "alongside", "run", "--config", str(config), "--start", "2026-01-05T09:00"],
        input="alex: /help\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (tmp_path / "data" / "alongside.db").exists(), made.stderr
    assert check("--config", str(config)).returncode == 0
    wrong = "A" * 43 + "="
    result = check("--config", str(config), env={"ALONGSIDE_DATA_KEY": wrong})
    assert result.returncode == 2 and "ALONGSIDE_DATA_KEY does not open the database" in result.stdout
    # A database a newer release used is refused as `run` would.
    conn = sqlite3.connect(tmp_path / "data" / "alongside.db")
    conn.execute("INSERT INTO schema_version (version) VALUES (9999)")
    conn.commit()
    conn.close()
    newer = check("--config", str(config))
    assert newer.returncode == 2 and "schema version 9999" in newer.stdout


def test_online_unreachable_homeserver_and_discord_exit_3(tmp_path):
    port = closed_port()
    config = matrix_config(tmp_path, f"http://127.0.0.1:{port}")
    result = check("--config", str(config), "--adapter", "matrix", "--online",
                   env={"ALONGSIDE_MATRIX_ACCESS_TOKEN": "syt_x"})
    assert result.returncode == 3
    assert f"cannot reach the Matrix homeserver at http://127.0.0.1:{port}" in result.stdout
    config.write_text(f'[discord]\napi_base = "http://127.0.0.1:{port}/api/v10"\n')
    result = check("--config", str(config), "--adapter", "discord", "--online",
                   env={"ALONGSIDE_DISCORD_TOKEN": "abc.def"})
    assert result.returncode == 3 and f"cannot reach Discord at http://127.0.0.1:{port}/api/v10" in result.stdout
    assert "abc.def" not in result.stdout + result.stderr
