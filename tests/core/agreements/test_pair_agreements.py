"""Pair agreements through the real App: negotiation, three people, bad input, outsiders, storage
encryption, history, review reminders and check-ins, retention, forgetting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.replies import ActionButtons, Answer, ConfirmPrompt, PrivateMessage
from tests.core.agreements.helpers import (
    ID,
    dump,
    meet,
    notices,
    say,
    start_pair,
    status,
)
from tests.harness import make_harness, stored_bytes


async def test_a_full_negotiation(harness):
    h = harness
    await meet(h, "alex", "sam")
    out = await say(h, "alex", "agreement start @sam", private=False)
    assert "Agreement #" in out and "asked sam privately" in out
    short_id = ID.search(out).group(1)
    invite = [i for i in h.sink.take() if isinstance(i, ConfirmPrompt)]
    assert len(invite) == 1 and invite[0].user_id == "sam"
    # Nothing beyond who asked: no agreement text, no id.
    assert "alex would like to negotiate" in invite[0].text and short_id not in invite[0].text

    assert "You've joined agreement" in await say(h, "sam", "yes")
    assert "sam has joined" in notices(h)["alex"][0]

    assert "Saved in agreement" in await say(h, "alex", "agreement edit 1 Being able to say no without explaining.")
    assert "Saved" in await say(h, "sam", "agreement edit safe Knowing you'll tell me if something I said landed badly.")
    assert "Saved" in await say(h, "sam", "agreement edit revisit-date 2026-03-02")
    out = await say(h, "alex", "agreement propose")
    assert "Version 1" in out and "on its way to sam" in out
    sent = h.sink.take()
    assert len(sent) == 1 and isinstance(sent[0], ActionButtons) and sent[0].user_id == "sam"
    assert "Being able to say no" in sent[0].text and "Knowing you'll tell me" in sent[0].text
    assert [b[0].split(":")[:3] for b in sent[0].buttons] == [
        ["agreement", "accept", short_id],
        ["agreement", "amend", short_id],
        ["agreement", "withdraw", short_id],
    ]
    assert await status(h, short_id) == "proposed"

    # sam amends: a new version, back to proposed, which counts as sam's acceptance.
    out = await say(h, "sam", "agreement amend 5 Evenings only, and never about work.")
    assert "Version 2" in out
    assert "sam has amended" in notices(h)["alex"][0]
    assert "You made version 2" in await say(h, "sam", "agreement accept v2")
    out = await say(h, "alex", "agreement accept v2")
    assert "agreement #" + short_id + " is agreed" in out
    assert "it is agreed" in notices(h)["sam"][0]
    assert await status(h, short_id) == "agreed"

    # Revisit: the agreed version stays in force while a new one is negotiated.
    assert "open for revisiting" in await say(h, "sam", "agreement revisit")
    assert "would like to revisit" in notices(h)["alex"][0]
    await say(h, "alex", "agreement edit 1 Being able to say no, and to say maybe later.")
    view = await say(h, "sam", "agreement view")
    assert "What you agreed, which stays until you agree a new version: version 2" in view
    assert view.index("Being able to say no without explaining.") < view.index("Being negotiated:")
    assert "say maybe later" in view.split("Being negotiated:")[1]
    assert "Version 3" in await say(h, "alex", "agreement propose")
    row = await h.db.fetchone("SELECT in_force_version, status FROM agreements WHERE short_id = ?", (short_id,))
    assert tuple(row) == (2, "revisiting")
    assert "is agreed" in await say(h, "sam", "agreement accept v3")
    row = await h.db.fetchone("SELECT in_force_version, status FROM agreements WHERE short_id = ?", (short_id,))
    assert tuple(row) == (3, "agreed")

    history = await say(h, "alex", "agreement history")
    for expected in (
        "alex started it",
        "sam joined",
        "alex proposed version 1 (alex wrote section 1; sam wrote section 2; the review date changed)",
        "sam amended it: version 2 (sam wrote section 5)",
        "alex accepted version 2",
        "everyone had accepted version 2",
        "sam opened it for revisiting (version 2 stayed as agreed)",
        "alex proposed version 3 (alex wrote section 1)",
        "everyone had accepted version 3",
    ):
        assert expected in history
    assert "Evenings only" not in history  # history names sections, never their text

    out = await say(h, "alex", "agreement withdraw")
    assert "withdrawn from agreement" in out and "30 days" in out
    assert "alex has withdrawn" in notices(h)["sam"][-1]
    assert await status(h, short_id) == "withdrawn"
    # The other party can still read it until it is deleted; nobody can change it.
    assert "withdrawn on" in await say(h, "sam", f"agreement view #{short_id}")
    assert "was withdrawn" in await say(h, "sam", f"agreement amend #{short_id} 3 more")
    assert "withdrawn on" in await say(h, "sam", "agreement view")
    assert "was withdrawn" in await say(h, "sam", "agreement edit 1 more")


async def test_a_three_person_agreement_needs_all_three(harness):
    h = harness
    await meet(h, "alex", "sam", "jo", "rin")
    out = await say(h, "jo", "agreement start @sam @rin")
    short_id = ID.search(out).group(1)
    prompts = {i.user_id: i.text for i in h.sink.take() if isinstance(i, ConfirmPrompt)}
    assert set(prompts) == {"sam", "rin"}
    assert "with you and rin" in prompts["sam"] and "with you and sam" in prompts["rin"]
    assert "waiting for sam and rin" in await say(h, "jo", "agreement propose")
    await say(h, "sam", "yes")
    assert "waiting for rin" in await say(h, "jo", "agreement propose")
    await say(h, "rin", "yes")
    assert "Everyone invited has answered" in "".join(notices(h)["jo"])
    await say(h, "rin", "agreement edit 6 A thumbs-up emoji means I'm fine to keep going.")
    assert "on its way to sam and rin" in await say(h, "jo", "agreement propose")
    h.sink.take()
    assert "Still to accept it: rin" in await say(h, "sam", "agreement accept v1")
    assert await status(h, short_id) == "proposed"
    # A note on someone else's answer makes a new version; earlier acceptances no longer count.
    out = await say(h, "jo", "agreement amend 6 @rin Could a heart emoji mean the same?")
    assert "Version 2" in out and "on its way to sam and rin" in out
    assert "Still to accept it: sam" in await say(h, "rin", "agreement accept v2")
    assert "is agreed" in await say(h, "sam", "agreement accept v2")
    view = await say(h, "rin", "agreement view")
    assert "jo's note on rin's answer: Could a heart emoji mean the same?" in view
    assert "between jo, sam and rin" in view


async def test_one_of_three_declining_leaves_the_other_two(harness):
    h = harness
    await meet(h, "alex", "sam", "jo")
    short_id = ID.search(await say(h, "alex", "agreement start @sam @jo")).group(1)
    await say(h, "sam", "yes")
    h.sink.take()
    assert "Nothing more will come" in await say(h, "jo", "no")
    sent = notices(h)
    assert "jo isn't joining" in sent["alex"][0] and "jo isn't joining" in sent["sam"][0]
    assert "between alex and sam" in await say(h, "alex", "agreement view")
    assert await status(h, short_id) == "draft"


async def test_declining_a_pair_closes_it_with_a_neutral_notice(harness):
    h = harness
    await meet(h, "alex", "sam")
    short_id = ID.search(await say(h, "alex", "agreement start @sam")).group(1)
    await say(h, "alex", "agreement edit 2 I go quiet.")
    h.sink.take()
    assert "Nothing more will come" in await say(h, "sam", "no")
    notice = notices(h)["alex"][0]
    assert "sam isn't joining" in notice and "No reason is asked for" in notice
    assert await status(h, short_id) == "withdrawn"
    assert "was withdrawn" in await say(h, "alex", "agreement propose")
    await h.advance(timedelta(days=31))
    assert "not part of an agreement" in await say(h, "alex", "agreement view")


async def test_invitations_to_one_member_wait_their_turn(harness):
    h = harness
    await meet(h, "alex", "sam", "jo")
    await say(h, "alex", "agreement start @sam")
    await say(h, "jo", "agreement start @sam")
    asked = [i for i in h.sink.take() if isinstance(i, ConfirmPrompt)]
    assert [i.text.split()[0] for i in asked] == ["alex"]  # jo's waits behind alex's
    intents = await h.run("sam", "yes", channel=None)
    follow = [i for i in intents if isinstance(i, ConfirmPrompt)]
    assert len(follow) == 1 and follow[0].text.startswith("jo would like")
    await h.run("sam", "no", channel=None)
    assert "sam isn't joining" in notices(h)["jo"][-1]


async def test_an_invitation_that_lapsed_is_asked_again(harness):
    h = harness
    await meet(h, "alex", "sam")
    short_id = ID.search(await say(h, "alex", "agreement start @sam")).group(1)
    assert f"already have agreement #{short_id}" in await say(h, "alex", "agreement start @sam")
    assert "already invited you" in await say(h, "sam", "agreement start @alex")
    await h.advance(timedelta(days=8))
    # Expired (or already cleared away by the daily retention job): nothing to answer now.
    late = await say(h, "sam", "yes")
    assert "expired" in late or "nothing waiting" in late
    h.sink.take()
    assert "asked sam again" in await say(h, "alex", "agreement start @sam")
    assert any(isinstance(i, ConfirmPrompt) for i in h.sink.take())
    assert "joined" in await say(h, "sam", "yes")


# -- bad input: a specific, kind answer and nothing changed ------------------------------------

BAD_INPUT = [
    ("alex", "agreement start @alex", "needs someone besides you"),
    ("alex", "agreement start @zed", "I don't know \"zed\" in this space"),
    ("alex", "agreement start @sam @jo @rin", "at most two others"),
    ("alex", "agreement edit 15 words", "I don't know a section called \"15\""),
    ("alex", "agreement edit feelings words", "I don't know a section called \"feelings\""),
    ("alex", "agreement edit #ZZZZZ 3 words", "I can't find that agreement among yours"),
    ("alex", "agreement edit 3 " + "x" * 1001, "up to 1000 characters, and this one has 1001"),
    ("alex", "agreement edit revisit-date 2025-12-31", "has already come"),
    ("alex", "agreement edit revisit-date someday", "isn't a date I can read"),
    ("alex", "agreement amend 3 @sam a note", "A note goes on the answer of someone else"),
    ("alex", "agreement amend 3 @alex a note", "A note goes on the answer of someone else"),
    ("alex", "agreement amend revisit-date @jo a note", "A note goes with one section"),
    ("alex", "agreement propose", "nothing to propose"),
    ("alex", "agreement accept", "nothing to accept"),
    ("alex", "agreement revisit", "isn't agreed yet"),
    ("sam", "agreement view", "not part of an agreement"),
    ("sam", "agreement edit 1 hello", "not part of an agreement"),
]


@pytest.mark.parametrize(("who", "line", "expected"), BAD_INPUT)
async def test_bad_input_is_answered_kindly_and_changes_nothing(tmp_path, who, line, expected, store):
    h = await make_harness(tmp_path)
    try:
        await meet(h, "alex", "sam", "jo", "rin")
        await say(h, "alex", "agreement start @jo")
        await say(h, "jo", "yes")
        h.sink.take()
        before = await dump(h)
        out = await say(h, who, line)
        assert expected in out
        assert await dump(h) == before
        assert h.sink.take() == []
    finally:
        await h.close()


async def test_accepting_your_own_proposal_twice_and_amending_withdrawn(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "alex", "agreement propose")
    h.sink.take()
    before = await dump(h)
    assert "so you've accepted it already" in await say(h, "alex", "agreement accept")
    assert "is already waiting to be accepted" in await say(h, "alex", "agreement propose")
    assert "already what agreement" in await say(h, "alex", "agreement amend 1 words")
    assert await dump(h) == before
    await say(h, "sam", "agreement withdraw")
    h.sink.take()
    before = await dump(h)
    for line in (
        "agreement amend #{id} 1 other words",
        "agreement edit #{id} 2 more words",
        "agreement edit #{id}",
        "agreement accept #{id}",
        "agreement propose #{id}",
        "agreement revisit #{id}",
        "agreement withdraw #{id}",
    ):
        assert "was withdrawn, so it can't change" in await say(h, "alex", line.format(id=short_id))
    assert await dump(h) == before
    assert h.sink.take() == []


async def test_several_agreements_need_an_id_and_say_so(harness):
    h = harness
    first = await start_pair(h, "alex", "sam")
    second = await start_pair(h, "alex", "jo")
    out = await say(h, "alex", "agreement view")
    assert "more than one agreement" in out and f"#{first}" in out and f"#{second}" in out
    assert "agreement view #" in out
    assert "between alex and jo" in await say(h, "alex", f"agreement view #{second}")
    assert "between alex and jo" in await say(h, "alex", f"agreement view {second.lower()}")
    assert "Saved" in await say(h, "alex", f"agreement edit #{first} 3 a walk")
    assert "Saved" in await say(h, "alex", f"agreement edit {second} helped a call")
    assert "between alex and sam" in await say(h, "sam", "agreement view")


# -- outsiders learn nothing -------------------------------------------------------------------

COMMANDS_WITH_ID = [
    "agreement view #{id}",
    "agreement history #{id}",
    "agreement edit #{id} 3 my words",
    "agreement edit #{id}",
    "agreement amend #{id} 3 my words",
    "agreement propose #{id}",
    "agreement accept #{id}",
    "agreement revisit #{id}",
    "agreement withdraw #{id}",
]


async def test_outsiders_get_exactly_the_no_such_agreement_answer(harness):
    h = harness
    short_id = await start_pair(h, "sam", "rin")
    await meet(h, "alex", "jo", "kit")
    await say(h, "sam", "agreement edit 1 private words")
    await say(h, "sam", "agreement propose")
    # kit is invited to another agreement of sam's but is not a party to this one.
    await say(h, "sam", "agreement start @kit")
    h.sink.take()
    before = await dump(h)
    for template in COMMANDS_WITH_ID:
        expected = await say(h, "jo", template.format(id="ZZZZZ"))
        assert "can't find that agreement" in expected
        for outsider in ("jo", "alex", "kit"):  # a member, a facilitator, someone invited elsewhere
            for private in (True, False):
                got = await say(h, outsider, template.format(id=short_id), private=private)
                assert got == expected, (outsider, template)
    assert await dump(h) == before
    assert h.sink.take() == []


async def test_an_invited_member_who_has_not_answered_is_still_an_outsider(harness):
    h = harness
    await meet(h, "alex", "sam")
    short_id = ID.search(await say(h, "alex", "agreement start @sam")).group(1)
    await say(h, "alex", "agreement edit 1 words only alex has written")
    out = await say(h, "sam", f"agreement view #{short_id}")
    assert "can't find that agreement" in out and "words only alex" not in out


# -- storage -----------------------------------------------------------------------------------


async def test_no_section_text_is_stored_in_plain_form(harness):
    h = harness
    marker = "Marigold-Answer-7731"
    short_id = await start_pair(h)
    await say(h, "alex", f"agreement edit 1 {marker} one")
    await say(h, "sam", f"agreement amend 1 @alex {marker} note")
    await say(h, "alex", "agreement propose")
    await say(h, "sam", f"agreement amend 3 {marker} three")
    await say(h, "alex", "agreement accept v2")
    await say(h, "alex", "agreement revisit")
    await say(h, "alex", "agreement edit")  # a dialog, in private
    await h.app.handle_plain(h.inv("alex", channel=None), f"{marker} via dialog")
    await say(h, "alex", "agreement history")
    assert await status(h, short_id) == "revisiting"
    # Deliveries are done (their content dropped); one more queued but undelivered notice too.
    await say(h, "sam", "agreement edit 4 just a draft")
    if h.engine == "sqlite":
        await h.db.fetchall("PRAGMA wal_checkpoint(FULL)")
        for path in h.path.parent.iterdir():
            if path.name.startswith(h.path.name):
                data = path.read_bytes()
                assert marker.encode() not in data, path.name
                assert marker.encode("utf-16-le") not in data, path.name
    else:
        data = await stored_bytes(h.location)
        assert marker.encode() not in data and marker.encode("utf-16-le") not in data
    # The working copy and every version decrypt with the data key, and only with it.
    community = await h.app.community_for(h.inv("alex"))
    row = await h.app.agreements.pair.repo.by_short_id(h.db, community.id, short_id)
    assert f"{marker} via dialog" in str(row.draft) and f"{marker} note" in str(row.draft)


# -- review dates, check-ins, retention, forgetting --------------------------------------------


async def test_review_date_reminds_both_and_opens_a_checkin(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit revisit-date 2026-01-08")
    await say(h, "alex", "agreement edit 7 We each name it when a message felt off.")
    await say(h, "alex", "agreement propose")
    await say(h, "sam", "agreement accept v1")
    h.sink.take()
    await h.advance(timedelta(days=2, hours=23))  # Thu 08 Jan 08:00: not yet
    assert h.sink.take() == []
    await h.advance(timedelta(hours=2))
    sent = notices(h)
    assert set(sent) == {"alex", "sam"}
    assert all("Today is the review date" in texts[0] for texts in sent.values())
    # The check-in: "how is our agreement working for you now?" through the `checkin` command;
    # revisiting is started by the command (or a button), never by a word in the answer.
    out = await say(h, "sam", "checkin")
    assert f"Agreement #{short_id} with alex. How is our agreement working for you now?" in out
    assert "Thank you for checking in" in (await h.run("sam", "checkin It still fits.", channel=None))[0].text
    assert await status(h, short_id) == "agreed"
    out = await say(h, "alex", f"agreement revisit #{short_id}")
    assert "open for revisiting" in out
    assert await status(h, short_id) == "revisiting"
    assert "would like to revisit" in notices(h)["sam"][0]
    # A restart neither repeats the reminder nor loses anything.
    await h.advance(timedelta(days=1))
    assert h.sink.take() == []


async def test_the_reminder_is_sent_once_across_restarts(tmp_path, store):
    h = await make_harness(tmp_path)
    await start_pair(h)
    await say(h, "alex", "agreement edit revisit-date 2026-01-08")
    await say(h, "alex", "agreement edit 7 We each name it when a message felt off.")
    await say(h, "alex", "agreement propose")
    await say(h, "sam", "agreement accept v1")
    await h.close()
    # Down through the review date; at start the reminder goes out once.
    from datetime import UTC, datetime

    h = await make_harness(tmp_path, start=datetime(2026, 1, 8, 12, tzinfo=UTC))
    try:
        assert sorted(notices(h)) == ["alex", "sam"]
        await h.close()
        h = await make_harness(tmp_path, start=datetime(2026, 1, 8, 13, tzinfo=UTC))
        assert h.sink.take() == []
    finally:
        await h.close()


async def test_checkin_on_request_and_the_provider_directly(harness):
    h = harness
    short_id = await start_pair(h)
    assert "no check-in waiting" in await say(h, "alex", "checkin")
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "alex", "agreement propose")
    await say(h, "sam", "agreement accept v1")
    provider = h.app.agreements.checkin_provider
    ctx = await h.app.context(h.inv("alex", channel=None))
    found = await provider.open_checkin(ctx)
    assert found is not None and found.provider == "agreements" and short_id in found.question_text
    out = await provider.answer_checkin(ctx, found.checkin_id, "It works for me.")
    assert "Thank you for checking in" in out[0].text and f"agreement revisit #{short_id}" in out[0].text
    assert await status(h, short_id) == "agreed"
    outsider = await h.app.context(h.inv("jo", channel=None))
    assert await provider.open_checkin(outsider) is None


async def test_withdrawn_text_is_deleted_after_the_retention_window(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "sam", "agreement withdraw")
    await h.advance(timedelta(days=29))
    assert await status(h, short_id) == "withdrawn"
    await h.advance(timedelta(days=2))
    assert await status(h, short_id) == "gone"
    for table in ("agreement_versions", "agreement_parties", "agreement_events"):
        assert (await h.db.fetchone(f"SELECT COUNT(*) FROM {table}"))[0] == 0
    assert "can't find that agreement" in await say(h, "alex", f"agreement view #{short_id}")


async def test_forgetting_a_member_withdraws_and_deletes_at_once(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await meet(h, "jo")
    await say(h, "jo", "agreement start @alex")
    h.sink.take()
    ctx = await h.app.context(h.inv("alex", channel=None))
    async with h.db.transaction() as tx:
        await h.app.agreements.pair.forget_member(tx, ctx)
    await h.app.deliver_pending()
    assert await status(h, short_id) == "gone"
    sent = notices(h)
    assert "alex has withdrawn" in sent["sam"][0] and "alex isn't joining" in sent["jo"][0]


async def test_notices_to_others_are_private_messages_only(harness):
    h = harness
    await start_pair(h)
    await say(h, "alex", "agreement edit 1 words", private=False)
    await say(h, "alex", "agreement propose", private=False)
    await say(h, "sam", "agreement accept v1", private=False)
    for intent in h.sink.take():
        assert isinstance(intent, PrivateMessage | ActionButtons | ConfirmPrompt)
    for intent in await h.run("alex", "agreement view", channel="circle"):
        assert isinstance(intent, Answer) and intent.private


async def test_words_typed_in_a_channel_get_a_gentle_note(harness):
    h = harness
    await start_pair(h)
    assert "can be read there" in await say(h, "alex", "agreement edit 1 words", private=False)
    assert "can be read there" not in await say(h, "alex", "agreement edit 2 words")
