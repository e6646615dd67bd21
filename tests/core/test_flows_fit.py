"""Issue 12: flows fit together as people use them (check-ins, plain answers, help, names,
waiting invitations, examples that work as written). Each test failed on the main of its day."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.context import Actor
from bot.replies import Answer
from tests.core.agreements.helpers import ID, meet, notices, say, start_pair, status
from tests.core.pairing.helpers import join, opened, private
from tests.harness import Harness


async def plain(h: Harness, user: str, text: str) -> str:
    intents = await h.app.handle_plain(h.inv(user, channel=None), text)
    await h.app.deliver_pending()
    return "\n".join(i.text for i in intents if isinstance(i, Answer))


async def agreed_with_review(h: Harness) -> str:
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit revisit-date 2026-01-08")
    await say(h, "alex", "agreement edit 7 We each name it when a message felt off.")
    await say(h, "alex", "agreement propose")
    await say(h, "sam", "agreement accept v1")
    await h.advance(timedelta(days=4))
    h.sink.take()
    return short_id


async def paired_round(h: Harness) -> None:
    await join(h, "sam", "jo")
    assert "Pairing rounds will start" in await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(hours=1))
    assert opened(h.sink.take())
    await h.advance(timedelta(days=3, hours=12))
    assert any("Halfway through" in text for text in private(h.sink.take(), "sam"))


# -- 5: an answered agreement check-in is done ---------------------------------------------------


async def test_an_answered_agreement_checkin_is_done(harness):
    h = harness
    short_id = await agreed_with_review(h)
    assert f"Agreement #{short_id}" in await say(h, "sam", "checkin")
    assert "Thank you for checking in" in await say(h, "sam", "checkin it still fits")
    out = await say(h, "sam", "checkin")
    assert "no check-in waiting" in out and "How is our agreement working" not in out
    # Asked for on request, it is offered once, and then it is done too.
    await say(h, "alex", "checkin still good")
    assert "no check-in waiting" in await say(h, "alex", "checkin")


# -- 6: plain-text answers in private --------------------------------------------------------------


async def test_a_plain_line_in_private_answers_a_waiting_agreement_checkin(harness):
    h = harness
    short_id = await agreed_with_review(h)
    assert "Thank you for checking in" in await plain(h, "sam", "it still fits")
    assert await status(h, short_id) == "agreed"
    # An open question: even "revisit" is an answer; revisiting is its own command (or button).
    out = await plain(h, "alex", "revisit")
    assert "Thank you for checking in" in out and f"agreement revisit #{short_id}" in out
    assert await status(h, short_id) == "agreed"


async def test_plain_answers_skip_and_done_in_a_pair_checkin(harness):
    h = harness
    await paired_round(h)
    assert "number from 1 to 5" in await plain(h, "sam", "seven")
    assert "Noted, just for you" in await plain(h, "sam", "4")
    assert "Skipped" in await plain(h, "sam", "skip")
    out = await plain(h, "sam", "done")
    assert "Stopped here" in out
    assert "no check-in waiting" in await h.say("sam", "checkin", channel=None)
    # In a shared channel a plain line is still nobody's business.
    assert await h.app.handle_plain(h.inv("jo", channel="circle"), "4") == []


async def test_plain_skip_and_done_move_through_a_dialog(harness):
    h = harness
    short_id = await start_pair(h)
    assert "(1 of 15)" in await say(h, "alex", "agreement edit")
    assert "(2 of 15) section 2" in await plain(h, "alex", "skip")
    await plain(h, "alex", "Walks help me.")
    assert "(2 of 15)" in await plain(h, "alex", "back")
    out = await plain(h, "alex", "done")
    view = await say(h, "alex", f"agreement view #{short_id}")
    assert "Walks help me." in view
    assert "skip" not in view and "back" not in view, view
    row = await h.db.fetchone("SELECT COUNT(*) FROM dialogs")
    assert row[0] == 0, out


# -- 8: check-in answers typed in a shared channel get the gentle note ---------------------------


async def test_a_checkin_answer_typed_in_a_channel_gets_the_gentle_note(harness):
    h = harness
    await paired_round(h)
    out = await h.say("sam", "checkin 4", channel="circle")
    assert "Noted" in out and "can be read there" in out
    assert "can be read there" not in await h.say("sam", "checkin skip", channel=None)


# -- 2: naming yourself among the parties is ignored; the welcome works as written ---------------


async def test_naming_yourself_among_the_parties_is_ignored(harness):
    h = harness
    await meet(h, "alex", "sam", "jo")
    out = await say(h, "alex", "agreement start @alex @sam")
    assert ID.search(out), out
    assert "sam" in out
    out = await say(h, "jo", "agreement start @alex @sam @jo")
    assert ID.search(out), out
    out = await say(h, "rin", "agreement start @alex @sam @jo")
    assert "two" in out and "Usage" not in out, out


async def test_the_pair_welcome_example_works_for_each_member_of_a_triad(harness):
    h = harness
    await join(h, "sam", "jo", "rin")
    assert "Pairing rounds will start" in await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(hours=1))
    spaces = opened(h.sink.take())
    triad = next(space for space in spaces if len(space.member_ids) == 3)
    line = next(part for part in triad.text.split() if part == "/agreement")
    start = triad.text.index(line)
    example = triad.text[start:].split(" opens")[0]
    assert example.count("@") == 3, example
    out = await h.say(triad.member_ids[0], example.removeprefix("/"), channel=None)
    assert ID.search(out), out


# -- 13: help shows groups and every way to answer --------------------------------------------


@pytest.mark.parametrize("group", ["questions", "pair", "agreement", "space-agreement"])
async def test_help_on_a_group_shows_its_commands(harness, group):
    out = await harness.say("alex", f"help {group}", channel=None)
    assert "no command" not in out.lower()
    assert f"/{group} " in out and out.count(f"/{group} ") >= 2, out


async def test_help_checkin_lists_skip_share_and_done(harness):
    out = await harness.say("sam", "help checkin", channel=None)
    for word in ("skip", "share", "done"):
        assert f"checkin {word}" in out, out


async def test_help_pair_schedule_shows_timezone_and_from(harness):
    out = await harness.say("alex", "help pair schedule", channel=None)
    assert "timezone" in out and "from" in out, out


async def test_agreement_start_has_no_phantom_argument(harness):
    out = await harness.say("sam", "help agreement start", channel=None)
    assert "[more]" not in out, out


# -- 14: people named plainly -----------------------------------------------------------------


async def test_a_plain_name_matching_one_member_works(harness):
    h = harness
    await meet(h, "alex", "sam", "samira")
    out = await say(h, "alex", "agreement start sam")
    assert ID.search(out) and "sam" in out, out
    assert "alex would like to negotiate" in " ".join(notices(h)["sam"])


async def test_an_ambiguous_plain_name_lists_the_choices(harness):
    h = harness
    await meet(h, "alex")
    for user_id in ("sam.k", "sam.l"):  # two people who both go by Sam
        inv = h.inv(user_id)
        await h.app.context(replace(inv, actor=Actor(user_id, "Sam", False)))
    before = await h.db.fetchone("SELECT COUNT(*) FROM agreements")
    out = await say(h, "alex", "agreement start sam")
    assert "sam.k" in out and "sam.l" in out, out
    assert await h.db.fetchone("SELECT COUNT(*) FROM agreements") == before


async def test_a_plain_name_nobody_has_gets_a_specific_answer(harness):
    h = harness
    await meet(h, "alex")
    out = await say(h, "alex", "agreement start nobody")
    assert "nobody" in out and "Usage" not in out, out


# -- 15: waiting questions are visible ------------------------------------------------------------


async def test_agreement_view_shows_a_pending_invitation(harness):
    h = harness
    await meet(h, "alex", "sam")
    out = await say(h, "alex", "agreement start @sam")
    short_id = ID.search(out).group(1)
    out = await say(h, "sam", "agreement view")
    assert "not in any agreement" not in out and "no agreement" not in out.lower(), out
    assert f"#{short_id}" in out and "alex" in out, out


async def test_a_bare_yes_says_what_else_is_waiting_newest_first(harness):
    h = harness
    await meet(h, "alex", "jo", "sam")
    await say(h, "alex", "agreement start @sam")
    await say(h, "jo", "agreement start @sam")
    out = await say(h, "sam", "agreement view")
    assert out.index("jo") < out.index("alex"), out
    out = await say(h, "sam", "yes")
    assert "joined" in out
    assert "jo" in out, out


# -- 17: withdraw your own space-agreement proposal; long section names ---------------------------


async def test_space_agreement_sections_accept_their_long_forms(harness):
    h = harness
    assert "draft" in (await say(h, "alex", "space-agreement draft", private=False)).lower()
    out = await say(h, "sam", "space-agreement propose how-we-talk We listen before we answer.")
    assert "I don't know" not in out, out
    changes = await say(h, "sam", "space-agreement changes")
    assert "How we talk with each other" in changes, changes
    out = await say(h, "sam", "space-agreement propose how We listen.")
    assert "I don't know a section" in out  # "how" could be two sections


async def test_withdraw_your_own_space_agreement_proposal(harness):
    h = harness
    await say(h, "alex", "space-agreement draft", private=False)
    out = await say(h, "sam", "space-agreement propose how-we-talk We listen before we answer.")
    assert "I don't know" not in out, out
    number = int(next(word.strip("#.,:") for word in out.split() if word.strip("#.,:").isdigit()))
    out = await say(h, "jo", f"space-agreement withdraw {number}")
    assert "withdrawn" not in out.lower() or "only" in out.lower(), out
    out = await say(h, "sam", f"space-agreement withdraw {number}")
    assert "withdrawn" in out.lower(), out
    out = await say(h, "sam", "space-agreement changes")
    assert "We listen before we answer." not in out


async def test_agreement_section_long_form(harness):
    h = harness
    short_id = await start_pair(h)
    out = await say(h, "alex", "agreement edit not-helpful Advice when I didn't ask.")
    assert "Saved" in out or "saved" in out, out
    out = await say(h, "alex", f"agreement edit #{short_id} checking-in A message each week.")
    assert "saved" in out.lower(), out


# -- Words: plurals chosen, not "(s)" -------------------------------------------------------------


async def test_space_agreement_counts_choose_their_plurals(harness):
    h = harness
    await say(h, "alex", "space-agreement draft", private=False)
    await say(h, "sam", "space-agreement propose purpose We are here to listen.")
    await say(h, "jo", "space-agreement object 1 I'd like to talk about the wording.")
    out = await say(h, "sam", "space-agreement changes")
    assert "1 objection open" in out and "(s)" not in out, out
    await h.advance(timedelta(days=30))
    texts = " ".join(" ".join(v) for v in notices(h).values())
    assert "(s)" not in texts, texts


def test_no_text_in_any_prompt_file_writes_a_plural_as_parenthesised_s():
    """Plurals are chosen properly (issue 12, Words): no "item(s)", "question(s)", "member(s)"."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "prompts"
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(root.rglob("*.toml"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "(s)" in line
    ]
    assert offenders == []
