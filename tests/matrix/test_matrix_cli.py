"""`alongside run --adapter matrix` as a real process: it connects and answers, stops cleanly on
SIGTERM, and every start-up problem is one clear line and exit code 2. Also the password login
that keeps its token in the store."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.matrix.client import CREDENTIALS_FILE, login
from adapters.matrix.settings import MatrixSettings
from bot.config import ConfigError
from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ALONGSIDE_MATRIX_")
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _config(tmp_path: Path, homeserver: str, user_id: str) -> Path:
    config = tmp_path / "alongside.toml"
    config.write_text(
        "log_level = \"INFO\"\n"
        f"[storage]\npath = \"{tmp_path / 'data' / 'alongside.db'}\"\n"
        f"[matrix]\nhomeserver = \"{homeserver}\"\nuser_id = \"{user_id}\"\n"
        f"store_path = \"{tmp_path / 'store'}\"\nreconnect_max_seconds = 1.0\n"
    )
    return config


def _run(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alongside", "run", "--adapter", "matrix", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def _one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


async def test_cli_runs_answers_and_stops_on_sigterm(synapse, matrix_localpart, tmp_path):
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    config = _config(tmp_path, synapse.base_url, user.user_id)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alongside",
        "run",
        "--adapter",
        "matrix",
        "--config",
        str(config),
        cwd=ROOT,
        env=_env(ALONGSIDE_MATRIX_ACCESS_TOKEN=user.access_token),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    try:
        room = await kit.create_room(sam.client, name="circle", invite=[user.user_id])
        await kit.wait_for_member(sam.client, room, user.user_id, timeout=60)
        await bk.say(sam, room, "!help")
        _, answer = await bk.wait_bot(sam, user.user_id, "Here is what you can use", timeout=30)
        assert answer.source["content"]["format"] == "org.matrix.custom.html"
    finally:
        await kit.close_clients(sam)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    log = stderr.decode()
    assert process.returncode == 0, log[-3000:]
    assert user.access_token not in log and "Traceback" not in log
    assert "!help" not in log  # commands are never logged
    assert (tmp_path / "data" / "alongside.db").exists()


async def test_cli_wrong_token_exits_2(synapse, matrix_localpart, tmp_path):
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    config = _config(tmp_path, synapse.base_url, user.user_id)
    result = await asyncio.to_thread(
        _run, config, _env(ALONGSIDE_MATRIX_ACCESS_TOKEN="syt_not_a_real_token")
    )
    line = _one_line_exit_2(result)
    assert "did not accept ALONGSIDE_MATRIX_ACCESS_TOKEN (M_UNKNOWN_TOKEN)" in line
    assert "syt_not_a_real_token" not in result.stderr
    assert not (tmp_path / "data" / "alongside.db").exists()  # nothing was created


def test_cli_unreachable_homeserver_exits_2(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the bot tries it
    config = _config(tmp_path, f"http://127.0.0.1:{port}", "@bot:localhost")
    line = _one_line_exit_2(_run(config, _env(ALONGSIDE_MATRIX_ACCESS_TOKEN="syt_whatever")))
    assert f"cannot reach the Matrix homeserver at http://127.0.0.1:{port}" in line


def test_cli_bad_config_exits_2(tmp_path):
    config = tmp_path / "alongside.toml"
    config.write_text(f"[matrix]\nstore_path = \"{tmp_path / 'store'}\"\n")
    lines = _run(config, _env(ALONGSIDE_MATRIX_ACCESS_TOKEN="syt_x")).stderr
    assert "homeserver is not set" in lines and "user_id is not set" in lines
    config.write_text('[matrix]\nhomeserver = "matrix.example.org"\n')
    line = _one_line_exit_2(_run(config, _env()))
    assert "matrix.homeserver" in line and "https://" in line
    config.write_text('[matrix]\nhomeserver = "https://example.org"\nuser_id = "@bot:example.org"\n'
                      f'store_path = "{tmp_path / "store"}"\n')
    line = _one_line_exit_2(_run(config, _env()))
    assert "ALONGSIDE_MATRIX_ACCESS_TOKEN" in line


async def test_password_login_keeps_token_and_device_in_the_store(synapse, matrix_localpart, tmp_path):
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"), "a long test password")
    settings = MatrixSettings(
        homeserver=synapse.base_url, user_id=user.user_id, store_path=tmp_path / "store"
    )
    first = await login(settings, None, SecretStr("a long test password"))
    stored = tmp_path / "store" / CREDENTIALS_FILE
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert first.device_id and first.access_token != user.access_token
    again = await login(settings, None, None)  # no secret in the environment any more
    assert again == first

    with pytest.raises(ConfigError) as refused:
        await login(
            MatrixSettings(homeserver=synapse.base_url, user_id=user.user_id, store_path=tmp_path / "other"),
            None,
            SecretStr("not the password"),
        )
    assert "refused the password login" in refused.value.problems[0]
    with pytest.raises(ConfigError) as wrong_device:
        await login(settings.model_copy(update={"device_id": "SOMEOTHER"}), SecretStr(user.access_token), None)
    assert "belongs to device" in wrong_device.value.problems[0]
