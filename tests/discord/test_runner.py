"""`alongside run --adapter discord` and `alongside discord sync`, run as real processes against
the loopback Discord: one clear line and exit code 2 for every start-up problem, an explicit
sync that records the tree's hash, and a warning (never a sync) when the tree changed."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from adapters.discord.runner import warn_if_unsynced
from adapters.discord.sync import hash_key
from tests.discord.conftest import Bot, eventually, make_world
from tests.discord_loopback.server import LoopbackDiscord
from tests.harness import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
ALONGSIDE = [sys.executable, "-m", "alongside"]


def write_config(path: Path, server: LoopbackDiscord | None, **extra: str) -> Path:
    """A config file; `extra` holds [discord] keys as TOML values."""
    discord = {
        "api_base": f'"{server.api_base if server else "http://127.0.0.1:9/api/v10"}"',
        "gateway_url": f'"{server.gateway_url if server else "ws://127.0.0.1:9/gateway"}"',
        "guild_ready_timeout": "0.05",
        "reidentify_delay": "0",
    }
    discord.update(extra)
    lines = ["[storage]", f'path = "{path.parent / "alongside.db"}"', "[discord]"]
    lines += [f"{key} = {value}" for key, value in discord.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def env(token: str | None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("ALONGSIDE_")}
    out["ALONGSIDE_DATA_KEY"] = base64.urlsafe_b64encode(TEST_KEY).decode()
    if token is not None:
        out["ALONGSIDE_DISCORD_TOKEN"] = token
    return out


async def run(*args: str, token: str | None, timeout: float = 30) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *ALONGSIDE, *args, cwd=ROOT, env=env(token), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def one_clear_line(stderr: str) -> str:
    """The one line saying what is wrong (besides discord.py's "logging in" note at INFO)."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("alongside: "), stderr
    assert "migration" not in stderr, "nothing is created before the credentials are known good"
    return lines[0]


async def test_no_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", None)
    code, _, err = await run("run", "--adapter", "discord", "--config", str(config), token=None)
    assert code == 2 and "ALONGSIDE_DISCORD_TOKEN" in one_clear_line(err)


async def test_bad_token_is_one_line_and_exit_2(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", loopback)
    code, _, err = await run("run", "--adapter", "discord", "--config", str(config), token="not-the-token")
    line = one_clear_line(err)
    assert code == 2 and "did not accept the token" in line
    assert "not-the-token" not in err  # secrets never printed


async def test_unreachable_discord_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    config = tmp_path / "c.toml"
    config.write_text(
        f'[discord]\napi_base = "http://127.0.0.1:{port}/api/v10"\n'
        f'[storage]\npath = "{tmp_path / "a.db"}"\n'
    )
    code, _, err = await run("run", "--adapter", "discord", "--config", str(config), token="x.y.z")
    assert code == 2 and "cannot reach Discord" in one_clear_line(err)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"facilitator_rule": '"everyone"'}, "facilitator_rule"),
        ({"gateway_url": '"http://example.org"'}, "gateway_url"),
        ({"defer_after": "5"}, "defer_after"),
        ({"colour": '"blue"'}, "unknown setting"),
    ],
)
async def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, extra: dict[str, str], fragment: str) -> None:
    config = write_config(tmp_path / "c.toml", None, **extra)
    code, _, err = await run("run", "--adapter", "discord", "--config", str(config), token="x.y.z")
    assert code == 2 and fragment in one_clear_line(err)


async def test_wrong_application_id_is_one_line_and_exit_2(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", loopback, application_id="12345678901234567")
    code, _, err = await run("run", "--adapter", "discord", "--config", str(config), token=loopback.token)
    assert code == 2 and "application_id" in one_clear_line(err)


async def test_sync_registers_the_tree_and_records_its_hash(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    world = make_world(loopback, tmp_path)
    config = write_config(tmp_path / "c.toml", loopback)
    code, out, err = await run("discord", "sync", "--guild", str(world.guild.id), "--config", str(config), token=loopback.token)
    assert code == 0, err
    assert f"to server {world.guild.id}" in out
    registered = {c["name"] for c in loopback.commands[world.guild.id]}
    assert {"help", "questions", "pair", "agreement", "setup"} <= registered
    assert loopback.commands.get(None) in (None, [])

    code, out, err = await run("discord", "sync", "--config", str(config), token=loopback.token)
    assert code == 0 and "globally" in out
    assert {c["name"] for c in loopback.commands[None]} == registered

    # start-up compares the hash it finds with the tree it builds, and only warns
    await world.start(sync=False)
    try:
        assert world.adapter is not None
        assert world.settings.discord.guild_ids == [world.guild.id]
        assert await warn_if_unsynced(world.adapter) == []  # that server was synced above
        await world.adapter.state.put(hash_key(world.guild.id), "an older tree")
        puts = len(loopback.requests_to("PUT", f"/applications/{loopback.application_id}"))
        assert await warn_if_unsynced(world.adapter) == [world.guild.id]
        assert len(loopback.requests_to("PUT", f"/applications/{loopback.application_id}")) == puts
    finally:
        await world.stop()


async def test_the_bot_runs_as_a_process_and_stops_cleanly(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    world: Bot = make_world(loopback, tmp_path)
    config = write_config(tmp_path / "c.toml", loopback, guild_ids=f"[{world.guild.id}]")
    code, _, err = await run("discord", "sync", "--config", str(config), token=loopback.token)
    assert code == 0, err
    process = await asyncio.create_subprocess_exec(
        *ALONGSIDE, "run", "--adapter", "discord", "--config", str(config),
        cwd=ROOT, env=env(loopback.token), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await eventually(lambda: loopback.gateway.live_sessions() and loopback.identify_payloads, timeout=20)
        handle = await loopback.send_slash_command(world.guild.id, world.circle.id, world.uid("alice"), "help")
        callback = await handle.response(timeout=10)
        assert callback.ok and "/help [command]" in callback.json["data"]["content"]
        assert loopback.last_intents == 1  # GUILDS only: no privileged intents
    finally:
        process.send_signal(signal.SIGTERM)
        _, err_bytes = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err_bytes.decode()
    assert "Traceback" not in err_bytes.decode(), err_bytes.decode()[-3000:]
    assert "differs from" not in err_bytes.decode()  # synced just before: no warning


async def test_closing_before_ready_is_quiet(loopback: LoopbackDiscord, caplog) -> None:
    from adapters.discord.client import AlongsideClient

    loopback.add_guild("Peer Space")
    client = AlongsideClient(None, guild_ready_timeout=0.5)
    await client.login(loopback.token)
    task = asyncio.create_task(client.connect())
    await eventually(lambda: loopback.identify_payloads, timeout=5)
    await client.close()  # e.g. SIGTERM while still waiting for servers
    await asyncio.wait_for(task, 5)
    await asyncio.sleep(0.7)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
