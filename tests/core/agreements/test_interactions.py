"""The adapter-facing API: `App.handle_plain` (step-by-step dialogs), `App.submit_form` (Discord
modals) and `App.press_button` (Discord buttons), each re-checked against storage."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.context import CommunityRef
from bot.replies import ActionButtons, Answer, ConfirmPrompt, FormRequest
from tests.core.agreements.helpers import answers, dump, meet, notices, say, start_pair, status
from tests.harness import mention


def private(h, user):
    return h.inv(user, channel=None)


async def plain(h, user, text, channel=None):
    return answers(await h.app.handle_plain(h.inv(user, channel=channel), text))


async def view(h, user="alex"):
    return await say(h, user, "agreement view")


# -- dialogs (console, Matrix) -----------------------------------------------------------------


async def test_plain_lines_are_ignored_without_a_dialog_and_never_stored(harness):
    h = harness
    await start_pair(h)
    before = await dump(h)
    assert await plain(h, "alex", "just chatting") == []
    assert await plain(h, "stranger", "hello bot") == []
    assert await h.db.fetchone("SELECT 1 FROM members WHERE platform_user_id = 'stranger'") is None
    assert await dump(h) == before


async def test_stepping_through_every_section(harness):
    h = harness
    await start_pair(h)
    out = await say(h, "alex", "agreement edit")
    assert "(1 of 15) section 1, What matters to me" in out
    assert "What matters to you just now" in out
    # In a channel a plain line is never read, even with a dialog open.
    assert await plain(h, "alex", "said in the channel", channel="circle") == []
    step2 = await plain(h, "alex", "Being heard without being fixed.")
    assert "(2 of 15) section 2, Feeling safe with each other" in step2[0]
    assert "What does feeling safe with each other mean to you?" in step2[0]
    assert "(3 of 15)" in await say(h, "alex", "skip")
    back = await say(h, "alex", "back")
    assert "(2 of 15)" in back and "Your answer now: (none yet)" in back
    assert "(3 of 15)" in (await plain(h, "alex", "I stop replying."))[0]
    refused = await plain(h, "alex", "x" * 1001)
    assert "up to 1000 characters" in refused[0]
    assert "(4 of 15)" in (await plain(h, "alex", "A walk."))[0]
    done = await say(h, "alex", "done")
    assert "Your answers in agreement" in done
    text = await view(h)
    for expected in ("alex: Being heard without being fixed.", "alex: I stop replying.", "alex: A walk."):
        assert expected in text
    assert "said in the channel" not in text
    assert "nothing you're answering step by step" in await say(h, "alex", "done")
    assert "nothing you're answering step by step" in await say(h, "alex", "skip")


async def test_back_at_the_first_step_and_finishing_on_the_last(harness):
    h = harness
    await start_pair(h)
    await say(h, "alex", "agreement edit 11")
    assert "already the first step" in await say(h, "alex", "back")
    out = await plain(h, "alex", "Every few weeks, over tea.")
    assert "Your answers in agreement" in out[0]
    assert "Every few weeks, over tea." in await view(h)
    await say(h, "alex", "agreement edit revisit-date")
    assert "isn't a date I can read" in (await plain(h, "alex", "soon"))[0]
    await plain(h, "alex", "2026-04-01")
    assert "Review date: Wed, 1 Apr 2026." in await view(h)
    await say(h, "alex", "agreement edit 11")
    await plain(h, "alex", "-")
    assert "Every few weeks" not in await view(h)


async def test_a_dialog_while_a_version_is_out_makes_one_amendment_at_the_end(harness):
    h = harness
    short_id = await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "alex", "agreement propose")
    h.sink.take()
    await say(h, "sam", "agreement amend")
    await plain(h, "sam", "First answer.")
    await plain(h, "sam", "Second answer.")
    assert h.sink.take() == []  # nothing sent while answering
    out = await say(h, "sam", "done")
    assert "Version 2" in out and "section 1" in out and "section 2" in out
    sent = notices(h)["alex"]
    assert len(sent) == 1 and "First answer." in sent[0] and "Second answer." in sent[0]
    assert await status(h, short_id) == "proposed"


async def test_a_dialog_left_for_a_day_closes_and_keeps_what_was_given(harness):
    h = harness
    await start_pair(h)
    await say(h, "alex", "agreement edit")
    await plain(h, "alex", "Kept answer.")
    await h.advance(timedelta(hours=25))
    out = await plain(h, "alex", "a line typed much later")
    assert "closed after a day" in out[0]
    text = await view(h)
    assert "Kept answer." in text and "much later" not in text
    assert await plain(h, "alex", "another line") == []


async def test_withdrawal_ends_the_other_partys_dialog(harness):
    h = harness
    await start_pair(h)
    await say(h, "sam", "agreement edit")
    await say(h, "alex", "agreement withdraw")
    assert await plain(h, "sam", "an answer nobody will read") == []
    assert (await h.db.fetchone("SELECT COUNT(*) FROM dialogs"))[0] == 0


# -- forms and buttons (Discord) ---------------------------------------------------------------


def discord(h, user):
    inv = h.inv(user, channel=None)
    return replace(inv, community=CommunityRef("discord", "guild-1", "guild"))


async def discord_say(h, user, line):
    intents = await h.app.handle_text(discord(h, user), line, mention)
    await h.app.deliver_pending()
    return intents


async def discord_pair(h):
    for name in ("alex", "sam"):
        await h.app.context(discord(h, name))
    await discord_say(h, "alex", "agreement start @sam")
    await discord_say(h, "sam", "yes")
    h.sink.take()
    row = await h.db.fetchone("SELECT short_id FROM agreements ORDER BY id DESC LIMIT 1")
    return row[0]


async def test_editing_on_discord_opens_forms_of_at_most_five_fields(harness):
    h = harness
    short_id = await discord_pair(h)
    [choose] = await discord_say(h, "alex", "agreement edit")
    assert isinstance(choose, ActionButtons)
    ids = [custom_id for custom_id, _ in choose.buttons]
    assert ids == [
        f"agreement:form:{short_id}:12.1.2.3.4",
        f"agreement:form:{short_id}:13.14.5.6.7",
        f"agreement:form:{short_id}:8.9.10.11.date",
    ]
    forms = []
    for custom_id in ids:
        [form] = await h.app.press_button(discord(h, "alex"), custom_id)
        assert isinstance(form, FormRequest) and 1 <= len(form.fields) <= 5
        assert all(len(f.label) <= 45 for f in form.fields) and len(form.title) <= 45
        forms.append(form)
    # Field keys are where answers are stored: the five first sections asked are stored under
    # 12 (added with the fourteen sections), then 1 to 4 (as they always were).
    assert [f.key for f in forms[0].fields] == ["12", "1", "2", "3", "4"]
    assert forms[2].fields[4].key == "date" and forms[2].fields[4].max_length == 10
    [single] = await discord_say(h, "alex", "agreement edit 3")
    assert isinstance(single, FormRequest) and [f.key for f in single.fields] == ["2"]  # section 3

    out = await h.app.submit_form(discord(h, "alex"), forms[0].form_id, {"1": "Form answer one.", "3": "Form three."})
    assert "Saved in agreement" in answers(out)[0]
    [again] = await h.app.press_button(discord(h, "alex"), ids[0])
    assert {f.key: f.value for f in again.fields}["1"] == "Form answer one."  # pre-filled
    out = await h.app.submit_form(discord(h, "alex"), forms[0].form_id, {"1": "Form answer one.", "3": ""})
    assert "section 4" in answers(out)[0]  # emptied: cleared (stored under 3, asked fourth)
    out = await h.app.submit_form(discord(h, "alex"), forms[0].form_id, {"1": "Form answer one."})
    assert "Nothing in agreement" in answers(out)[0]
    out = await h.app.submit_form(discord(h, "alex"), forms[2].form_id, {"date": "2020-01-01"})
    assert "already come" in answers(out)[0]


async def test_forged_forms_change_nothing(harness):
    h = harness
    short_id = await discord_pair(h)
    await h.app.context(discord(h, "jo"))
    before = await dump(h)
    expected = answers(await discord_say(h, "jo", "agreement view #ZZZZZ"))
    for user, form_id, values in (
        ("jo", f"agreement:edit:{short_id}:1.2", {"1": "forged"}),  # not a party
        ("alex", f"agreement:edit:{short_id}:1.2", {"7": "outside the form"}),
        ("alex", f"agreement:edit:{short_id}:1.99", {"1": "bad step"}),
        ("alex", "agreement:edit:ZZZZZ:1", {"1": "no such"}),
        ("alex", f"agreement:delete:{short_id}:1", {"1": "unknown action"}),
        ("alex", "agreement:edit", {}),
    ):
        assert answers(await h.app.submit_form(discord(h, user), form_id, values)) == expected
    assert "belongs to something that has closed" in answers(await h.app.submit_form(discord(h, "alex"), "other:x", {}))[0]
    assert await dump(h) == before


async def test_buttons_accept_the_version_they_came_with_and_nothing_else(harness):
    h = harness
    short_id = await discord_pair(h)
    await discord_say(h, "alex", "agreement edit 1 words")
    await discord_say(h, "alex", "agreement propose")
    [sent] = h.sink.take()
    accept_v1 = sent.buttons[0][0]
    await discord_say(h, "alex", "agreement amend 1 other words")
    [sent2] = h.sink.take()
    accept_v2, amend_v2, withdraw = (b[0] for b in sent2.buttons)
    await h.app.context(discord(h, "jo"))
    expected = answers(await discord_say(h, "jo", "agreement view #ZZZZZ"))
    before = await dump(h)
    for user, custom_id in (
        ("sam", accept_v1),  # replayed: an old version
        ("jo", accept_v2),  # copied: someone else's agreement
        ("alex", accept_v2.replace(short_id, "ZZZZZ")),
        ("sam", accept_v2[:-1] + ("0" if accept_v2[-1] != "0" else "1")),  # forged hash
        ("sam", f"agreement:accept:{short_id}"),
        ("sam", f"agreement:launch:{short_id}:x"),
        ("sam", "agreement"),
        ("jo", withdraw),
        ("sam", withdraw + ":extra"),
        ("jo", f"agreement:form:{short_id}:1"),
        ("sam", f"agreement:form:{short_id}:1.2.3.4.5.6"),
    ):
        assert answers(await h.app.press_button(discord(h, user), custom_id)) == expected, custom_id
    assert await dump(h) == before
    assert "you've accepted it already" in answers(await h.app.press_button(discord(h, "alex"), accept_v2))[0]
    out = await h.app.press_button(discord(h, "sam"), accept_v2)
    assert "is agreed" in answers(out)[0]
    assert await status(h, short_id) == "agreed"
    # Once agreed, the buttons of the agreed version are spent.
    assert answers(await h.app.press_button(discord(h, "sam"), amend_v2)) == expected


async def test_the_amend_and_withdraw_buttons(harness):
    h = harness
    short_id = await discord_pair(h)
    await discord_say(h, "alex", "agreement edit 1 words")
    await discord_say(h, "alex", "agreement propose")
    [sent] = h.sink.take()
    _, amend, withdraw = (b[0] for b in sent.buttons)
    [choose] = await h.app.press_button(discord(h, "sam"), amend)
    assert isinstance(choose, ActionButtons) and len(choose.buttons) == 3
    [confirm] = await h.app.press_button(discord(h, "sam"), withdraw)
    assert isinstance(confirm, ConfirmPrompt) and "Withdraw from agreement" in confirm.text
    assert await status(h, short_id) == "proposed"  # a button alone never withdraws
    assert "stays as it is" in answers(await discord_say(h, "sam", "no"))[0]
    await h.app.press_button(discord(h, "sam"), withdraw)
    out = await discord_say(h, "sam", "yes")
    await h.app.deliver_pending()
    assert "withdrawn from agreement" in answers(out)[0]
    assert await status(h, short_id) == "withdrawn"
    assert "sam has withdrawn" in notices(h)["alex"][0]


async def test_a_button_on_a_text_platform_opens_the_dialog(harness):
    h = harness
    await start_pair(h)
    await say(h, "alex", "agreement edit 1 words")
    await say(h, "alex", "agreement propose")
    [sent] = h.sink.take()
    out = await h.app.press_button(private(h, "sam"), sent.buttons[1][0])
    assert "(1 of 15)" in answers(out)[0]
    assert isinstance(out[0], Answer)


async def test_meet_helper_members_exist(harness):
    await meet(harness, "alex")
    assert await harness.db.fetchone("SELECT 1 FROM members WHERE platform_user_id = 'alex'") is not None


async def test_on_discord_a_mentioned_member_who_never_used_the_bot_can_be_invited(harness):
    h = harness
    await h.app.context(discord(h, "alex"))
    [answer] = await discord_say(h, "alex", "agreement start @123456789")
    assert "asked 123456789 privately" in answer.text
    prompts = [i for i in h.sink.take() if isinstance(i, ConfirmPrompt)]
    assert [p.user_id for p in prompts] == ["123456789"]


async def test_a_withdraw_confirmation_for_an_agreement_already_ended_is_used_up(harness):
    h = harness
    short_id = await discord_pair(h)
    await discord_say(h, "alex", "agreement edit 1 words")
    await discord_say(h, "alex", "agreement propose")
    [sent] = h.sink.take()
    await h.app.press_button(discord(h, "sam"), sent.buttons[2][0])
    await discord_say(h, "alex", "agreement withdraw")
    assert "can't find that agreement" in answers(await discord_say(h, "sam", "yes"))[0]
    assert "nothing waiting" in answers(await discord_say(h, "sam", "yes"))[0]
    assert await status(h, short_id) == "withdrawn"
