"""Nothing is lost or doubled under crashes, on Matrix: the real `alongside run --adapter matrix`
process against the test Synapse, killed -9 and started again on the same files.

* A pairing round: killed twenty times while it opens the round's rooms and posts into them (17
  members: seven pairs and a triad). Then every member, from their own client, has been invited
  to exactly one pair room, the one recorded for their pair, and sees exactly one welcome there;
  the round's post is in the channel once. Kills land just after a visible step (a room appears
  to the members, is recorded, a message is delivered), which reaches the windows between
  creating a room and recording it and between sending a message and writing its receipt, or
  while the process is starting up again.
* Commands (in a plain and in an encrypted room): members type a series of commands that change
  state (`questions suggest`, `pair join` and its `yes`) or are refused, each after the answer
  to the one before, while the process is killed twenty times, shortly after a command was sent. Then each
  command's effect happened exactly once and each answer arrived exactly once (the event id is
  recorded with the command's effects, the answers go through the outbox with its id in the
  transaction id, which Synapse de-duplicates)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from nio import RoomMessageNotice, RoomMessageText

from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


class BotProcess:
    """The bot as a real process: started, killed -9, started again on the same files."""

    def __init__(self, tmp_path: Path, homeserver: str, user, *, encrypt_new_rooms: bool = False) -> None:
        self.user = user
        self.db = tmp_path / "data" / "alongside.db"
        self.log = tmp_path / "bot.log"
        self.config = tmp_path / "alongside.toml"
        self.config.write_text(
            'log_level = "INFO"\n'
            f'[storage]\npath = "{self.db}"\n'
            f'[matrix]\nhomeserver = "{homeserver}"\nuser_id = "{user.user_id}"\n'
            f'store_path = "{tmp_path / "store"}"\nreconnect_max_seconds = 1.0\n'
            f"encrypt_new_rooms = {'true' if encrypt_new_rooms else 'false'}\n"
        )
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.starts = 0
        self.baseline = 0  # outbox rows up to this id are not counted by `progress`

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALONGSIDE_MATRIX_")}
        env.update(PYTHONPATH=str(ROOT), ALONGSIDE_MATRIX_ACCESS_TOKEN=self.user.access_token)
        self.starts += 1
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "alongside",
                "run",
                "--adapter",
                "matrix",
                "--config",
                str(self.config),
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        self.started_at = time.monotonic()

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.process = None

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), 60)
        self.process = None
        return code

    def scalar(self, sql: str, params: tuple = ()) -> object:
        conn = sqlite3.connect(self.db, timeout=5)
        try:
            row = conn.execute(sql, params).fetchone()
            return None if row is None else row[0]
        finally:
            conn.close()

    def state(self, key: str) -> str:
        return str(
            self.scalar(
                "SELECT value FROM adapter_state WHERE platform = 'matrix' AND key = ?", (key,)
            )
        )

    def first_outbox_id(self) -> int:
        return int(self.scalar("SELECT MIN(id) FROM outbox WHERE id > ?", (self.baseline,)) or 0)

    def last_outbox_id(self) -> int:
        return int(self.scalar("SELECT MAX(id) FROM outbox") or 0)

    def groups(self) -> dict[str, tuple[str, ...]]:
        """space key -> the Matrix ids of its members, for round 1."""
        conn = sqlite3.connect(self.db, timeout=5)
        try:
            rows = conn.execute(
                "SELECT p.space_key, m.platform_user_id FROM pairs p"
                " JOIN pair_members pm ON pm.pair_id = p.id JOIN members m ON m.id = pm.member_id"
                " JOIN pair_rounds r ON r.id = p.round_id WHERE r.number = 1 AND p.origin IS NULL"
            ).fetchall()
        finally:
            conn.close()
        found: dict[str, list[str]] = {}
        for key, user_id in rows:
            found.setdefault(key, []).append(user_id)
        return {key: tuple(sorted(users)) for key, users in found.items()}

    def pair_rooms(self) -> dict[str, str]:
        conn = sqlite3.connect(self.db, timeout=5)
        try:
            return dict(conn.execute("SELECT space_key, channel_id FROM pair_space_channels"))
        finally:
            conn.close()

    def progress(self) -> tuple[int, int, int]:
        """(outbox rows, outbox rows delivered, pair rooms recorded)."""
        try:
            conn = sqlite3.connect(self.db, timeout=5)
            try:
                total, sent = conn.execute(
                    "SELECT COUNT(*), COUNT(sent_at) FROM outbox WHERE id > ?", (self.baseline,)
                ).fetchone()
                (rooms,) = conn.execute("SELECT COUNT(*) FROM pair_space_channels").fetchone()
            finally:
                conn.close()
        except sqlite3.OperationalError:
            return (0, 0, 0)
        return total, sent, rooms


MEMBERS = 17  # an odd number: seven pairs and one triad, eight rooms to open
ROOMS = 8
KILLS = 20
WELCOME = "This is your private space"
POST = "Pairing round 1 has begun"


def groups_member(members: list[kit.Member], group: tuple[str, ...]) -> kit.Member:
    return next(m for m in members if m.user_id in group)


def bot_invites(members: list[kit.Member], bot_id: str, known: set[str]) -> set[str]:
    """Rooms (other than `known` ones) the bot has invited any member to, as members see them."""
    rooms: set[str] = set()
    for member in members:
        for room_id, room in member.client.invited_rooms.items():
            if room.inviter == bot_id:
                rooms.add(room_id)
        for room_id, room in member.client.rooms.items():
            if bot_id in room.users or bot_id in room.invited_users:
                rooms.add(room_id)
    return rooms - known


def messages(member: kit.Member, bot_id: str, needle: str) -> list[tuple[str, str]]:
    """(room, event id) of every message from the bot this member received that says `needle`
    (one event that sync delivers twice is counted once)."""
    found = set()
    for room_id, event in bk.seen(member.client):
        if isinstance(event, (RoomMessageText, RoomMessageNotice)) and event.sender == bot_id:
            if needle in event.body:
                found.add((room_id, event.event_id))
    return sorted(found)


async def test_pairing_round_survives_kill_9(synapse, matrix_localpart, tmp_path):  # noqa: F811
    clock = time.monotonic()
    phases: list[str] = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - clock:.1f}s")

    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    bot = BotProcess(tmp_path, synapse.base_url, user)
    names = ["alex"] + [f"m{n}" for n in range(1, MEMBERS)]
    members = list(
        await asyncio.gather(
            *(
                kit.connect_member(synapse, matrix_localpart(n), tmp_path, encrypted=False)
                for n in names
            )
        )
    )
    alex = members[0]
    timeline: list[str] = []
    await bot.start()
    phase("members connected")
    try:
        room = await kit.create_room(
            alex.client,
            name="circle",
            encrypted=False,
            invite=[user.user_id, *(m.user_id for m in members[1:])],
        )
        await asyncio.gather(*(kit.accept_invite(m.client, room) for m in members[1:]))
        await kit.wait_for_member(alex.client, room, user.user_id, timeout=60)
        await bk.say(alex, room, "!setup pairing-channel circle")
        await bk.wait_bot(alex, user.user_id, "circle", timeout=30)

        private: dict[str, str] = {}

        async def join(member: kit.Member) -> None:
            await bk.say(member, room, "!pair join")
            private[member.user_id], _ = await bk.wait_bot(
                member, user.user_id, "Would you like to join?", timeout=60
            )
            await bk.say(member, private[member.user_id], "yes")
            await bk.wait_bot(
                member, user.user_id, "You're in", room_id=private[member.user_id], timeout=60
            )

        await asyncio.gather(*(join(m) for m in members))
        known = {room, *private.values()}
        phase("everyone joined pairing")

        def activity() -> tuple[int, ...]:
            return (*bot.progress(), len(bot_invites(members, user.user_id, known)))

        # The round: one command, then a fan-out of eight new rooms, their welcomes and a post
        # (and the answer to the command). What was queued before does not count.
        bot.baseline = bot.last_outbox_id()
        rng = random.Random(20260105)
        await bk.say(alex, room, "!pair now")
        began = time.monotonic()
        landed = 0  # kills that found work still undelivered
        while landed < KILLS:
            total, sent, rooms, _ = activity()
            if total and total == sent:
                break  # the fan-out is complete
            # About one room opens per kill after a visible step, so those kills are spread
            # over the rooms left; the others land while the process starts up again (loading
            # its store, logging in, syncing, catching up), so that twenty find work undelivered.
            rooms_left, kills_left = ROOMS - rooms, KILLS - landed
            if landed == 0 or (rooms_left > 1 and rng.random() < rooms_left / (kills_left + 2)):
                # Just after the next visible step (a room created, recorded, a message delivered).
                before = activity()
                deadline = time.monotonic() + 10
                while activity() == before and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(rng.uniform(0.0, 0.15))
            else:
                await asyncio.sleep(
                    max(0.0, bot.started_at + rng.uniform(0.2, 0.8) - time.monotonic())
                )
            at = activity()
            await bot.kill()
            landed += at[0] > at[1]
            timeline.append(f"{time.monotonic() - began:.2f}s {at}")
            await bot.start()
        phase(f"{len(timeline)} kills")
        print(
            "kills at (outbox rows, delivered, rooms recorded, rooms seen):", timeline, flush=True
        )

        # Let the last start finish the fan-out, then look from every member's client.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            total, sent, rooms = bot.progress()
            if total and total == sent:
                break
            await asyncio.sleep(0.1)
        await asyncio.gather(*(bk.wait_bot(m, user.user_id, WELCOME, timeout=60) for m in members))
        await asyncio.gather(
            *(bk.wait_bot(m, user.user_id, POST, room_id=room, timeout=60) for m in members)
        )
        await bk.quiet(2.0)  # anything sent twice would have arrived by now
        phase("everyone welcomed")

        assert landed >= KILLS, timeline
        total, sent, rooms = bot.progress()
        assert total == sent == ROOMS + 2 and rooms == ROOMS, (total, sent, rooms)
        # From the database: each member placed once, one triad, one room per pair.
        groups = bot.groups()
        assert sorted(len(g) for g in groups.values()) == [2] * (ROOMS - 1) + [3]
        assert sorted(m for g in groups.values() for m in g) == sorted(m.user_id for m in members)
        recorded = bot.pair_rooms()
        assert sorted(recorded) == sorted(groups) and len(set(recorded.values())) == ROOMS

        # From every member's client: one room opened for them, one welcome there, sent by the
        # bot into the room recorded for their pair; the round's post once in the channel.
        assert bot_invites(members, user.user_id, known) == set(recorded.values())
        post = messages(alex, user.user_id, POST)
        assert len(post) == 1 and post[0][0] == room, post
        for member in members:
            welcomes = messages(member, user.user_id, WELCOME)
            assert len(welcomes) == 1, (member.user_id, welcomes)
            (space,) = [key for key, group in groups.items() if member.user_id in group]
            assert welcomes[0][0] == recorded[space], member.user_id
            assert messages(member, user.user_id, POST) == post, member.user_id
        phase("checked")

        # Why a message offered again after a crash is not posted twice: deliveries are sent
        # with the outbox row in their transaction id (al.<salt>.o<outbox id>.<intent>.<n>),
        # and the homeserver answers a repeated transaction id with the event it already made.
        # Send the first welcome again, as a restarted bot would, and get the same event back.
        first_key = min(recorded, key=lambda key: int(key.rsplit("-", 1)[1]))
        first_room = recorded[first_key]
        (welcome,) = [
            w for w in messages(groups_member(members, groups[first_key]), user.user_id, WELCOME)
        ]
        txn = f"al.{bot.state('txn_salt')}.o{bot.first_outbox_id()}.0.0"
        again = await asyncio.to_thread(
            synapse.request,
            "PUT",
            f"/_matrix/client/v3/rooms/{quote(first_room)}/send/m.room.message/{quote(txn)}",
            {"msgtype": "m.text", "body": "offered again after a crash"},
            access_token=user.access_token,
        )
        assert again["event_id"] == welcome[1]
        await bk.quiet(1.0)
        assert len(messages(groups_member(members, groups[first_key]), user.user_id, WELCOME)) == 1

        assert await bot.stop() == 0  # and it still stops cleanly
        assert "Traceback" not in bot.log.read_text()
        print(phases, flush=True)
    finally:
        if bot.process is not None:
            await bot.kill()
        await kit.close_clients(*members)


SUGGESTIONS = 9  # per member, each after the answer to the one before (ten may wait at most)
THANKS = "Thank you. A facilitator will read your suggestion"
NOT_A_QUESTION = "Suggested questions end with a question mark"
PROMPT = "Would you like to join?"
JOINED = "You're in"
COMMAND_KILLS = 20


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_commands_survive_kill_9_exactly_once(synapse, matrix_localpart, tmp_path, encrypted):  # noqa: F811
    began = time.monotonic()
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    bot = BotProcess(tmp_path, synapse.base_url, user, encrypt_new_rooms=encrypted)
    names = ["alex", "sam", "jo"]
    members = list(
        await asyncio.gather(
            *(kit.connect_member(synapse, matrix_localpart(n), tmp_path, encrypted=encrypted) for n in names)
        )
    )
    await bot.start()
    rng = random.Random(20261207 + encrypted)
    sent = asyncio.Event()  # set whenever a member has just typed a command
    kills: list[str] = []
    try:
        owner = members[0]
        room = await kit.create_room(
            owner.client, name="circle", encrypted=encrypted, invite=[user.user_id, *(m.user_id for m in members[1:])]
        )
        await asyncio.gather(*(kit.accept_invite(m.client, room) for m in members[1:]))
        for member in members:
            await kit.wait_for_member(member.client, room, user.user_id, timeout=60)
            if encrypted:
                others = [m.user_id for m in members if m is not member]
                await kit.trust_all_devices(member.client, [user.user_id, *others])

        async def command(member: kit.Member, where: str, text: str, answer: str) -> str:
            mark = bk.mark(member)
            await bk.say(member, where, text)
            sent.set()
            found, _ = await bk.wait_bot(member, user.user_id, answer, after=mark, timeout=90)
            return found

        async def script(member: kit.Member, n: int) -> None:
            for k in range(SUGGESTIONS):
                await command(member, room, f"!questions suggest What did friend {n} teach you, part {k}?", THANKS)
                # A refusal: changes nothing, but its answer must arrive once too.
                await command(member, room, f"!questions suggest Friend {n}, part {k}", NOT_A_QUESTION)
            private = await command(member, room, "!pair join", PROMPT)
            await command(member, private, "yes", JOINED)

        scripts = asyncio.gather(*(script(m, n) for n, m in enumerate(members)))
        while len(kills) < COMMAND_KILLS and not scripts.done():
            sent.clear()
            waiting = asyncio.ensure_future(sent.wait())
            await asyncio.wait([waiting, scripts], return_when=asyncio.FIRST_COMPLETED, timeout=120)
            waiting.cancel()
            if scripts.done():
                break
            # Somewhere between the command arriving and its answer being delivered.
            await asyncio.sleep(rng.uniform(0.0, 0.4))
            handled = bot.scalar("SELECT COUNT(*) FROM seen_events")
            await bot.kill()
            kills.append(f"{time.monotonic() - began:.1f}s handled={handled}")
            await bot.start()
        await scripts
        await bk.quiet(2.0)  # anything sent twice would have arrived by now
        print(f"{len(kills)} kills in {time.monotonic() - began:.1f}s:", kills, flush=True)
        assert len(kills) >= COMMAND_KILLS, kills

        # Each command's effect happened once.
        assert bot.scalar("SELECT COUNT(*) FROM question_suggestions") == len(members) * SUGGESTIONS
        assert bot.scalar("SELECT COUNT(*) FROM pair_participants WHERE status = 'active'") == len(members)
        assert bot.scalar("SELECT COUNT(*) FROM pair_consents WHERE withdrawn_at IS NULL") == len(members)
        # Each answer arrived once, in the member's private room (Synapse counts a repeated
        # transaction id as the same event, and `messages` counts each event once).
        for member in members:
            thanks = messages(member, user.user_id, THANKS)
            refusals = messages(member, user.user_id, NOT_A_QUESTION)
            prompts = messages(member, user.user_id, PROMPT)
            joined = messages(member, user.user_id, JOINED)
            counts = (len(thanks), len(refusals), len(prompts), len(joined))
            assert counts == (SUGGESTIONS, SUGGESTIONS, 1, 1), (member.user_id, counts)
            assert len({r for r, _ in thanks + refusals + prompts + joined}) == 1, member.user_id
        assert bot.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0
        assert await bot.stop() == 0
        assert "Traceback" not in bot.log.read_text()
    finally:
        if bot.process is not None:
            await bot.kill()
        await kit.close_clients(*members)
