"""Stored preferences and meet-again wishes reach the rounds (issue 17): a shared language is a
hard constraint for pairs, circles and late placement; a mutual wish groups two people again and
is then spent; a one-sided wish changes nothing; the chosen style moves the opener's depth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.core.pairing.helpers import groups, join, private
from tests.harness import make_harness

WEEK = timedelta(days=7)


async def say(h, user: str, line: str) -> str:
    return await h.say(user, line, channel=None)


async def first_round(h, extra: str = "") -> list[frozenset[str]]:
    out = await h.say("alex", f"pair schedule weekly mon 10:00 {extra}".strip())
    assert "Pairing rounds will start" in out, out
    h.sink.take()
    await h.advance(timedelta(hours=1, minutes=1))
    return groups(h.sink.take())


@pytest.mark.parametrize("seed", range(6))
async def test_pairs_always_share_a_language_when_members_set_them(tmp_path, seed, store):
    h = await make_harness(tmp_path, seed=seed)
    try:
        english, spanish = ["ann", "bo", "cy", "dan"], ["dia", "eli", "fer", "gil"]
        await join(h, *english, *spanish)
        for name in english:
            await say(h, name, "pair prefs languages en")
        for name in spanish:
            await say(h, name, "pair prefs languages es")
        made = await first_round(h)
        assert sorted(m for g in made for m in g) == sorted(english + spanish), made
        for group in made:
            assert group <= set(english) or group <= set(spanish), made
    finally:
        await h.close()


@pytest.mark.parametrize("seed", range(4))
async def test_circles_share_a_language_across_the_whole_circle(tmp_path, seed, store):
    h = await make_harness(tmp_path, seed=seed)
    try:
        # en+fr, fr+de, de+en would share a language pairwise but not as a circle of three.
        await join(h, "ann", "bo", "cy", "dia", "eli", "fer")
        for name, languages in [
            ("ann", "en, fr"), ("bo", "fr, de"), ("cy", "de, en"),
            ("dia", "en"), ("eli", "en"), ("fer", "en"),
        ]:
            await say(h, name, f"pair prefs languages {languages}")
        made = await first_round(h, "size 3")
        spoken = {"ann": {"en", "fr"}, "bo": {"fr", "de"}, "cy": {"de", "en"}}
        for group in made:
            common = set.intersection(*(spoken.get(m, {"en"}) for m in group))
            assert common, made
    finally:
        await h.close()


async def test_someone_who_shares_no_language_hears_the_one_not_placed_message(harness):
    h = harness
    await join(h, "ann", "bo", "cy")
    await say(h, "ann", "pair prefs languages en")
    await say(h, "bo", "pair prefs languages en")
    await say(h, "cy", "pair prefs languages ja")
    await h.say("alex", "pair schedule weekly mon 10:00")
    h.sink.take()
    await h.advance(timedelta(hours=1, minutes=1))
    out = h.sink.take()
    assert groups(out) == [frozenset({"ann", "bo"})]
    # The same words as for a block or numbers: nothing says why.
    told = private(out, "cy")
    assert told and "You're not in a pair this round" in told[0], told
    assert "language" not in " ".join(told)


async def test_a_mutual_wish_groups_two_again_and_is_then_spent(harness):
    h = harness
    # Six, so that the other four can still meet someone new while ann and her partner meet again.
    names = ["ann", "bo", "cy", "dia", "eli", "fer"]
    await join(h, *names)
    made = await first_round(h)
    first = next(g for g in made if "ann" in g)
    (other,) = first - {"ann"}
    assert "counts only if they asked for the same" in await say(h, "ann", f"pair again @{other}")
    await say(h, other, "pair again @ann")
    h.sink.take()
    await h.advance(WEEK)
    again = groups(h.sink.take())
    assert first in again, again  # both asked: together again, not a repeat to avoid
    assert "haven't asked to meet anyone again" in await say(h, "ann", "pair again")
    assert "haven't asked to meet anyone again" in await say(h, other, "pair again")


async def test_a_one_sided_wish_changes_nothing(tmp_path, store):
    """Round 2 with a one-sided wish is exactly round 2 without it."""

    async def second_round(wish: bool) -> list[frozenset[str]]:
        h = await make_harness(tmp_path / ("wish" if wish else "none"))
        try:
            await join(h, "ann", "bo", "cy", "dia")
            made = await first_round(h)
            (other,) = next(g for g in made if "ann" in g) - {"ann"}
            if wish:
                await say(h, "ann", f"pair again @{other}")
            h.sink.take()
            await h.advance(WEEK)
            return sorted(groups(h.sink.take()), key=sorted)
        finally:
            await h.close()

    assert await second_round(True) == await second_round(False)


async def test_late_placement_keeps_the_shared_language(harness):
    h = harness
    await join(h, "ann", "bo", "cy", "dia", "eva")
    for name in ("ann", "bo"):
        await say(h, name, "pair prefs languages en")
    for name in ("cy", "dia", "eva"):
        await say(h, name, "pair prefs languages es")
    await say(h, "eva", "pair pause")  # away for the start of round 1
    made = await first_round(h)
    assert sorted(made, key=sorted) == [frozenset({"ann", "bo"}), frozenset({"cy", "dia"})]
    # Back while the round runs: only the Spanish pair may take her in.
    await say(h, "eva", "pair resume")
    grown = groups(h.sink.take())
    assert grown == [frozenset({"cy", "dia", "eva"})], grown


async def test_late_placement_never_breaks_a_language_it_cannot_meet(harness):
    h = harness
    await join(h, "ann", "bo", "eva")
    for name in ("ann", "bo"):
        await say(h, name, "pair prefs languages en")
    await say(h, "eva", "pair prefs languages es")
    await say(h, "eva", "pair pause")
    assert await first_round(h) == [frozenset({"ann", "bo"})]
    await say(h, "eva", "pair resume")
    assert groups(h.sink.take()) == []


async def _opener_depths(tmp_path, styles: dict[str, str], depth_mix: str = "mixed") -> list[str]:
    """The depth of each opening question over three rounds of one pair that keeps meeting."""
    h = await make_harness(tmp_path)
    try:
        await join(h, "ann", "bo")
        await h.say("alex", f"questions depth {depth_mix}")
        for name, style in styles.items():
            await say(h, name, f"pair prefs style {style}")
        await first_round(h)
        for _ in range(2):
            await h.advance(WEEK)
        rows = await h.db.fetchall("SELECT question_id FROM pairs ORDER BY id")
        bank = {q.id: q for q in h.app.catalog.questions("en")}
        return [bank[row[0]].depth for row in rows]
    finally:
        await h.close()


async def test_style_moves_the_opening_question(tmp_path, store):
    plain = await _opener_depths(tmp_path / "plain", {})
    lighter = await _opener_depths(tmp_path / "lighter", {"ann": "lighter", "bo": "deeper"})
    deeper = await _opener_depths(tmp_path / "deeper", {"ann": "deeper", "bo": "deeper"})
    assert plain == ["light", "medium", "deep"]
    # Anyone asking for lighter is followed; deeper only when everyone who chose agrees, and
    # strangers still never begin deep.
    assert lighter == ["light", "light", "medium"]
    assert deeper[0] in ("light", "medium") and deeper[1] in ("medium", "deep") and deeper[2] == "deep"
