"""Pairing in the core, end to end in-process: consent, rounds on the fake clock, pair spaces,
pause and leave, not-with privacy, `pair end`, silence, re-consent, retention and bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import combinations
from types import SimpleNamespace

import pytest

from alongside.settings import load_settings
from bot.features.checkin_port import OpenCheckin
from bot.features.pairing.checkins import CheckinFeature
from bot.replies import Answer, ConfirmPrompt
from tests.core.pairing.helpers import (
    channel,
    closed,
    groups,
    join,
    opened,
    posts,
    private,
    snapshot,
)
from tests.harness import START, make_harness

WEEK = timedelta(days=7)


async def weekly(h, line: str = "pair schedule weekly mon 10:00") -> None:
    out = await h.say("alex", line)
    assert "Pairing rounds will start" in out, out


# -- joining is consent --------------------------------------------------------------------------


async def test_join_shows_everything_and_stores_nothing_until_yes(harness):
    h = harness
    before = await snapshot(h)
    intents = await h.run("sam", "pair join", channel=None)
    prompt = next(i for i in intents if isinstance(i, ConfirmPrompt))
    text = prompt.text
    assert "not-with list" in text and "Facilitators see only totals" in text
    assert "180 days" in text and "/pair pause" in text and "/pair leave" in text
    assert h.app.settings.duty_of_care.text.strip() in text
    assert "(version 1)" in text
    assert await snapshot(h) == before
    assert "Nothing about you was kept" in await h.say("sam", "no", channel=None)
    assert await snapshot(h) == before
    await join(h, "sam")
    rows = await h.db.fetchall("SELECT text_version, withdrawn_at FROM pair_consents")
    assert len(rows) == 1 and rows[0][1] is None
    assert rows[0][0] == h.app.pairing.rounds.consent_version(await h.app.communities.get(h.db, 1))


async def test_join_twice_is_a_kind_refusal(harness):
    h = harness
    await join(h, "sam")
    before = await snapshot(h)
    assert "already in pairing" in await h.say("sam", "pair join")
    assert await snapshot(h) == before


@pytest.mark.parametrize(
    ("user", "line", "expected"),
    [
        ("sam", "pair leave", "nothing to leave"),
        ("sam", "pair pause", "nothing to pause"),
        ("sam", "pair pause 3", "nothing to pause"),
        ("sam", "pair resume", "nothing to resume"),
        ("sam", "pair end", "no pair to end"),
        ("sam", "pair not-with @jo", "kept only for people who have joined"),
        ("sam", "pair not-with @sam", "That's you"),
        ("alex", "pair now", "Nobody is in pairing right now"),
        ("alex", "pair schedule weekly mon 10:00 from 2025-12-01", "2025-12-01 has already passed"),
        ("alex", "pair schedule fortnightly on mondays", "couldn't read"),
        ("alex", "pair schedule weekly mon 10:00 from 2026-02-31", "isn't a date I can read"),
        ("sam", "pair schedule weekly mon 10:00", "for the space's facilitators"),
        ("sam", "pair pause 0", "from 1 to 365"),
        ("sam", "checkin 4", "no check-in waiting"),
    ],
)
async def test_bad_input_when_not_in(harness, user, line, expected):
    h = harness
    before = await snapshot(h)
    out = await h.say(user, line)
    assert expected in out, out
    assert await snapshot(h) == before
    assert h.sink.take() == []


async def test_bad_input_when_in(harness):
    h = harness
    await join(h, "sam", "jo")
    cases = [
        ("pair resume", "isn't paused"),
        ("pair end", "not in a pair right now"),
        ("pair not-with @nobody", "don't know anyone in this space as @nobody"),
        ("pair not-with @jo remove", "isn't on your not-with list"),
        ("pair not-with @jo please", "isn't one of the options"),
    ]
    for line, expected in cases:
        before = await snapshot(h)
        out = await h.say("sam", line, channel=None)
        assert expected in out, (line, out)
        assert await snapshot(h) == before, line
    assert "won't be paired with jo" in await h.say("sam", "pair not-with @jo", channel=None)
    before = await snapshot(h)
    assert "already on your not-with list" in await h.say("sam", "pair not-with @jo", channel=None)
    assert await snapshot(h) == before
    assert "off your not-with list" in await h.say("sam", "pair not-with @jo remove", channel=None)


async def test_round_while_one_runs_is_refused(harness):
    h = harness
    await join(h, "sam", "jo")
    assert "Round 1 has begun" in await h.say("alex", "pair now")
    before = await snapshot(h)
    assert "already running" in await h.say("alex", "pair now")
    assert await snapshot(h) == before


# -- rounds ------------------------------------------------------------------------------------


async def test_heads_up_round_spaces_and_triad(harness):
    h = harness
    await join(h, "sam", "jo", "rin", "kai", "lee")
    h.sink.take()
    await weekly(h)  # Monday 09:00 now: the first round is in an hour, so the heads-up goes now
    heads_up = channel(h.sink.take())
    assert len(heads_up) == 1 and "5 people are in so far" in heads_up[0]
    assert "/pair pause 7 pauses you for 7 days" in heads_up[0]
    assert not set(re.findall(r"\w+", heads_up[0])) & {"sam", "jo", "rin", "kai", "lee"}
    await h.advance(timedelta(hours=1))
    out = h.sink.take()
    spaces = opened(out)
    assert sorted(len(s.member_ids) for s in spaces) == [2, 3]
    for space in spaces:
        assert "/agreement start" in space.text and "/pair end" in space.text
        assert space.space_key.startswith("pair-")
    assert any("Pairing round 1 has begun" in text for text in channel(out))
    status = await h.say("sam", "pair status", channel=None)
    assert "Your current pair:" in status and "Next round: Mon 12 Jan 2026, 10:00" in status


async def test_triad_rotates_and_no_repeats_while_avoidable(harness):
    h = harness
    people = ["sam", "jo", "rin", "kai", "lee", "ash", "max", "uma", "ivy"]
    await join(h, *people)
    await weekly(h)
    met: list[frozenset[str]] = []
    triads: list[frozenset[str]] = []
    for _ in range(3):
        h.sink.take()
        await h.advance(WEEK)
        found = groups(h.sink.take())
        assert sorted(len(g) for g in found) == [2, 2, 2, 3]
        assert sorted(m for g in found for m in g) == sorted(people)
        triad = next(g for g in found if len(g) == 3)
        assert not triads or not triad & triads[-1]
        triads.append(triad)
        met += [frozenset(p) for g in found for p in combinations(sorted(g), 2)]
    assert len(met) == len(set(met))  # three rounds, no pair met twice


async def test_four_members_three_rounds_then_oldest_repeats(harness):
    h = harness
    await join(h, "sam", "jo", "rin", "kai")
    await weekly(h)
    rounds: list[set[frozenset[str]]] = []
    for _ in range(4):
        h.sink.take()
        await h.advance(WEEK)
        rounds.append(set(groups(h.sink.take())))
    first_three = [p for r in rounds[:3] for p in r]
    assert len(first_three) == len(set(first_three)) == 6  # every pair once: no repeat
    assert rounds[3] == rounds[0]  # then the pairs who met longest ago


async def test_scheduled_round_with_nobody_in(harness):
    h = harness
    await weekly(h)
    h.sink.take()
    await h.advance(timedelta(hours=1))
    out = channel(h.sink.take())
    assert any("nobody is in" in text for text in out)


async def test_not_with_is_never_inferable(harness):
    h = harness
    await join(h, "sam", "jo")
    await h.say("sam", "pair not-with @jo", channel=None)
    h.sink.take()
    await h.say("alex", "pair now")
    out = h.sink.take()
    assert opened(out) == []
    assert private(out, "sam") == private(out, "jo")  # the same neutral words for both
    assert "not in a pair this round" in private(out, "jo")[0]
    row = await h.db.fetchone("SELECT other_hash, other_enc FROM pair_not_with")
    assert "jo" not in row[0] and len(row[0]) == 64 and row[1] is None  # a keyed hash only


async def test_not_with_respected_over_many_rounds(harness):
    h = harness
    await join(h, "sam", "jo", "rin", "kai", "lee", "ash")
    await h.say("jo", "pair not-with @sam", channel=None)
    await weekly(h)
    for _ in range(6):
        h.sink.take()
        await h.advance(WEEK)
        for group in groups(h.sink.take()):
            assert not {"sam", "jo"} <= group


# -- pause, leave, end -----------------------------------------------------------------------


async def test_pause_with_end_date_resumes_and_says_so(harness):
    h = harness
    await join(h, "sam", "jo", "rin")
    await weekly(h)
    await h.advance(timedelta(hours=2))  # round 1 under way
    out = await h.say("rin", "pair pause 10", channel=None)
    assert "paused until Thu 15 Jan 2026, 11:00 (UTC)" in out
    assert "carries on" in out
    h.sink.take()
    await h.advance(WEEK)  # round 2 starts without rin
    found = groups(h.sink.take())
    assert all("rin" not in g for g in found) and found == [frozenset({"sam", "jo"})]
    await h.advance(timedelta(days=3))
    resumed = private(h.sink.take(), "rin")
    assert any("pause from pairing has ended" in text for text in resumed)
    assert "Next round" in await h.say("rin", "pair status", channel=None)
    await h.advance(timedelta(days=4))
    assert any("rin" in g for g in groups(h.sink.take()))


async def test_pause_until_resumed(harness):
    h = harness
    await join(h, "sam", "jo", "rin")
    assert "until you come back" in await h.say("rin", "pair pause", channel=None)
    assert "paused until you resume" in await h.say("rin", "pair status", channel=None)
    h.sink.take()
    await h.say("alex", "pair now")
    assert groups(h.sink.take()) == [frozenset({"sam", "jo"})]
    assert "Welcome back" in await h.say("rin", "pair resume", channel=None)


async def test_leave_deletes_choices_keeps_history_and_rejoin_asks_again(harness):
    h = harness
    await join(h, "sam", "jo")
    await h.say("sam", "pair not-with @jo", channel=None)
    await h.say("sam", "pair not-with @jo remove", channel=None)
    await h.say("sam", "pair not-with @alex", channel=None)
    await h.say("alex", "pair now")
    h.sink.take()
    out = await h.say("sam", "pair leave", channel=None)
    assert "You've left pairing" in out and "ended too" in out
    notices = h.sink.take()
    assert any("has ended" in text for text in private(notices, "jo"))
    assert closed(notices)
    for table in ("pair_participants", "pair_not_with", "pair_checkins"):
        row = await h.db.fetchone(f"SELECT COUNT(*) FROM {table} WHERE member_id = (SELECT id FROM members WHERE platform_user_id = 'sam')")
        assert row[0] == 0, table
    row = await h.db.fetchone("SELECT COUNT(*) FROM pair_members")
    assert row[0] == 2  # who met whom stays, for the retention period
    row = await h.db.fetchone("SELECT withdrawn_at FROM pair_consents ORDER BY id LIMIT 1")
    assert row[0] is not None
    assert any(isinstance(i, ConfirmPrompt) for i in await h.run("sam", "pair join", channel=None))


async def test_pair_end_is_neutral_and_remembered_as_history(harness):
    h = harness
    await join(h, "sam", "jo", "rin", "kai")
    await h.say("alex", "pair now")
    out = h.sink.take()
    pair = next(g for g in groups(out) if "sam" in g)
    other = next(iter(pair - {"sam"}))
    assert "Your pair has ended" in await h.say("sam", "pair end", channel=None)
    out = h.sink.take()
    assert private(out, other) and "no reason is needed" in private(out, other)[0]
    assert "sam" not in private(out, other)[0]
    assert len(closed(out)) == 1
    assert "not in a pair right now" in await h.say("sam", "pair status", channel=None)
    rows = await h.db.fetchall("SELECT state FROM pairs ORDER BY id")
    assert [r[0] for r in rows].count("ended") == 1
    history = await h.app.pairing.repo.history(h.db, 1)
    assert len(history) == 2  # both pairs count as met


async def test_leaving_a_triad_leaves_the_other_two_a_fresh_space(harness):
    h = harness
    await join(h, "sam", "jo", "rin")
    await h.say("alex", "pair now")
    h.sink.take()
    await h.say("jo", "pair end", channel=None)
    out = h.sink.take()
    assert len(closed(out)) == 1
    fresh = opened(out)
    assert len(fresh) == 1 and set(fresh[0].member_ids) == {"sam", "rin"}
    assert any("now a pair" in text for text in private(out, "sam"))
    status = await h.say("sam", "pair status", channel=None)
    assert "Your current pair: rin" in status


# -- check-ins ---------------------------------------------------------------------------------


async def test_check_ins_mid_and_end_private_unless_shared(harness):
    h = harness
    await join(h, "sam", "jo")
    await weekly(h)
    await h.advance(timedelta(hours=1))
    space = opened(h.sink.take())[0].space_key
    await h.advance(timedelta(days=3, hours=12))
    mid = private(h.sink.take(), "sam")
    assert len(mid) == 1 and "Halfway through round 1 with jo" in mid[0]
    assert "1 far apart" in mid[0]
    out = await h.say("sam", "checkin seven", channel=None)
    assert "number from 1 to 5" in out
    assert "Noted, just for you" in await h.say("sam", "checkin 4", channel=None)
    assert h.sink.take() == []
    out = await h.say("sam", "checkin share talking about walks", channel=None)
    assert "shared in your pair's space" in out
    shared = posts(h.sink.take())
    assert len(shared) == 1 and shared[0].space_key == space and "talking about walks" in shared[0].text
    assert "check-in done" in await h.say("sam", "checkin skip", channel=None)
    assert "no check-in waiting" in await h.say("sam", "checkin", channel=None)
    raw = await h.db.fetchall("SELECT answers_enc FROM pair_checkins")
    assert all(b"walks" not in bytes(r[0] or b"") for r in raw)
    await h.advance(timedelta(days=4))
    out = h.sink.take()
    assert any("has ended" in text for text in private(out, "jo"))
    assert len(closed(out)) == 1
    before = await snapshot(h)
    out = await h.say("jo", "checkin share 5", channel=None)
    assert "has closed" in out
    assert await snapshot(h) == before
    assert "Stopped here" in await h.say("jo", "checkin done", channel=None)


async def test_checkin_asks_providers_in_order():
    feature = CheckinFeature()

    class Provider:
        def __init__(self, name, has):
            self.name, self.has, self.answered = name, has, []

        async def open_checkin(self, ctx):
            return OpenCheckin(self.name, 7, "q") if self.has else None

        async def answer_checkin(self, ctx, checkin_id, answer):
            self.answered.append((checkin_id, answer))
            return [Answer(self.name)]

    first, second, third = Provider("a", False), Provider("b", True), Provider("c", True)
    for provider in (first, second, third):
        feature.register_provider(provider)
    with pytest.raises(ValueError):
        feature.register_provider(Provider("b", True))
    private = SimpleNamespace(invocation=SimpleNamespace(private=True))  # answered in private
    out = await feature.checkin(private, {"answer": "hi"})
    assert out == [Answer("b")] and second.answered == [(7, "hi")] and third.answered == []


# -- silence, re-consent, restart, retention ---------------------------------------------------


async def test_three_silent_rounds_ask_then_pause_never_remove(harness):
    h = harness
    await join(h, "sam", "jo")
    await weekly(h)
    await h.advance(timedelta(hours=1))
    asked = []
    for _week in range(3):
        h.sink.take()
        await h.advance(WEEK)
        asked.append(private(h.sink.take(), "sam"))
    assert not any("rounds in a row" in t for t in asked[0] + asked[1])
    assert any("3 rounds in a row" in t for t in asked[2])
    h.sink.take()
    await h.advance(WEEK)
    out = h.sink.take()
    assert any("paused your pairing" in t for t in private(out, "sam"))
    assert opened(out) == []
    row = await h.db.fetchone("SELECT status, paused_until FROM pair_participants ORDER BY id LIMIT 1")
    assert tuple(row) == ("paused", None)
    assert "Welcome back" in await h.say("sam", "pair resume", channel=None)


async def test_answering_the_stay_question_keeps_you_in(harness):
    h = harness
    await join(h, "sam", "jo")
    await weekly(h)
    await h.advance(timedelta(hours=1) + 3 * WEEK)
    await h.say("sam", "pair status", channel=None)
    h.sink.take()
    await h.advance(WEEK)
    out = h.sink.take()
    assert not any("paused your pairing" in t for t in private(out, "sam"))


async def test_consent_text_change_asks_again_before_the_next_round(tmp_path, store):
    h = await make_harness(tmp_path)
    try:
        await join(h, "sam", "jo", "rin")
        await weekly(h)
    finally:
        await h.close()
    settings = load_settings(None, duty_of_care={"version": "2", "text": "A new duty-of-care statement."})
    h = await make_harness(tmp_path, settings=settings, start=START + timedelta(days=3))
    try:
        h.sink.take()
        await h.advance(timedelta(days=3, hours=1))  # Sunday 10:00: the heads-up for round 2
        out = h.sink.take()
        for name in ("sam", "jo", "rin"):
            texts = private(out, name)
            assert texts and "have changed" in texts[0] and "A new duty-of-care statement." in texts[0]
        status = await h.say("jo", "pair status", channel=None)
        assert "won't be paired until you say yes again" in status
        assert "in under the new words" in await h.say("sam", "yes", channel=None)
        assert "in under the new words" in await h.say("rin", "yes", channel=None)
        h.sink.take()
        await h.advance(timedelta(days=1))
        assert groups(h.sink.take()) == [frozenset({"sam", "rin"})]
        # A day later a bare "no" is no longer taken as about that question; its id answers it.
        late = await h.say("jo", "no", channel=None)
        assert "doesn't answer it any more" in late
        cid = re.search(r"/no (\d+)", late).group(1)
        assert "won't be paired until you agree" in await h.say("jo", f"no {cid}", channel=None)
    finally:
        await h.close()


async def test_restart_rebuilds_jobs(tmp_path, store):
    h = await make_harness(tmp_path)
    try:
        await join(h, "sam", "jo")
        await weekly(h)
    finally:
        await h.close()
    h = await make_harness(tmp_path, start=START + timedelta(minutes=30))
    try:
        h.sink.take()
        await h.advance(timedelta(hours=1))
        assert groups(h.sink.take()) == [frozenset({"sam", "jo"})]
    finally:
        await h.close()


async def test_retention_removes_who_met_whom(tmp_path, store):
    settings = load_settings(None, pairing={"retention_days": 10})
    h = await make_harness(tmp_path, settings=settings)
    try:
        await join(h, "sam", "jo")
        await weekly(h)
        await h.advance(timedelta(hours=1))
        assert len(await h.app.pairing.repo.history(h.db, 1)) == 1
        await h.advance(3 * WEEK)
        rows = await h.db.fetchall("SELECT number FROM pair_rounds r JOIN pairs p ON p.round_id = r.id")
        assert sorted(r[0] for r in rows) == [2, 3, 4]  # round 1 ended more than 10 days ago
    finally:
        await h.close()


async def test_stats_are_aggregates_with_small_numbers_hidden(harness):
    h = harness
    await join(h, "sam", "jo")
    await h.say("alex", "pair now")
    out = await h.say("alex", "pair stats")
    assert out.count("fewer than 5") >= 3 and "sam" not in out
    assert "rounds run: 1" in out
    await join(h, "rin", "kai", "lee", "ash")
    await h.say("rin", "pair pause", channel=None)
    out = await h.say("alex", "pair stats")
    assert "members in: 6" in out and "paused: fewer than 5" in out


async def test_round_started_by_hand_runs_its_default_length(harness):
    h = harness
    await join(h, "sam", "jo")
    assert "until Mon 19 Jan 2026, 09:00 (UTC)" in await h.say("alex", "pair now")
    h.sink.take()
    await h.advance(timedelta(days=7))
    assert any("Halfway through round 1" in t for t in private(h.sink.take(), "sam"))
    await h.advance(timedelta(days=7))
    out = h.sink.take()
    assert len(closed(out)) == 1 and any("has ended" in t for t in private(out, "jo"))
    assert "No round is scheduled yet" in await h.say("sam", "pair status", channel=None)


async def test_round_started_by_hand_takes_the_place_of_a_near_scheduled_start(harness):
    h = harness
    await join(h, "sam", "jo")
    await weekly(h)  # the first scheduled start is in an hour, and its heads-up is out
    out = await h.say("alex", "pair now")
    assert "Round 1 has begun, until Mon 12 Jan 2026, 10:00 (UTC)" in out
    assert "Next round: Mon 12 Jan 2026, 10:00" in await h.say("sam", "pair status", channel=None)
    h.sink.take()
    await h.advance(timedelta(hours=2))
    assert opened(h.sink.take()) == []  # the 10:00 start was taken by the round begun by hand
    await h.advance(WEEK)
    assert any("round 2" in space.text for space in opened(h.sink.take()))
    numbers = await h.db.fetchall("SELECT number, state FROM pair_rounds ORDER BY id")
    assert [tuple(r) for r in numbers] == [(1, "closed"), (2, "active")]
