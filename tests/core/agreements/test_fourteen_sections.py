"""Issue 14: the pair agreement's fourteen sections (PRODUCT.md §4), agreements made with the
eleven sections before them, section names in long and short forms, the space's resources and
duty-of-care statement inside the sections, Discord forms, and the open agreement check-in."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import timedelta

from alongside.settings import load_settings
from bot.config import DEFAULT_PROMPTS_DIR
from bot.context import CommunityRef
from bot.features.agreements.commands import SECTION_KEYS
from bot.features.agreements.content import content_hash
from bot.replies import ActionButtons, Answer, FormRequest, PrivateFile
from tests.core.agreements.helpers import dump, notices, say, start_pair, status
from tests.harness import make_harness, mention

# The fourteen sections in the order PRODUCT.md §4 asks them, by short name.
ORDER = (
    "matters",
    "safe",
    "noticing",
    "helped",
    "not-helpful",
    "if-worried",
    "afterwards",
    "offer",
    "checking-in",
    "repair",
    "disagree",
    "confidentiality",
    "involve",
    "revisit",
)


def sections() -> list[dict]:
    return tomllib.loads((DEFAULT_PROMPTS_DIR / "en" / "agreement.toml").read_text(encoding="utf-8"))["section"]


def test_fourteen_sections_in_the_products_order():
    found = sections()
    assert SECTION_KEYS == ORDER
    assert [s["key"] for s in found] == list(ORDER)
    assert [s["number"] for s in found] == list(range(1, 15))
    titles = {s["key"]: s["title"] for s in found}
    assert titles["if-worried"].startswith("If one of us is worried")
    assert titles["afterwards"].startswith("Afterwards")
    assert titles["matters"].startswith("What matters")


def test_a_hash_of_content_written_with_the_eleven_sections_is_unchanged():
    # Content as the eleven-section code stored it (answers under sections "1" to "11"), and the
    # hash that code computed for it: the same content must hash the same for ever.
    old = {
        "answers": {
            "1": {"1": "Being able to say no without explaining.", "3": "A walk, then tea.", "11": "After a month."},
            "2": {"9": "What we say here stays here."},
        },
        "notes": {"2": {"1": {"1": "Yes, always."}}},
        "review_date": "2026-03-01",
    }
    assert content_hash(old, {1, 2}) == "959e2ff920fbe43a79af3740d7bf16d674e03eeecdec67f8202fbbf5f25ce1cd"


async def test_an_agreement_made_with_the_old_sections_keeps_its_hash_and_still_accepts(harness):
    h = harness
    short_id = await start_pair(h)
    community = await h.app.community_for(h.inv("alex"))
    row = await h.app.agreements.pair.repo.by_short_id(h.db, community.id, short_id)
    alex, sam = row.ordered_ids
    # Written and proposed as the eleven-section code stored it: section 1 ("safe"), 3 ("helped")
    # and 11 ("revisit"). Put in storage directly, as an upgrade finds it.
    old = {
        "answers": {
            str(alex): {"1": "Being able to say no.", "3": "A walk, then tea.", "11": "After a month."},
            str(sam): {"9": "What we say here stays here."},
        },
        "notes": {},
        "review_date": None,
    }
    digest = content_hash(old, {alex, sam})
    async with h.db.transaction() as tx:
        repo = h.app.agreements.pair.repo
        await repo.save_draft(tx, row.id, old)
        number = await repo.add_version(tx, row.id, old, digest, alex, h.clock.now())
        await repo.update(tx, row.id, h.clock.now(), status="proposed", proposal_version=number,
                          proposal_hash=digest, proposed_by=alex)
        await repo.accept(tx, row.id, alex, number, digest, h.clock.now())
    stored = await h.db.fetchone("SELECT hash FROM agreement_versions WHERE agreement_id = ?", (row.id,))
    assert stored[0] == digest

    # Read with the fourteen sections: each old answer under its own section, now numbered in the
    # new order; the new sections are simply empty.
    view = await say(h, "sam", "agreement view")
    assert "2. Feeling safe with each other\n   alex: Being able to say no." in view
    assert "4. What has helped" in view and "alex: A walk, then tea." in view
    assert "12. What stays between us\n   sam: What we say here stays here." in view
    assert "14. Revisiting this agreement\n   alex: After a month." in view
    assert "Nothing written yet in sections 1, 3, 5, 6, 7, 8, 9, 10, 11, 13." in view

    # It still verifies and accepts: the version's hash is what was stored.
    out = await say(h, "sam", "agreement accept v1")
    assert f"agreement #{short_id} is agreed" in out
    after = await h.db.fetchone("SELECT in_force_hash, status FROM agreements WHERE id = ?", (row.id,))
    assert tuple(after) == (digest, "agreed")
    version = await repo.version(h.db, row.id, 1)
    assert version.content == old and content_hash(version.content, {alex, sam}) == digest


async def test_sections_by_number_short_name_and_long_form(harness):
    h = harness
    short_id = await start_pair(h)
    for line, title in (
        (f"agreement edit #{short_id} if-worried Ask me straight out how I am.", "If one of us is worried"),
        ("agreement edit what-matters Getting back to painting.", "What matters"),
        (f"agreement edit #{short_id} what-matters-to-me Being a good friend again.", "What matters"),
        ("agreement edit 7 Give me a day, then ask me how it was.", "Afterwards"),
        ("agreement edit afterwards Tell me what it was like for you too.", "Afterwards"),
        ("agreement edit if-one-of-us-is-worried Don't call my family without asking me.", "If one of us is worried"),
        ("agreement edit matters Finding my own words.", "What matters"),
    ):
        out = await say(h, "alex", line)
        assert f"Saved in agreement #{short_id}: section" in out and title in out, line
    view = await say(h, "alex", "agreement view")
    assert "1. What matters to me" in view and "alex: Finding my own words." in view
    assert "6. If one of us is worried" in view and "alex: Don't call my family without asking me." in view
    assert "7. Afterwards" in view and "alex: Tell me what it was like for you too." in view
    # A word that is no section, and one that could mean two, get the kind list of sections.
    for given in ("worries", "what"):
        out = await say(h, "alex", f"agreement edit {given} some words")
        assert f"I don't know a section called \"{given}\"" in out and "if-worried" in out and "1 to 14" in out


async def test_help_lists_the_section_names(harness):
    out = await say(harness, "alex", "help agreement edit")
    for key in ORDER:
        assert key in out
    assert "what-matters" in out  # a long form, as an example
    group = await say(harness, "alex", "help agreement")
    assert "if-worried" in group and "afterwards" in group


async def test_the_dialog_shows_resources_in_section_4_and_the_duty_of_care_word_for_word_in_12(tmp_path, store):
    settings = load_settings(None)
    duty = settings.duty_of_care.model_copy(update={"text": "Our own words: we call nobody unless you ask us to."})
    h = await make_harness(tmp_path, settings=settings.model_copy(update={"duty_of_care": duty}))
    try:
        await start_pair(h)
        await say(h, "alex", "resources add name: Peer Line; contact: text 555 0100; peer-run: yes", private=False)
        steps = []
        out = await say(h, "sam", "agreement edit")
        steps.append(out)
        for _ in range(13):
            steps.append(await say(h, "sam", "skip"))
        assert "(1 of 15) section 1, What matters" in steps[0]
        assert "(4 of 15) section 4, What has helped" in steps[3] and "Peer Line: text 555 0100" in steps[3]
        assert "Peer Line" not in steps[2] and "Peer Line" not in steps[4]
        assert "(6 of 15) section 6, If one of us is worried" in steps[5]
        assert "(12 of 15) section 12, What stays between us" in steps[11]
        assert "Our own words: we call nobody unless you ask us to." in steps[11]
        assert "Our own words" not in steps[10]
        assert "(14 of 15) section 14" in steps[13]
        # The agreement as read shows the statement in section 12 too, word for word.
        await say(h, "sam", "done")
        await say(h, "sam", "agreement edit confidentiality Nothing leaves this chat without asking.")
        view = await say(h, "sam", "agreement view")
        assert "Our own words: we call nobody unless you ask us to." in view
    finally:
        await h.close()


async def test_the_default_duty_of_care_comes_from_the_prompts(harness):
    h = harness
    assert load_settings(None).duty_of_care.text == ""
    out = await say(h, "alex", "resources")
    default = h.app.catalog.text("en", "duty_of_care.default")
    assert default and default in out
    assert default in await say(h, "alex", "space-agreement show")


def discord(h, user):
    return replace(h.inv(user, channel=None), community=CommunityRef("discord", "guild-1", "guild"))


async def discord_pair(h) -> str:
    for name in ("alex", "sam"):
        await h.app.context(discord(h, name))
    await h.app.handle_text(discord(h, "alex"), "agreement start @sam", mention)
    await h.app.handle_text(discord(h, "sam"), "yes", mention)
    await h.app.deliver_pending()
    h.sink.take()
    row = await h.db.fetchone("SELECT short_id FROM agreements ORDER BY id DESC LIMIT 1")
    return row[0]


async def test_discord_forms_cover_the_fourteen_sections_in_order_within_the_label_limit(harness):
    h = harness
    await discord_pair(h)
    [choose] = await h.app.handle_text(discord(h, "alex"), "agreement edit", mention)
    assert isinstance(choose, ActionButtons) and len(choose.buttons) == 3
    labels: list[str] = []
    for custom_id, _ in choose.buttons:
        [form] = await h.app.press_button(discord(h, "alex"), custom_id)
        assert isinstance(form, FormRequest) and 1 <= len(form.fields) <= 5
        for field in form.fields:
            assert len(field.label) <= 45
            labels.append(field.label)
    # Whole labels, none cut off at the limit: each names its section in full.
    by_key = {s["key"]: s for s in sections()}
    assert labels[:14] == [f"section {by_key[k]['number']}, {by_key[k]['title']}" for k in ORDER]
    assert labels[14] == "Review date"
    [single] = await h.app.handle_text(discord(h, "alex"), "agreement edit if-worried", mention)
    assert isinstance(single, FormRequest) and single.fields[0].label.startswith("section 6, If one of us")


# -- the agreement check-in: an open question, and a button or command to revisit ---------------


async def agreed_with_review(h) -> str:
    return await agreed(h, revisit_date="2026-01-08")


async def agreed(h, revisit_date: str | None = None) -> str:
    """alex and sam agree an agreement (alex answers one section); with `revisit_date`, a
    review date is set, so a check-in is asked on that day."""
    short_id = await start_pair(h)
    if revisit_date:
        await say(h, "alex", f"agreement edit revisit-date {revisit_date}")
    await say(h, "alex", "agreement edit repair We each name it when a message felt off.")
    await say(h, "alex", "agreement propose")
    await say(h, "sam", "agreement accept v1")
    h.sink.take()
    return short_id


async def test_the_review_asks_an_open_question_with_a_button_to_revisit(harness):
    h = harness
    short_id = await agreed_with_review(h)
    await h.advance(timedelta(days=4))
    sent = [i for i in h.sink.take() if getattr(i, "user_id", "") == "sam"]
    assert len(sent) == 1 and isinstance(sent[0], ActionButtons)
    assert "How is our agreement working for you now?" in sent[0].text
    assert "does it still fit" not in sent[0].text and "answering revisit" not in sent[0].text
    assert sent[0].buttons == ((f"agreement:revisit:{short_id}", "Revisit it together"),)
    # The question, asked again through `checkin`: open, no magic word.
    out = await say(h, "sam", "checkin")
    assert "How is our agreement working for you now?" in out and "Answer revisit" not in out
    # The button starts revisiting (for the one who presses it), like the command.
    [pressed] = await h.app.press_button(h.inv("sam", channel=None), sent[0].buttons[0][0])
    assert "open for revisiting" in pressed.text
    await h.app.deliver_pending()
    assert await status(h, short_id) == "revisiting"
    assert "would like to revisit" in notices(h)["alex"][0]


async def test_an_answer_is_the_authors_alone_and_the_word_revisit_is_just_an_answer(harness):
    h = harness
    short_id = await agreed_with_review(h)
    await h.advance(timedelta(days=4))
    h.sink.take()
    before = await h.db.fetchall("SELECT kind, detail FROM agreement_events ORDER BY id")
    intents = await h.run("sam", "checkin revisit", channel=None)
    text = "\n".join(i.text for i in intents)
    assert "Thank you" in text and f"agreement revisit #{short_id}" in text
    assert await status(h, short_id) == "agreed"  # an answer, not a command
    assert h.sink.take() == []  # nobody else is told anything
    # Nothing of the words is kept anywhere: only that sam checked in.
    events = await h.db.fetchall("SELECT kind, detail FROM agreement_events ORDER BY id")
    assert [e[0] for e in events[len(before):]] == ["checked_in"]
    assert "revisit" not in json.dumps([tuple(e) for e in events[len(before):]])
    assert "no check-in waiting" in await say(h, "sam", "checkin")


async def test_on_discord_a_checkin_answer_comes_with_the_revisit_button(harness):
    h = harness
    short_id = await discord_pair(h)
    for user, line in (("alex", "agreement edit repair Say when a message felt off."),
                       ("alex", "agreement propose"), ("sam", "agreement accept v1")):
        await h.app.handle_text(discord(h, user), line, mention)
    [thanks] = await h.app.handle_text(discord(h, "alex"), "checkin Fine so far.", mention)
    assert isinstance(thanks, ActionButtons) and "Thank you" in thanks.text
    assert thanks.buttons == ((f"agreement:revisit:{short_id}", "Revisit it together"),)
    [pressed] = await h.app.press_button(discord(h, "alex"), thanks.buttons[0][0])
    assert "open for revisiting" in pressed.text and await status(h, short_id) == "revisiting"
    # A button for an agreement that is not yours changes nothing and says no more than "not found".
    await h.app.context(discord(h, "jo"))
    [refused] = await h.app.press_button(discord(h, "jo"), thanks.buttons[0][0])
    assert "can't find that agreement" in refused.text


async def test_a_checkin_answer_is_shared_only_when_its_author_chooses(harness):
    h = harness
    await agreed_with_review(h)
    await h.advance(timedelta(days=4))
    h.sink.take()
    intents = await h.run("alex", "checkin share It helps; I'd like more check-ins.", channel=None)
    assert "shared with sam" in "\n".join(i.text for i in intents)
    sent = notices(h)
    assert list(sent) == ["sam"] and "It helps; I'd like more check-ins." in sent["sam"][0]
    assert "alex" in sent["sam"][0]


async def test_a_plain_line_in_private_answers_the_agreement_checkin(harness):
    h = harness
    short_id = await agreed_with_review(h)
    await h.advance(timedelta(days=4))
    h.sink.take()
    assert await h.app.plain_reader("console", "demo", "sam") == "checkin"
    intents = await h.app.handle_plain(h.inv("sam", channel=None), "It works well for me.")
    text = "\n".join(i.text for i in intents)
    assert "Thank you" in text and await status(h, short_id) == "agreed"
    assert not [i for i in intents if isinstance(i, Answer) and "I don't" in i.text]
    assert await h.app.plain_reader("console", "demo", "sam") is None


async def test_on_discord_the_form_choice_shows_the_resources_and_the_duty_of_care(harness):
    h = harness
    await discord_pair(h)
    [choose] = await h.app.handle_text(discord(h, "alex"), "agreement edit", mention)
    duty = h.app.catalog.text("en", "duty_of_care.default")
    assert "With section 12, What stays between us:" in choose.text and duty in choose.text
    assert "With section 4, What has helped:" not in choose.text  # no resources listed yet
    await h.app.handle_text(
        replace(discord(h, "alex"), actor=replace(discord(h, "alex").actor, is_facilitator=True)),
        "resources add name: Peer Line; contact: text 555 0100", mention,
    )
    [choose] = await h.app.handle_text(discord(h, "alex"), "agreement edit", mention)
    assert "With section 4, What has helped:" in choose.text and "Peer Line: text 555 0100" in choose.text


async def test_a_plain_line_answers_only_a_checkin_the_bot_asked(harness):
    # With an agreed agreement and no review date, nothing was asked: `checkin` offers the
    # question on request, but a plain line in private is just a line, not an answer to it.
    h = harness
    short_id = await agreed(h)
    before = await h.db.fetchall("SELECT kind FROM agreement_events ORDER BY id")
    assert await h.app.plain_reader("console", "demo", "sam") is None
    assert await h.app.handle_plain(h.inv("sam", channel=None), "hello, is anyone there?") == []
    assert await h.db.fetchall("SELECT kind FROM agreement_events ORDER BY id") == before
    # Asked for, it is there.
    assert "How is our agreement working for you now?" in await say(h, "sam", "checkin")
    assert "Thank you for checking in" in await say(h, "sam", f"checkin #{short_id} is in it")


async def test_mydata_export_names_each_answer_by_its_section_as_asked(harness):
    h = harness
    await start_pair(h)
    await say(h, "alex", "agreement edit matters Getting back to painting.")
    await say(h, "alex", "agreement edit safe Saying no without explaining.")
    await say(h, "alex", "agreement amend if-worried @sam Yes, that too.")
    intents = await h.run("alex", "/mydata export", channel=None)
    (export,) = [i for i in intents if isinstance(i, PrivateFile)]
    text = export.content
    assert '"section 1 (matters)": "Getting back to painting."' in text
    assert '"section 2 (safe)": "Saying no without explaining."' in text
    assert '"your note on section 6 (if-worried) (another party\'s answer)": "Yes, that too."' in text
    assert "section 12" not in text


async def test_a_long_form_before_a_mention_never_turns_a_note_into_an_own_answer(harness):
    h = harness
    short_id = await start_pair(h)
    before = await dump(h)
    out = await say(h, "alex", f"agreement amend #{short_id} what-matters @sam A note.")
    assert "Which section is that for?" in out
    assert await dump(h) == before
    # The short name, which the command knows, takes the note.
    out = await say(h, "alex", f"agreement amend #{short_id} matters @sam A note.")
    assert "your note on sam's answer to section 1, What matters to me" in out


async def test_sharing_nothing_is_refused_kindly_and_changes_nothing(harness):
    h = harness
    await agreed_with_review(h)
    await h.advance(timedelta(days=4))
    h.sink.take()
    before = await dump(h)
    assert "Sharing needs an answer after it" in await say(h, "sam", "checkin share")
    assert await dump(h) == before and h.sink.take() == []
    assert "How is our agreement working for you now?" in await say(h, "sam", "checkin")


def test_the_space_agreements_facilitator_section_defers_to_the_duty_of_care_statement():
    path = DEFAULT_PROMPTS_DIR / "en" / "space_agreement.toml"
    template = tomllib.loads(path.read_text(encoding="utf-8"))["section"]
    facilitators = next(s for s in template if s["key"] == "facilitators")["text"]
    # No promise of its own about contacting anyone outside the space, which could contradict
    # the space's statement: it points to that statement (section 6) instead.
    assert "don't contact anyone outside the space" not in facilitators
    assert "duty-of-care statement (section 6)" in facilitators
    assert next(s for s in template if s["number"] == 6)["key"] == "duty-of-care"


async def test_a_share_typed_when_no_checkin_was_asked_sends_nothing_until_the_question_is_seen(harness):
    """`checkin share <text>` with no check-in waiting (a pair's check-in that closed as the round
    ended, say) used to go to whichever agreement of theirs was agreed: the text reached that
    agreement's parties, people the member was never shown it would go to (found by
    bench/soak.py). Now nothing is shared: the member is shown the question, with whom a shared
    answer goes to, and the same line typed again shares it."""
    h = harness
    short_id = await agreed(h)
    out = await say(h, "alex", "checkin share I'd like us to message a bit more.")
    assert "Nothing has been shared" in out
    assert f"Agreement #{short_id} with sam" in out and "checkin share <your answer> sends it to sam" in out
    assert "message a bit more" not in "\n".join(t for texts in notices(h).values() for t in texts)
    # Seen: the same line now shares it, with sam only.
    out = await say(h, "alex", "checkin share I'd like us to message a bit more.")
    assert "shared with sam" in out
    assert any("message a bit more" in text for text in notices(h).get("sam", []))
    # Just for themselves, an answer on request is taken at once (nothing of it goes anywhere).
    out = await say(h, "sam", "checkin It works for me.")
    assert "Your answer stays with you" in out
