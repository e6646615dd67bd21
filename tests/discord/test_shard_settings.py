"""Shard settings and flags: ranges parse, bad plans are one clear line and exit 2 before anything
is created, and shard flags are refused for the adapters that run as one process (Matrix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.discord.settings import DiscordSettings
from adapters.discord.shards import ShardPlan, format_shard_ids, parse_shard_ids, shard_of
from tests.discord.test_runner import one_clear_line, run


def test_shard_ranges_parse_and_print() -> None:
    assert parse_shard_ids("0-3") == [0, 1, 2, 3]
    assert parse_shard_ids("0-1, 4,6-7") == [0, 1, 4, 6, 7]
    assert format_shard_ids([0, 1, 2, 3, 6, 8, 9]) == "0-3,6,8-9"
    for bad in ("", "3-1", "a", "0-2,2", "-1"):
        with pytest.raises(ValueError):
            parse_shard_ids(bad)
    assert DiscordSettings(shard_ids="4-7", shard_count=8).shard_ids == [4, 5, 6, 7]
    assert DiscordSettings(shard_ids=[0], shard_count=1).shard_ids == [0]


def test_a_process_on_a_range_owns_only_the_discord_servers_on_it() -> None:
    guild = (123 << 22) | 77  # shard 123 % 8 == 3
    assert shard_of(guild, 8) == 3
    plan = ShardPlan(8, (2, 3))
    assert plan.owns("discord", str(guild))
    assert not ShardPlan(8, (0, 1)).owns("discord", str(guild))
    assert not plan.owns("matrix", "!room:example.org") and not plan.owns("console", "demo")
    assert not plan.owns("discord", "not-a-number")
    everything = ShardPlan(8)
    assert everything.owns("discord", str(guild)) and not everything.owns("matrix", "!room:example.org")
    assert plan.describe() == "shards 2-3 of 8" and everything.describe() == "all 8 shards"


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--shard-ids", "0-3"], "needs shard_count"),
        (["--shard-ids", "8", "--shard-count", "8"], "not below shard_count 8"),
        (["--shard-ids", "0-x", "--shard-count", "8"], "not a shard id or a range"),
        (["--shard-count", "0"], "shard_count"),
    ],
)
async def test_bad_shard_flags_are_one_line_and_exit_2(tmp_path: Path, flags: list[str], fragment: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "a.db"}"\n')
    code, _, err = await run("run", "--adapter", "discord", "--config", str(config), *flags, token="x.y.z")
    assert code == 2 and fragment in one_clear_line(err)
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize("adapter", ["matrix", "console"])
async def test_shard_flags_are_refused_for_one_process_adapters(tmp_path: Path, adapter: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "a.db"}"\n')
    code, _, err = await run(
        "run", "--adapter", adapter, "--config", str(config), "--shard-ids", "0", "--shard-count", "2", token=None
    )
    line = one_clear_line(err)
    assert code == 2 and "for Discord only" in line and "one process" in line
    assert not (tmp_path / "a.db").exists()


async def test_discord_requiring_more_shards_stops_with_one_line(tmp_path: Path) -> None:
    """Discord closes with 4011 when a shard would hold too many servers: restarting cannot help,
    so the process stops with one line and exit code 2 (and systemd does not loop)."""
    from tests.discord.test_runner import write_config
    from tests.discord_loopback.server import LoopbackDiscord

    server = await LoopbackDiscord().start()
    try:
        server.max_guilds_per_shard = 1
        for n in range(2):
            server.add_guild(f"space {n}", shard=(0, 2))
        config = write_config(tmp_path / "c.toml", server)
        code, _, err = await run(
            "run", "--adapter", "discord", "--config", str(config), "--shard-ids", "0", "--shard-count", "2",
            token=server.token,
        )
    finally:
        await server.stop()
    assert code == 2 and "Traceback" not in err, err[-2000:]
    problems = [line for line in err.splitlines() if line.startswith("alongside: ")]
    assert problems == ["alongside: Discord requires more shards for this bot (close code 4011, sharding required): raise shard_count"]


async def test_closing_while_shards_are_still_launching_stops_promptly(caplog) -> None:
    """discord.py launches shards one after another (5 s apart by default, Discord's identify
    pace) and retries a failed launch forever: a SIGTERM during start-up must end the process
    promptly, with no shard left connected and nothing logged as an error."""
    import asyncio
    import time

    from adapters.discord.client import ShardedAlongsideClient
    from tests.discord.conftest import eventually
    from tests.discord_loopback.conftest import point_discord_py_at
    from tests.discord_loopback.server import LoopbackDiscord

    server = await LoopbackDiscord().start()
    try:
        with point_discord_py_at(server.api_base, server.gateway_url):
            server.add_guild("Peer Space")
            client = ShardedAlongsideClient(None, guild_ready_timeout=0.5, shard_count=3, reidentify_delay=2.0)
            await client.login(server.token)
            task = asyncio.create_task(client.connect())
            await eventually(lambda: server.identify_payloads, timeout=5)
            started = time.monotonic()
            await client.close()  # shard 0 is up, shard 1 waits its turn to identify
            await asyncio.wait_for(task, 5)
            assert time.monotonic() - started < 1.5
            await asyncio.sleep(2.5)  # past shard 1's turn: it must not connect after the close
            assert [p.get("shard") for p in server.identify_payloads] == [[0, 3]]
            assert not [s for s in server.gateway.live_sessions() if s.conn is not None]
    finally:
        await server.stop()
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [r.getMessage() for r in caplog.records]
