"""Exactly once on Discord under kill -9: the real `alongside run --adapter discord` process
delivers a question fan-out (eight questions in two channels, each with its thread) and a pairing
round (six private threads, one member who cannot be added and hears by direct message) to the
loopback Discord in this test process, which kills it with SIGKILL at spread points of that
traffic, either just before a request takes effect or just after it did but before the bot reads
the answer (the window where today a receipt is lost), then starts it again on the same database.

At the end: nothing pending in the outbox, every message and thread there exactly once: no
duplicate post, welcome or direct message, no second thread for a post or a pair, nothing lost.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.outbox import TransientDeliveryError
from bot.replies import ChannelPost, Delivery, PairSpaceOpen, PrivateMessage
from tests.discord.conftest import Bot, buttons, loopback, make_world, texts
from tests.discord.test_runner import ROOT, env, write_config
from tests.discord_loopback import payloads as P
from tests.discord_loopback.restkit import ApiError, Recorded
from tests.discord_loopback.server import LoopbackDiscord

pytestmark = pytest.mark.timeout(240)
__all__ = ["loopback"]  # the fixture: a loopback Discord in this process

PAIRING = ["alice", "bob", "carol", "dave"] + [f"m{n:02d}" for n in range(8)]  # twelve: six pairs
QUESTIONS_PER_CHANNEL = 4
MIN_KILLS_PER_FLOW = 10
# How far into each incarnation's delivery traffic the kill lands, and on which side of the
# request (before it acts / after it acted, unanswered); the plan repeats until all is delivered,
# reaching one request further each time a run ends with no new receipt (a delivery repeats its
# idempotent steps, such as adding a pair's members, before it gets further).
PLAN = [(2, "after"), (2, "before"), (3, "after"), (1, "after"), (2, "after"), (3, "before")]


def delivery_request(r: Recorded) -> bool:
    """A request that changes something on Discord for an outbox delivery (not an answer to an
    interaction, not the command sync)."""
    if r.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    return not r.path.startswith(("/interactions/", "/webhooks/", "/applications/"))


async def prepare(loopback: LoopbackDiscord, tmp: Path) -> tuple[Bot, list[Delivery]]:
    """In-process: members join pairing, then (with delivery held back) six questions are posted
    and a round is started, so the outbox holds the fan-outs the real process will deliver."""
    world = make_world(loopback, tmp)
    world.clock = FakeClock(datetime.now(UTC).replace(microsecond=0))  # no overdue jobs at start
    for name in PAIRING[3:]:
        world.users[name] = loopback.add_member(world.guild.id, None, name).user
    musings = loopback.add_channel(world.guild.id, "musings")
    await world.start()
    try:
        for name in PAIRING:
            prompt = await world.slash(name, "pair join")
            yes = next(c for c in buttons(prompt.original_message).values() if c.startswith("~yes:"))
            assert "You're in" in texts(await world.press(name, yes, message=prompt.original_message))
        assert "pairs" in await world.say("fay", "setup", {"setting": "pairing-channel", "value": "pairs"})
        loopback.fail_thread_member_add(world.uid("carol"))  # carol hears by direct message

        async def held(delivery: Delivery) -> None:
            raise TransientDeliveryError("held back for the test")

        assert world.adapter is not None
        world.adapter.deliver = held  # type: ignore[method-assign]
        for channel in (world.circle, musings):
            for _ in range(QUESTIONS_PER_CHANNEL):
                assert "posted" in (await world.say("fay", "questions now", channel=channel)).lower()
        assert "Round 1" in await world.say("fay", "pair now")
        pending = await world.app.outbox.pending()
    finally:
        await world.stop()
    return world, pending


def pending_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


async def test_kill9_during_question_and_pairing_fan_outs_loses_and_doubles_nothing(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    world, pending = await prepare(loopback, tmp_path)
    questions = [d.intent for d in pending if isinstance(d.intent, ChannelPost) and d.intent.thread_title]
    spaces = [d.intent for d in pending if isinstance(d.intent, PairSpaceOpen)]
    assert len(questions) == 2 * QUESTIONS_PER_CHANNEL and len(spaces) == len(PAIRING) // 2
    db = tmp_path / "alongside.db"
    config = write_config(tmp_path / "c.toml", loopback, guild_ids=f"[{world.guild.id}]", retry_seconds="0.5")
    by_name = {loopback.channels[c].name: c for c in world.guild.channel_ids}
    question_channels = {by_name["circle"], by_name["musings"]}

    process: asyncio.subprocess.Process | None = None
    kill: tuple[int, str] | None = None
    seen = 0
    kills: Counter[str] = Counter()
    logs: list[Path] = []
    trail: list[str] = []

    def flow_of(r: Recorded) -> str:
        parts = r.path.split("/")
        if len(parts) > 2 and parts[1] == "channels" and parts[2].isdigit():
            channel = loopback.channels.get(int(parts[2]))
            if channel is not None and {channel.id, channel.parent_id} & question_channels:
                return "questions"
        return "pairing"

    async def hook(r: Recorded, phase: str) -> None:
        nonlocal seen, kill
        if kill is None or process is None or process.returncode is not None or not delivery_request(r):
            return
        if phase == "before":
            seen += 1
        at, side = kill
        if seen == at and phase == side:
            kill = None
            process.send_signal(signal.SIGKILL)
            await process.wait()
            kills[flow_of(r)] += 1
            trail.append(f"{side} {r.method} {r.path} #{at}")
            if side == "before":  # killed before it reached Discord: it never happens
                raise ApiError(500, 0)

    loopback.request_hooks.append(hook)
    started = time.monotonic()
    step = stuck = 0
    try:
        while True:
            before = pending_count(db)
            at, side = PLAN[step % len(PLAN)]
            kill = (at + stuck, side) if before else None
            seen = 0
            log = tmp_path / f"run{step}.log"
            logs.append(log)
            with log.open("wb") as err:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "alongside", "run", "--adapter", "discord", "--config", str(config),
                    cwd=ROOT, env=env(loopback.token), stdout=asyncio.subprocess.DEVNULL, stderr=err,
                )
                deadline = time.monotonic() + 30
                while process.returncode is None and pending_count(db):
                    assert time.monotonic() < deadline, "delivery made no progress: " + "\n".join(
                        f"{r.method} {r.path} {r.status}" for r in loopback.requests[-12:]
                    ) + "\n" + "\n".join(trail)
                    await asyncio.sleep(0.05)
                if process.returncode is None:
                    kill = None
                    await asyncio.sleep(0.3)  # anything still in flight after the last receipt
                    process.send_signal(signal.SIGTERM)
                    assert await asyncio.wait_for(process.wait(), 20) == 0
                    break
            step += 1
            stuck = stuck + 1 if pending_count(db) == before else 0
            assert step < 40, "too many restarts: " + "\n".join(trail)
    finally:
        loopback.request_hooks.remove(hook)
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
    elapsed = time.monotonic() - started
    print(f"\nkill -9 on Discord: {dict(kills)} kill points, {step + 1} runs, {elapsed:.1f} s")
    for log in logs:
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
    assert kills["questions"] >= MIN_KILLS_PER_FLOW and kills["pairing"] >= MIN_KILLS_PER_FLOW, kills
    assert pending_count(db) == 0

    # -- exactly once ---------------------------------------------------------------------------
    bot_id = str(loopback.bot_user.id)
    posted = Counter(
        (m["channel_id"], m["content"])
        for m in loopback.messages.values()
        if m["author"]["id"] == bot_id and not int(m["flags"]) & (1 << 6) and "interaction_metadata" not in m
    )
    doubled = {key: n for key, n in posted.items() if n > 1}
    assert not doubled, f"posted more than once: {doubled}"

    for post in (d.intent for d in pending if isinstance(d.intent, ChannelPost)):
        channel_id = by_name[post.channel] if not post.channel.isdigit() else int(post.channel)
        found = [m for m in loopback.channel_messages(channel_id) if m["content"] == post.text]
        assert len(found) == 1, post.text
        thread = loopback.channels.get(int(found[0]["id"]))  # a post's thread shares its id
        assert (thread is not None and thread.type == P.CH_PUBLIC_THREAD) == bool(post.thread_title)
    public = [c for c in loopback.channels.values() if c.type == P.CH_PUBLIC_THREAD]
    assert len(public) == len(questions), "a second thread was started on a post"

    private = [c for c in loopback.channels.values() if c.type == P.CH_PRIVATE_THREAD]
    assert len(private) == len(spaces), f"{len(private)} private threads for {len(spaces)} pairs"
    carol = world.uid("carol")
    for space in spaces:
        wanted = {int(u) for u in space.member_ids} - {carol}
        threads = [t for t in private if t.members - {loopback.bot_user.id} == wanted and t.name == space.title]
        assert len(threads) == 1, space.title
        assert [m["content"] for m in loopback.channel_messages(threads[0].id)] == [space.text]
    carol_space = next(s for s in spaces if str(carol) in s.member_ids)
    carol_dms = [m["content"] for m in loopback.channel_messages(loopback.dm_channels[carol])]
    assert sum(carol_space.text in text for text in carol_dms) == 1
    for message in (d.intent for d in pending if isinstance(d.intent, PrivateMessage)):
        user = int(message.user_id)
        received = [m["content"] for m in loopback.channel_messages(loopback.dm_channels[user])]
        assert received.count(message.text) == 1, message.text
