"""The authorization matrix through the Matrix adapter, against the test Synapse: a representative
subset of test_authorization.py's cases, typed the way Matrix members type them (`!` commands in a
community room, bare commands in their private room with the bot).

Two community rooms share one bot: "circle" (alex created it: power 100, a facilitator; sam and jo
negotiate agreement A; carol has a pending suggestion) and "hall" (gus created it; sam is a member
of both). Every refusal is checked to change nothing in storage, send nothing to anyone else, and
name nobody and nobody's words.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.storage.db import Database
from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401
from tests.trust.authz_cases import fingerprint

pytestmark = pytest.mark.timeout(240)

WORDS = {
    "a_sam": "Tell me plainly qv42 when you need a pause.",
    "a_jo": "I like to be asked before advice jx19.",
    "suggest_circle": "What did zq11 teach you this week?",
    "suggest_hall": "Where did yb23 come from for you?",
}
TOKENS = ("qv42", "jx19", "zq11", "yb23")
# What the adapter keeps about the events it received (sync position, events already handled,
# links to private rooms): bookkeeping of the platform, not something a command changes.
BOOKKEEPING = ("adapter_state", "seen_events")
_ID = re.compile(r"#([0-9A-Z]{5})")


@dataclass
class Rooms:
    bot: bk.Bot
    members: dict[str, kit.Member]
    circle: str
    hall: str
    private: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, community room) -> room
    agreement: str = ""
    suggestions: dict[str, int] = field(default_factory=dict)
    jo_confirmation: int = 0

    def text(self, key: str, **params: Any) -> str:
        assert self.bot.app is not None
        return self.bot.app.catalog.text("en", key, prefix="!", **params)

    async def ask(self, name: str, room: str, line: str, expect: str) -> str:
        """Type `line` in `room` as `name`; the bot's answer (matching `expect`) in their private room."""
        member = self.members[name]
        seen = bk.mark(member)
        await bk.say(member, room, line)
        _, event = await bk.wait_bot(member, self.bot.user_id, expect, after=seen, timeout=30)
        return event.body


async def _storage(db: Database) -> dict[str, list[tuple]]:
    return {table: rows for table, rows in (await fingerprint(db)).items() if table not in BOOKKEEPING}


async def refused_quietly(world: Rooms, name: str, room: str, line: str, expected: str) -> None:
    """The answer is exactly `expected`, to `name` alone, and nothing changed or was sent."""
    bot = world.bot
    assert bot.db is not None
    await bot.idle()
    before = await _storage(bot.db)
    marks = {other: bk.mark(member) for other, member in world.members.items()}
    member = world.members[name]
    await bk.say(member, room, line)
    where, event = await bk.wait_bot(member, bot.user_id, lambda body: body == expected, after=marks[name], timeout=30)
    await bot.idle()
    await bk.quiet(0.5)
    assert where != room or room in world.private.values(), "answered privately"
    after = await _storage(bot.db)
    changed = [table for table, rows in after.items() if rows != before.get(table)]
    # The answer itself goes through the outbox (exactly once): its only trace is one receipt,
    # delivered, its content dropped (and the outbox's AUTOINCREMENT counter).
    new = len(after.get("outbox", [])) - len(before.get("outbox", []))
    kept = await bot.db.fetchone(
        "SELECT COUNT(*) FROM (SELECT * FROM outbox ORDER BY id DESC LIMIT 1)"
        " WHERE sent_at IS NOT NULL AND length(payload) = 0"
    )
    if new == 1 and kept is not None and kept[0] == 1:
        changed = [table for table in changed if table not in ("outbox", "sqlite_sequence")]
    assert changed == [], (name, line, changed)
    answers = [e.body for e in bk.bot_messages(member, bot.user_id, after=marks[name])]
    assert answers == [expected], (name, line, answers)
    for other, someone in world.members.items():
        if other != name:
            assert bk.bot_messages(someone, bot.user_id, after=marks[other]) == [], (name, line, other)
    localparts = [m.user.localpart for other, m in world.members.items() if other != name]
    shown = [word for word in (*TOKENS, *localparts) if word in expected]
    assert shown == [], (name, line, shown)


@pytest.fixture
async def world(synapse, matrix_localpart, tmp_path: Path) -> AsyncIterator[Rooms]:  # noqa: F811
    names = ("alex", "sam", "jo", "carol", "gus")
    members = {name: await kit.connect_member(synapse, matrix_localpart(name), tmp_path) for name in names}
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        circle = await bk.community_room(
            bot, [members[n] for n in ("alex", "sam", "jo", "carol")], encrypted=False, name="circle"
        )
        hall = await bk.community_room(bot, [members["gus"], members["sam"]], encrypted=False, name="hall")
        rooms = Rooms(bot, members, circle, hall)
        # Everyone meets the bot (and gets their private room) where they are.
        for name, room in (("alex", circle), ("sam", circle), ("jo", circle), ("carol", circle), ("gus", hall), ("sam", hall)):
            seen = bk.mark(members[name])
            await bk.say(members[name], room, "!help resources")
            private, _ = await bk.wait_bot(members[name], bot.user_id, bk.help_for("resources"), after=seen, timeout=30)
            rooms.private[(name, room)] = private
        sam_private, jo_private = rooms.private[("sam", circle)], rooms.private[("jo", circle)]
        await rooms.ask("carol", circle, f"!questions suggest {WORDS['suggest_circle']}", "Thank you")
        await rooms.ask("gus", hall, f"!questions suggest {WORDS['suggest_hall']}", "Thank you")
        started = await rooms.ask("sam", sam_private, f"agreement start {members['jo'].user_id}", "is started")
        rooms.agreement = _ID.search(started).group(1)
        await rooms.ask("jo", jo_private, "yes", "You've joined agreement")
        await rooms.ask("sam", sam_private, f"agreement edit 1 {WORDS['a_sam']}", "Saved in agreement")
        await rooms.ask("jo", jo_private, f"agreement edit 1 {WORDS['a_jo']}", "Saved in agreement")
        await rooms.ask("jo", jo_private, "agreement propose", "is on its way")
        await rooms.ask("jo", jo_private, "mydata forget", "can't be undone")
        await bot.idle()
        assert bot.db is not None
        rows = await bot.db.fetchall(
            "SELECT c.external_id, s.id FROM question_suggestions s JOIN communities c ON c.id = s.community_id"
        )
        rooms.suggestions = {external: sid for external, sid in rows}
        rooms.jo_confirmation = await bot.scalar(
            "SELECT f.id FROM confirmations f JOIN members m ON m.id = f.member_id WHERE m.platform_user_id = ?"
            " AND f.action = 'mydata.forget'",
            (members["jo"].user_id,),
        )
        assert set(rooms.suggestions) == {circle, hall} and rooms.jo_confirmation
        yield rooms
    finally:
        await bot.stop()
        await kit.close_clients(*members.values())


