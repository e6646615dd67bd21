"""Yes/no questions: a bare yes answers only the newest question while it is fresh, and a
destructive one (erasing your data, withdrawing from an agreement) expires after minutes, says so
when it is asked, and does nothing once expired (issue 11, hole 3)."""

from datetime import timedelta

from alongside.settings import load_settings
from bot.replies import ConfirmPrompt
from tests.harness import make_harness

ME = "sam"


async def member_exists(h, user: str) -> bool:
    row = await h.db.fetchone("SELECT 1 FROM members WHERE platform_user_id = ?", (user,))
    return row is not None


async def ask_forget(h) -> ConfirmPrompt:
    (prompt,) = [i for i in await h.run(ME, "/mydata forget", channel=None) if isinstance(i, ConfirmPrompt)]
    return prompt


async def test_forget_prompt_names_how_long_it_stays_open(harness):
    prompt = await ask_forget(harness)
    assert "This stays open for 15 minutes." in prompt.text


async def test_bare_yes_two_days_later_erases_nothing(harness):
    h = harness
    await ask_forget(h)
    h.clock.advance(timedelta(days=2))
    answer = await h.say(ME, "yes", channel=None)
    assert "expired" in answer and "nothing was done" in answer, answer
    assert await member_exists(h, ME)
    # The stale question is gone: a second yes finds nothing to answer.
    assert "nothing waiting" in await h.say(ME, "yes", channel=None)
    assert await member_exists(h, ME)


async def test_yes_with_the_id_after_expiry_erases_nothing(harness):
    h = harness
    prompt = await ask_forget(h)
    h.clock.advance(timedelta(minutes=16))
    answer = await h.say(ME, f"yes {prompt.confirmation_id}", channel=None)
    assert "expired" in answer, answer
    assert await member_exists(h, ME)


async def test_yes_within_the_window_erases(harness):
    h = harness
    prompt = await ask_forget(h)
    h.clock.advance(timedelta(minutes=14))
    assert "has been erased" in await h.say(ME, "yes", channel=None)
    assert not await member_exists(h, ME)
    prompt = await ask_forget(h)  # a new member row (they used a command again)
    h.clock.advance(timedelta(minutes=14))
    assert "has been erased" in await h.say(ME, f"yes {prompt.confirmation_id}", channel=None)
    assert not await member_exists(h, ME)


async def test_the_window_is_a_setting(tmp_path, store):
    settings = load_settings(None).model_copy(deep=True)
    settings.confirmations.fresh_minutes = 5
    h = await make_harness(tmp_path, settings=settings)
    try:
        prompt = await ask_forget(h)
        assert "This stays open for 5 minutes." in prompt.text
        h.clock.advance(timedelta(minutes=6))
        assert "expired" in await h.say(ME, "yes", channel=None)
        assert await member_exists(h, ME)
    finally:
        await h.close()


async def test_bare_yes_answers_a_pairing_consent_only_while_fresh(harness):
    """Pairing consent is not destructive: it keeps its longer life, but a day later only
    `yes <id>` answers it, and a bare yes says so and changes nothing."""
    h = harness
    (prompt,) = [i for i in await h.run(ME, "/pair join", channel=None) if isinstance(i, ConfirmPrompt)]
    h.clock.advance(timedelta(days=1))
    answer = await h.say(ME, "yes", channel=None)
    assert f"yes {prompt.confirmation_id}" in answer, answer
    assert (await h.db.fetchone("SELECT COUNT(*) FROM pair_participants"))[0] == 0
    assert "You're in" in await h.say(ME, f"yes {prompt.confirmation_id}", channel=None)


async def test_bare_yes_answers_only_the_newest_question(harness):
    """An older forget question stays unanswered by a bare yes meant for a newer consent."""
    h = harness
    await ask_forget(h)
    h.clock.advance(timedelta(minutes=1))
    await h.run(ME, "/pair join", channel=None)
    assert "You're in" in await h.say(ME, "yes", channel=None)
    # The forget question is now the newest; it is still fresh, so a bare no answers it.
    assert "Nothing was erased" in await h.say(ME, "no", channel=None)
    assert await member_exists(h, ME)


async def test_withdrawing_by_button_expires_after_the_window(harness):
    """The other destructive question: withdrawing from an agreement (Discord's button)."""
    from tests.core.agreements.helpers import status
    from tests.core.agreements.test_interactions import discord, discord_pair, discord_say

    h = harness
    short_id = await discord_pair(h)
    await discord_say(h, "alex", "agreement edit 1 words")
    await discord_say(h, "alex", "agreement propose")
    [sent] = h.sink.take()
    withdraw = sent.buttons[-1][0]
    [confirm] = await h.app.press_button(discord(h, "sam"), withdraw)
    assert isinstance(confirm, ConfirmPrompt) and "This stays open for 15 minutes." in confirm.text
    h.clock.advance(timedelta(minutes=16))
    late = await discord_say(h, "sam", f"yes {confirm.confirmation_id}")
    assert "expired" in late[0].text
    assert await status(h, short_id) == "proposed"
