"""A not-with entry holds after the other person erases their data and comes back, never lands on
an innocent newcomer, and row ids of erased members are never reused (issue 11, hole 2)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.replies import PrivateFile
from tests.core.pairing.helpers import groups, join
from tests.harness import make_harness, stored_bytes

A, B, C = "ann-4q1", "bo-7x2", "newcomer-c9z"
WEEK = timedelta(days=7)


async def export(h, user: str) -> str:
    (found,) = [i for i in await h.run(user, "mydata export", channel=None) if isinstance(i, PrivateFile)]
    return found.content


async def member_id(h, user: str) -> int:
    row = await h.db.fetchone("SELECT id FROM members WHERE platform_user_id = ?", (user,))
    return row[0]


async def test_block_survives_forget_and_rejoin_and_spares_a_newcomer(harness):
    h = harness
    await join(h, A, B)
    assert "won't be paired with" in await h.say(A, f"pair not-with @{B}", channel=None)
    old_b = await member_id(h, B)
    await h.say(B, "mydata forget", channel=None)
    assert "has been erased" in await h.say(B, "yes", channel=None)
    await join(h, C)  # the newcomer: on a row-id-reusing database they got B's old id
    assert await member_id(h, C) != old_b
    await join(h, B)  # B comes back, a new member as far as the database knows
    assert await member_id(h, B) not in (old_b, await member_id(h, C))
    assert "Pairing rounds will start" in await h.say("alex", "pair schedule weekly mon 10:00")
    h.sink.take()
    made = []
    for _ in range(3):  # three rounds (before anyone counts as silent): one group in each
        await h.advance(WEEK)
        made += groups(h.sink.take())
    assert len(made) == 3, made
    assert not any(A in group and B in group for group in made), made
    assert any(A in group and C in group for group in made), made
    # A's export says a block is in place and names nobody; C's and B's say nothing of it.
    document = json.loads(await export(h, A))
    assert document["pairing"]["not_with"] == {"entries": 1}
    # C shows up only as someone A met in a round; B (never met) nowhere.
    others = {k: v for k, v in document["pairing"].items() if k != "pairs"}
    assert C not in json.dumps(others) and B not in await export(h, A)
    assert A not in await export(h, B)
    c_doc = json.loads(await export(h, C))["pairing"]
    assert c_doc["not_with"] == {} and A not in json.dumps({k: v for k, v in c_doc.items() if k != "pairs"})


async def test_the_block_can_be_undone_by_naming_the_person_again(harness):
    h = harness
    await join(h, A, B)
    await h.say(A, f"pair not-with @{B}", channel=None)
    assert "already on your not-with list" in await h.say(A, f"pair not-with @{B}", channel=None)
    await h.say(B, "mydata forget", channel=None)
    await h.say(B, "yes", channel=None)
    await join(h, B)
    assert "already on your not-with list" in await h.say(A, f"pair not-with @{B}", channel=None)
    assert "is off your not-with list" in await h.say(A, f"pair not-with @{B} remove", channel=None)
    assert (await h.db.fetchone("SELECT COUNT(*) FROM pair_not_with"))[0] == 0


async def test_the_block_can_be_undone_while_the_other_person_is_gone(harness):
    h = harness
    await join(h, A, B)
    await h.say(A, f"pair not-with @{B}", channel=None)
    await h.say(B, "mydata forget", channel=None)
    await h.say(B, "yes", channel=None)
    assert "I don't know anyone" in await h.say(A, "pair not-with @somebody-else", channel=None)
    assert "I don't know anyone" in await h.say(A, "pair not-with @somebody-else remove", channel=None)
    assert "is off your not-with list" in await h.say(A, f"pair not-with @{B} remove", channel=None)
    assert (await h.db.fetchone("SELECT COUNT(*) FROM pair_not_with"))[0] == 0


async def test_the_blocked_persons_forget_leaves_the_block_and_stores_no_readable_id(harness):
    h = harness
    await join(h, A, B)
    await h.say(A, f"pair not-with @{B}", channel=None)
    await h.say(B, "mydata forget", channel=None)
    await h.say(B, "yes", channel=None)
    rows = await h.db.fetchall("SELECT other_hash, other_enc FROM pair_not_with")
    assert len(rows) == 1 and rows[0][1] is None and len(rows[0][0]) == 64
    await h.close()
    raw = await stored_bytes(h.location)
    assert B.encode() not in raw


async def test_row_ids_of_deleted_rows_are_never_reused(tmp_path, store):
    h = await make_harness(tmp_path)
    try:
        await h.app.context(h.inv("first"))
        await h.app.context(h.inv("last"))
        last = await member_id(h, "last")
        await h.say("last", "mydata forget", channel=None)
        await h.say("last", "yes", channel=None)
        await h.app.context(h.inv("next"))
        assert await member_id(h, "next") > last
        # Every table with an integer row id is AUTOINCREMENT (a one-row table, whose id is
        # pinned by CHECK (id = 1), has no ids to reuse).
        if h.db.dialect.name == "postgresql":  # there: an identity column, never a plain one
            plain = await h.db.fetchall(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND column_name = 'id' AND data_type = 'bigint' AND is_identity = 'NO'"
            )
            assert [row[0] for row in plain] == []
            return
        rows = await h.db.fetchall("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        for name, sql in rows:
            if " id INTEGER PRIMARY KEY" in sql and "CHECK (id = 1)" not in sql:
                assert "AUTOINCREMENT" in sql, name
    finally:
        await h.close()