async def test_matrix_refuses_outsiders_and_foreign_ids_quietly(world: Rooms) -> None:
    circle, hall, a_id = world.circle, world.hall, world.agreement
    carol_private = world.private[("carol", circle)]
    # A facilitator command by a member, in the room and in her private room.
    spec = world.bot.app.registry.get("questions review")
    forbidden = world.text("perm.facilitator_only", usage=spec.usage("!"))
    await refused_quietly(world, "carol", circle, "!questions review", forbidden)
    await refused_quietly(world, "carol", carol_private, "questions review", forbidden)

    # Agreement commands by non-parties (a facilitator too): the answer for a missing id.
    no_such = world.text("agreement.no_such")
    for name in ("carol", "alex"):
        private = world.private[(name, circle)]
        for command in ("agreement view", "agreement accept", "agreement withdraw"):
            await refused_quietly(world, name, private, f"{command} #{a_id}", no_such)
        await refused_quietly(world, name, private, "agreement view #ZZZZZ", no_such)
    await refused_quietly(world, "carol", circle, f"!agreement edit #{a_id} 2 I notice when I go quiet.", no_such)

    # Another member's pending question (jo's `mydata forget`), answered by carol.
    nothing = world.text("confirm.nothing_pending")
    await refused_quietly(world, "carol", carol_private, f"yes {world.jo_confirmation}", nothing)
    await refused_quietly(world, "carol", carol_private, "yes 999999", nothing)

    # Another community's ids: gus facilitates hall, not circle; sam is in both.
    theirs = world.suggestions[circle]
    await refused_quietly(
        world, "gus", hall, f"!questions approve {theirs}", world.text("questions.no_such_suggestion", id=theirs)
    )
    review = await world.ask("gus", world.private[("gus", hall)], "questions review", "waiting")
    assert "yb23" in review and "zq11" not in review
    sam_hall = world.private[("sam", hall)]
    await refused_quietly(world, "sam", hall, f"!agreement view #{a_id}", no_such)
    await refused_quietly(world, "sam", sam_hall, "agreement view", world.text("agreement.none"))
    await refused_quietly(world, "sam", sam_hall, "checkin", world.text("checkin.none_open"))

    # The party still reads it, with both answers.
    view = await world.ask("sam", world.private[("sam", circle)], f"agreement view #{a_id}", "between")
    assert "qv42" in view and "jx19" in view


async def test_a_room_cannot_join_a_space_by_naming_it_its_parent(synapse, matrix_localpart, tmp_path):  # noqa: F811
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    sam = await kit.connect_member(synapse, matrix_localpart("sam"), tmp_path)
    mallory = await kit.connect_member(synapse, matrix_localpart("mallory"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"), share_space_community=True)
    try:
        created = await alex.client.room_create(name="our space", space=True)
        space = created.room_id
        parent = {"type": "m.space.parent", "state_key": space, "content": {"via": ["localhost"], "canonical": True}}
        child = {"via": ["localhost"]}
        circle = await kit.create_room(alex.client, name="circle", invite=[bot.user_id, sam.user_id], initial_state=[parent])
        await alex.client.room_put_state(space, "m.space.child", child, state_key=circle)
        await kit.accept_invite(sam.client, circle)
        await kit.wait_for_member(alex.client, circle, bot.user_id, timeout=30)
        seen = bk.mark(sam)
        await bk.say(sam, circle, f"!questions suggest {WORDS['suggest_circle']}")
        await bk.wait_bot(sam, bot.user_id, "Thank you", after=seen, timeout=30)

        # mallory is in neither the space nor its rooms: her own room names the space its parent.
        theirs = await kit.create_room(mallory.client, name="not yours", invite=[bot.user_id], initial_state=[parent])
        await kit.wait_for_member(mallory.client, theirs, bot.user_id, timeout=30)
        await bk.say(mallory, theirs, "!questions review")
        _, answer = await bk.wait_bot(mallory, bot.user_id, lambda body: True, timeout=30)
        await bot.idle()
        assert "zq11" not in answer.body, "the space's suggestion was shown to someone outside it"
        in_space = await bot.scalar(
            "SELECT COUNT(*) FROM members m JOIN communities c ON c.id = m.community_id"
            " WHERE c.external_id = ? AND m.platform_user_id = ?",
            (space, mallory.user_id),
        )
        assert in_space == 0, "someone outside the space became a member of its community"
    finally:
        await bot.stop()
        await kit.close_clients(alex, sam, mallory)
