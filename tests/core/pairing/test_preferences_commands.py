"""`pair prefs` and `pair again` (issue 17): stored privately and encrypted, shown back plainly,
bad input refused kindly with nothing changed, a one-sided wish never learnt by anyone, the
repository methods the rounds use, mydata export and forget, and `pair stats`' new lines."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.features.pairing.preferences import Preferences, Slot, Style
from bot.replies import ConfirmPrompt, PrivateFile
from tests.core.pairing.helpers import join, snapshot
from tests.harness import make_harness, stored_bytes

A, B, C = "ann-4q1", "bo-7x2", "cy-3k8"
WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


async def private(h, user: str, line: str) -> str:
    return await h.say(user, line, channel=None)


async def member_id(h, user: str) -> int:
    row = await h.db.fetchone("SELECT id FROM members WHERE platform_user_id = ?", (user,))
    return row[0]


async def community_id(h) -> int:
    row = await h.db.fetchone("SELECT id FROM communities WHERE external_id = ?", (h.community.external_id,))
    return row[0]


async def everything(h) -> dict[str, list[tuple]]:
    found = await snapshot(h)
    for table in ("pair_preferences", "pair_again"):
        found[table] = [tuple(row) for row in await h.db.fetchall(f"SELECT * FROM {table} ORDER BY 1")]
    return found


async def export(h, user: str) -> dict:
    (found,) = [i for i in await h.run(user, "mydata export", channel=None) if isinstance(i, PrivateFile)]
    return json.loads(found.content)["pairing"]


async def raw_bytes(h) -> bytes:
    await h.close()
    return await stored_bytes(h.location)


# -- pair prefs ---------------------------------------------------------------------------------


async def test_prefs_are_shown_set_and_cleared_plainly(harness):
    h = harness
    await join(h, A)
    shown = await private(h, A, "pair prefs")
    assert shown.count("not set") == 4, shown
    assert "never used to explain a grouping" in shown
    said = await private(h, A, "pair prefs languages EN, es, pt-BR, en")
    assert "Noted, just for you." in said and "languages you can talk in: en, es, pt" in said
    assert "talk in: fr, de" in await private(h, A, "pair prefs languages fr and de")
    said = await private(h, A, "pair prefs languages EN, es, pt-BR, en")
    assert "timezone: Europe/Madrid" in await private(h, A, "pair prefs timezone europe/madrid")
    assert "timezone: UTC+05:30" in await private(h, A, "pair prefs timezone UTC+5:30")
    said = await private(h, A, "pair prefs free weekends, weekday evening")
    assert "usually free: weekday evenings, weekends" in said
    said = await private(h, A, "pair prefs style deeper")
    assert "conversations: deeper" in said and "not set" not in said
    said = await private(h, A, "pair prefs clear timezone")
    assert "Cleared your timezone preference." in said and "timezone: not set" in said
    assert "usually free: weekday evenings, weekends" in said
    said = await private(h, A, "pair prefs clear")
    assert "no preferences are kept" in said and said.count("not set") == 4
    assert await h.db.fetchall("SELECT * FROM pair_preferences") == []


async def test_prefs_are_encrypted_at_rest(harness):
    h = harness
    await join(h, A)
    await private(h, A, "pair prefs timezone America/Argentina/Buenos_Aires")
    await private(h, A, "pair prefs free weekday mornings")
    (row,) = await h.db.fetchall("SELECT prefs_enc FROM pair_preferences")
    assert b"Buenos_Aires" not in bytes(row[0])
    raw = await raw_bytes(h)
    assert b"Buenos_Aires" not in raw and b"weekday mornings" not in raw


async def test_bad_prefs_are_answered_kindly_and_change_nothing(harness):
    h = harness
    await join(h, A)
    await private(h, A, "pair prefs languages en")
    before = await everything(h)
    cases = {
        "pair prefs languages en, xx": ['"xx"', "pair prefs languages en, es"],
        "pair prefs languages english": ['"english"', "Two-letter codes"],
        "pair prefs languages " + " ".join(["en", "es", "fr", "de", "it", "pt", "nl", "sv", "ar"]): ["up to 8"],
        "pair prefs timezone Mars/Olympus_Mons": ['"Mars/Olympus_Mons"', "Europe/Madrid", "UTC+5:30"],
        "pair prefs timezone UTC+15": ['"UTC+15"'],
        "pair prefs free tuesdays": ['"tuesdays"', "weekday evenings"],
        "pair prefs style medium": ['"medium"', "lighter or deeper"],
        "pair prefs clear colour": ['"colour"', "languages, timezone, free and style"],
        "pair prefs colour blue": ['"colour blue"', "languages, timezone, free and style"],
        "pair prefs languages " + "e" * 300: ["up to 200 characters"],
        "pair prefs languages " + "e" * 60_000: ["longer than I can read"],
    }
    for line, expected in cases.items():
        said = await private(h, A, line)
        for words in expected:
            assert words in said, (line, said)
        assert len(said) < 400, (line, said)
    assert await everything(h) == before


async def test_prefs_typed_in_a_channel_are_refused_and_nothing_is_stored(harness):
    h = harness
    await join(h, A)
    before = await everything(h)
    intents = await h.run(A, "pair prefs languages en, es", channel="circle")
    text = "\n".join(i.text for i in intents)
    assert "nothing was stored" in text, text
    assert await everything(h) == before
    # Looking is fine anywhere: the answer is private and nothing changes.
    assert "not set" in await h.say(A, "pair prefs", channel="circle")


async def test_prefs_need_pairing(harness):
    h = harness
    said = await private(h, A, "pair prefs style lighter")
    assert "only for people who have joined" in said
    assert await h.db.fetchall("SELECT * FROM pair_preferences") == []


async def test_leaving_pairing_deletes_preferences_and_wishes(harness):
    h = harness
    await join(h, A, B)
    await private(h, A, "pair prefs style lighter")
    await private(h, A, f"pair again @{B}")
    await private(h, A, "pair leave")
    assert await h.db.fetchall("SELECT * FROM pair_preferences") == []
    assert await h.db.fetchall("SELECT * FROM pair_again") == []


# -- pair again ---------------------------------------------------------------------------------


async def _traced_again(tmp_path, name: str, other_asked_first: bool) -> tuple[str, list[str]]:
    """A asks to meet B again, where B did or did not ask for A first: (A's answer, the SQL the
    command ran, with values left out)."""
    h = await make_harness(tmp_path / name)
    try:
        await join(h, A, B, C)
        # Someone made a wish before (the keyed hashes' secret exists in both worlds).
        await private(h, C, f"pair again @{A}")
        if other_asked_first:
            assert "Noted, privately" in await private(h, B, f"pair again @{A}")
        statements: list[str] = []
        await h.db._conn.set_trace_callback(statements.append)
        said = await private(h, A, f"pair again @{B}")
        await h.db._conn.set_trace_callback(None)
        return said, [re.sub(r"'[^']*'|\b\d+\b", "?", s) for s in statements]
    finally:
        await h.close()


@pytest.mark.sqlite_only  # it reads the statements run through SQLite's trace callback
async def test_pair_again_answers_and_works_the_same_whether_or_not_the_other_asked(tmp_path, store):
    lone, lone_sql = await _traced_again(tmp_path, "lone", other_asked_first=False)
    mutual, mutual_sql = await _traced_again(tmp_path, "mutual", other_asked_first=True)
    assert lone == mutual
    assert "counts only if they asked for the same" in lone and "nobody is told" in lone
    assert f"pair again @{B} remove" in lone
    # The same statements, in the same order: nothing in the work done depends on B's wish.
    assert lone_sql == mutual_sql and lone_sql


async def test_nobody_learns_of_a_wish_about_them(harness):
    h = harness
    await join(h, A, B, C)
    await private(h, A, f"pair again @{B}")
    await private(h, C, f"pair again @{B}")
    assert A not in json.dumps(await export(h, B)) and C not in json.dumps(await export(h, B))
    assert "You haven't asked to meet anyone again" in await private(h, B, "pair again")
    # B asking for A answers exactly as B asking for someone who never asked for B.
    to_a = await private(h, B, f"pair again @{A}")
    h2 = await make_harness(h.path.parent / "other")
    try:
        await join(h2, A, B)
        assert await private(h2, B, f"pair again @{A}") == to_a
    finally:
        await h2.close()
    # Wishes name nobody readably: only keyed hashes and ciphertext.
    rows = await h.db.fetchall("SELECT other_hash, other_enc FROM pair_again")
    assert len(rows) == 3 and all(len(r[0]) == 64 and B.encode() not in bytes(r[1]) for r in rows)


async def test_pair_again_lists_adds_renews_and_removes_own_wishes(harness):
    h = harness
    await join(h, A, B, C)
    assert "haven't asked to meet anyone again" in await private(h, A, "pair again")
    await private(h, A, f"pair again @{B}")
    await private(h, A, f"pair again @{C}")
    listed = await private(h, A, "pair again")
    assert f"@{B} and @{C}" in listed and f"pair again @{B} remove" in listed
    assert "already asked to meet" in await private(h, A, f"pair again @{B}")
    assert "off your meet-again list" in await private(h, A, f"pair again @{B} remove")
    assert "nothing to remove" in await private(h, A, f"pair again @{B} remove")
    assert "That's you" in await private(h, A, f"pair again @{A}")
    assert "I don't know anyone" in await private(h, A, "pair again @nobody-here")
    assert "Name them first" in await private(h, A, "pair again remove")
    assert len(await h.db.fetchall("SELECT * FROM pair_again")) == 1


async def test_pair_again_typed_in_a_channel_is_refused_and_nothing_is_stored(harness):
    h = harness
    await join(h, A, B)
    before = await everything(h)
    intents = await h.run(A, f"pair again @{B}", channel="circle")
    assert "nothing was stored" in "\n".join(i.text for i in intents)
    assert any(isinstance(i, ConfirmPrompt) for i in intents) or intents
    assert await everything(h) == before


# -- what the rounds use -----------------------------------------------------------------------


async def test_grouping_preferences_converts_timezones_at_the_time_and_gives_every_wish(harness):
    h = harness
    await join(h, A, B, C)
    await private(h, A, "pair prefs timezone Europe/Madrid")
    await private(h, A, "pair prefs languages es, en")
    await private(h, A, "pair prefs free weekends")
    await private(h, A, "pair prefs style lighter")
    await private(h, B, "pair prefs timezone UTC-3")
    await private(h, A, f"pair again @{B}")
    await private(h, B, f"pair again @{A}")
    await private(h, C, f"pair again @{A}")  # one-sided: given to the matcher, which drops it
    a, b, c = [await member_id(h, u) for u in (A, B, C)]
    repo, community = h.app.pairing.repo, await community_id(h)
    async with h.db.transaction() as tx:
        winter, wishes = await repo.grouping_preferences(tx, community, [a, b, c], WINTER)
        summer, _ = await repo.grouping_preferences(tx, community, [a, b, c], SUMMER)
        only_two, few = await repo.grouping_preferences(tx, community, [a, c], WINTER)
    assert winter[a] == Preferences(frozenset({"es", "en"}), 60, frozenset({Slot.WEEKENDS}), Style.LIGHTER)
    assert summer[a].utc_offset_minutes == 120  # summer time counts
    assert winter[b] == Preferences(utc_offset_minutes=-180) == summer[b]
    assert winter[c] == Preferences()
    assert sorted(wishes) == sorted([(a, b), (b, a), (c, a)])
    assert set(only_two) == {a, c} and few == [(c, a)]


async def test_not_with_wins_over_a_mutual_wish_silently(harness):
    h = harness
    await join(h, A, B)
    await private(h, A, f"pair again @{B}")
    await private(h, B, f"pair again @{A}")
    await private(h, B, f"pair not-with @{A}")
    a, b = await member_id(h, A), await member_id(h, B)
    async with h.db.transaction() as tx:
        _, wishes = await h.app.pairing.repo.grouping_preferences(tx, await community_id(h), [a, b], WINTER)
    assert wishes == []
    # A still sees only their own wish, as before: nothing tells them of B's list.
    assert f"@{B}" in await private(h, A, "pair again")


async def test_wishes_are_spent_once_the_two_are_grouped_together(harness):
    h = harness
    await join(h, A, B, C)
    await private(h, A, f"pair again @{B}")
    await private(h, B, f"pair again @{A}")
    await private(h, C, f"pair again @{A}")
    a, b, c = [await member_id(h, u) for u in (A, B, C)]
    async with h.db.transaction() as tx:
        spent = await h.app.pairing.repo.spend_wishes(tx, await community_id(h), [[a, b], [c]], WINTER)
    assert spent == 2
    assert "haven't asked to meet anyone again" in await private(h, A, "pair again")
    assert f"@{A}" in await private(h, C, "pair again")
    async with h.db.transaction() as tx:  # a circle: any wish inside it is spent
        assert await h.app.pairing.repo.spend_wishes(tx, await community_id(h), [[b, c, a]], WINTER) == 1
    assert await h.db.fetchall("SELECT * FROM pair_again") == []


# -- mydata ------------------------------------------------------------------------------------


async def test_export_shows_own_preferences_and_wishes(harness):
    h = harness
    await join(h, A, B)
    await private(h, A, "pair prefs languages en, fr")
    await private(h, A, "pair prefs timezone Europe/Paris")
    await private(h, A, f"pair again @{B}")
    mine = await export(h, A)
    assert mine["preferences"] == {"languages": ["en", "fr"], "timezone": "Europe/Paris", "free": [], "style": None}
    assert [w["with"] for w in mine["meet_again"]] == [B]
    theirs = await export(h, B)
    assert theirs["preferences"] == {} and theirs["meet_again"] == []


async def test_forget_erases_both_and_a_wish_about_the_forgotten_never_counts_again(harness):
    h = harness
    await join(h, A, B)
    await private(h, B, "pair prefs style deeper")
    await private(h, B, f"pair again @{A}")
    await private(h, A, f"pair again @{B}")
    await h.advance(timedelta(hours=1))
    await private(h, B, "mydata forget")
    assert "has been erased" in await private(h, B, "yes")
    await h.advance(timedelta(hours=1))
    assert await h.db.fetchall("SELECT * FROM pair_preferences") == []
    assert len(await h.db.fetchall("SELECT * FROM pair_again")) == 1  # A's own, A's data
    # B comes back and asks for A again: A's wish was about the person who erased their data.
    await join(h, B)
    await private(h, B, f"pair again @{A}")
    a, b = await member_id(h, A), await member_id(h, B)
    async with h.db.transaction() as tx:
        _, wishes = await h.app.pairing.repo.grouping_preferences(tx, await community_id(h), [a, b], WINTER)
    assert wishes == [(b, a)]
    # A's list is unchanged (nothing tells A that B erased anything); asking again renews it.
    assert f"@{B}" in await private(h, A, "pair again")
    assert "already asked" in await private(h, A, f"pair again @{B}")
    async with h.db.transaction() as tx:
        _, wishes = await h.app.pairing.repo.grouping_preferences(tx, await community_id(h), [a, b], WINTER)
    assert sorted(wishes) == sorted([(a, b), (b, a)])


# -- pair stats --------------------------------------------------------------------------------

PEOPLE = [f"p{n}-x{n}" for n in range(10)]


def line(stats: str, start: str) -> str:
    (found,) = [row.strip() for row in stats.splitlines() if row.strip().startswith(start)]
    return found


async def test_stats_before_any_round_counts_preferences_with_the_k5_rule(harness):
    h = harness
    await join(h, *PEOPLE[:6])
    stats = await h.say("alex", "pair stats")
    assert line(stats, "members who set preferences") == "members who set preferences: 0"
    assert "last round's groups" not in stats
    for person in PEOPLE[:3]:
        await private(h, person, "pair prefs style lighter")
    stats = await h.say("alex", "pair stats")
    assert line(stats, "members who set preferences") == "members who set preferences: fewer than 5"
    for person in PEOPLE[3:6]:
        await private(h, person, "pair prefs languages en")
    stats = await h.say("alex", "pair stats")
    assert line(stats, "members who set preferences") == "members who set preferences: 6"


async def test_stats_hide_shares_over_fewer_than_five_groups(harness):
    h = harness
    await join(h, *PEOPLE[:6])
    for person in PEOPLE[:6]:
        await private(h, person, "pair prefs languages en")
    assert "Round 1 has begun" in await h.say("alex", "pair now")
    stats = await h.say("alex", "pair stats")
    assert line(stats, "last round's groups:") == "last round's groups: 3 with 2 people"
    assert line(stats, "last round's groups with a language").endswith(": fewer than 5 groups")
    assert line(stats, "last round's groups sharing") .endswith(": fewer than 5 groups")


async def test_stats_hide_a_group_size_drawn_from_fewer_than_five_people(harness):
    h = harness
    await join(h, *PEOPLE[:4])
    assert "Round 1 has begun" in await h.say("alex", "pair now")
    stats = await h.say("alex", "pair stats")
    assert line(stats, "last round's groups:") == "last round's groups: fewer than 5 with 2 people"


async def test_stats_show_shares_of_shared_language_and_waking_hours_over_five_groups(harness):
    h = harness
    await join(h, *PEOPLE)
    # Everyone sets English, nobody a timezone yet.
    for person in PEOPLE:
        await private(h, person, "pair prefs languages en")
    assert "Round 1 has begun" in await h.say("alex", "pair now")
    stats = await h.say("alex", "pair stats")
    assert line(stats, "last round's groups:") == "last round's groups: 5 with 2 people"
    assert line(stats, "last round's groups with a language").endswith(": 100%")
    assert line(stats, "last round's groups sharing").endswith(": 0%")
    # Now timezones: the pairs are fixed for this round, so set them to make exactly the pairs
    # that exist overlap or not.
    together = "string_agg(m.platform_user_id, ',')" if h.db.dialect.name == "postgresql" else "group_concat(m.platform_user_id)"
    rows = await h.db.fetchall(
        f"SELECT {together} FROM pairs p JOIN pair_members pm ON pm.pair_id = p.id"
        " JOIN members m ON m.id = pm.member_id GROUP BY p.id ORDER BY p.id"
    )
    pairs = [row[0].split(",") for row in rows]
    for index, (one, other) in enumerate(pairs):
        # Three pairs an hour apart (13 waking hours shared); two pairs 12 hours apart, whose
        # 08:00-22:00 days share only 4 hours.
        far = index >= 3
        await private(h, one, "pair prefs timezone " + ("UTC+12" if far else "Europe/Madrid"))
        await private(h, other, "pair prefs timezone " + ("UTC" if far else "Europe/Lisbon"))
    await private(h, pairs[0][0], "pair prefs languages fr")  # this pair no longer shares one
    stats = await h.say("alex", "pair stats")
    assert line(stats, "last round's groups with a language").endswith(": 80%")
    assert line(stats, "last round's groups sharing").endswith(": 60%")
