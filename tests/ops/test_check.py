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



def _prompts_with_spanish(tmp_path: Path, *, many: bool = True) -> Path:
    """The shipped English and a Spanish folder complete against it, written from English's own
    messages (translation is not what is tested here: which keys, placeholders and ids are)."""
    import json
    import shutil
    import tomllib

    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "en", prompts / "en")
    shutil.copytree(ROOT / "prompts" / "en", prompts / "es")
    (prompts / "es" / "formats.toml").write_text('cldr = "es"\n')

    def dotted(table: dict, prefix: str = "") -> list[str]:
        lines = []
        for key, value in table.items():
            name = f"{prefix}{json.dumps(key)}"
            if isinstance(value, dict) and "plural" in value:
                forms = dict(value) | ({"many": value["other"]} if many else {})  # Spanish's CLDR `many`
                lines.append(f"{name} = {{ {', '.join(f'{json.dumps(k)} = {json.dumps(v)}' for k, v in forms.items())} }}")
            elif isinstance(value, dict):
                lines += dotted(value, name + ".")
            else:
                lines.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
        return lines

    for path in (prompts / "es").glob("messages*.toml"):
        path.write_text("\n".join(dotted(tomllib.loads(path.read_text()))) + "\n")
    return prompts


def test_check_fails_when_a_locale_misses_a_key_a_placeholder_or_a_question_id(tmp_path):
    import re
    import shutil

    prompts = _prompts_with_spanish(tmp_path)
    messages = prompts / "es" / "messages.toml"
    text = messages.read_text()
    text = text.replace('"now_done" = "', '"now_gone" = "', 1)  # one key missing, one extra
    text = text.replace('"bad_time" = "\\"{given}\\"', '"bad_time" = "\\"{dado}\\"', 1)  # a placeholder renamed
    messages.write_text(text)
    bank = prompts / "es" / "questions.toml"
    first_id = re.search(r'id = "([^"]+)"', bank.read_text()).group(1)
    bank.write_text(bank.read_text().replace(f'id = "{first_id}"', 'id = "zz-1"', 1))
    shutil.copy(prompts / "en" / "circles.toml", prompts / "es" / "extra.toml")
    config = tmp_path / "config.toml"
    config.write_text(f'prompts_dir = "{prompts}"\n[storage]\npath = "{tmp_path / "a.db"}"\n')
    result = check("--config", str(config))
    assert result.returncode == 1
    coverage_lines = {line for line in result.stdout.splitlines() if line.startswith("prompts/es")}
    assert coverage_lines == {
        "prompts/es: message questions.now_done is missing",
        "prompts/es: message questions.now_gone is not in English (a key left over or misspelt?)",
        "prompts/es: message schedule.bad_time has other placeholders than English",
        f"prompts/es/questions.toml: question id {first_id} is missing",
        "prompts/es/questions.toml: question id zz-1 is not in English",
        "prompts/es/extra.toml: English has no such file",
    }, result.stdout


def test_check_names_a_spanish_plural_without_its_many_form(tmp_path):
    prompts = _prompts_with_spanish(tmp_path, many=False)
    config = tmp_path / "config.toml"
    config.write_text(f'prompts_dir = "{prompts}"\n[storage]\npath = "{tmp_path / "a.db"}"\n')
    result = check("--config", str(config))
    assert result.returncode == 1
    assert "schedule.days: plural needs its many form(s) in es" in result.stdout, result.stdout
    assert not any(line.startswith("prompts/es") for line in result.stdout.splitlines()), result.stdout
