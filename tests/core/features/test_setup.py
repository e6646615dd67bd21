"""`setup`: a facilitator cannot lock themselves out without saying so, unknown settings and
channels that do not exist or where the bot may not post get a specific answer, and nothing
changes on a refusal."""

from __future__ import annotations

from bot.features.setup import ChannelVerdict
from bot.replies import ConfirmPrompt


class FakePlatform:
    """What an adapter would answer: channels it knows, and a members-or-listed facilitator rule."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def check_channel(self, community: str, value: str) -> ChannelVerdict:
        self.asked.append(("channel", value))
        if value == "announcements":
            return ChannelVerdict(None, "no_post")
        return ChannelVerdict("id-" + value) if value in ("circle", "reflections") else ChannelVerdict(None, "missing")

    async def facilitator_under(self, community: str, user_id: str, rule: str) -> bool | None:
        self.asked.append(("rule", rule))
        if rule.startswith("members:"):
            return user_id in rule.removeprefix("members:").split(",")
        return user_id == "alex"


async def community(harness):
    return await harness.app.communities.find(harness.db, "console", "demo")


async def test_a_rule_leaving_the_person_out_asks_first_and_no_keeps_it(harness):
    for rule in ("members:nobody", "members:sam,jo"):
        intents = await harness.run("alex", f"/setup facilitator-rule {rule}")
        (prompt,) = intents
        assert isinstance(prompt, ConfirmPrompt)
        assert "you would no longer be a facilitator" in prompt.text and "alongside facilitators reset" in prompt.text
        assert (await community(harness)).facilitator_rule == ""
    answer = await harness.say("alex", "/no", channel=None)
    assert "Nothing changed" in answer
    assert (await community(harness)).facilitator_rule == ""


async def test_a_rule_leaving_the_person_out_is_saved_after_yes(harness):
    await harness.run("alex", "/setup facilitator-rule members:nobody")
    answer = await harness.say("alex", "/yes", channel=None)
    assert "Saved: facilitator-rule is now members:nobody" in answer
    assert (await community(harness)).facilitator_rule == "members:nobody"


async def test_a_rule_that_keeps_the_person_is_saved_at_once(harness):
    answer = await harness.say("alex", "/setup facilitator-rule members:alex,sam")
    assert answer == "Saved: facilitator-rule is now members:alex,sam."


async def test_saving_the_default_rule_says_what_setup_lists(harness):
    # Found walking the first-month journey: the save said "not set" while `setup` then listed
    # "the platform default", two names for one thing.
    answer = await harness.say("alex", "/setup facilitator-rule default")
    assert answer == "Saved: facilitator-rule is now the platform default."
    assert "facilitator rule: the platform default" in await harness.say("alex", "/setup")


async def test_the_adapter_decides_rules_only_it_can_read(harness):
    platform = FakePlatform()
    harness.app.register_checks(platform)
    assert "Saved" in await harness.say("alex", "/setup facilitator-rule power:50")
    harness.facilitators.add("sam")
    (prompt,) = await harness.run("sam", "/setup facilitator-rule power:100")
    assert isinstance(prompt, ConfirmPrompt)
    assert ("rule", "power:100") in platform.asked


async def test_unknown_setting_gets_a_specific_answer(harness):
    answer = await harness.say("alex", "/setup bogus value")
    assert '"bogus" isn\'t a setting I know' in answer
    assert "timezone, locale, question-channel, pairing-channel, facilitator-rule" in answer
    assert "This space's settings" not in answer


async def test_channels_are_checked_with_the_platform(harness):
    harness.app.register_checks(FakePlatform())
    missing = await harness.say("alex", "/setup question-channel #!!bad")
    assert "can't find a channel \"#!!bad\"" in missing and "/setup question-channel #circle" in missing
    no_post = await harness.say("alex", "/setup pairing-channel #announcements")
    assert "not allowed to post in \"#announcements\"" in no_post
    stored = await community(harness)
    assert stored.question_channel == "" and stored.pairing_channel == ""
    # What is stored is the platform's own id for the channel.
    assert "Saved" in await harness.say("alex", "/setup question-channel #reflections")
    assert (await community(harness)).question_channel == "id-reflections"


async def test_a_yes_from_someone_no_longer_a_facilitator_saves_nothing(harness):
    await harness.run("alex", "/setup facilitator-rule members:nobody")
    harness.facilitators.discard("alex")
    answer = await harness.say("alex", "/yes", channel=None)
    assert "is for the space's facilitators" in answer
    assert (await community(harness)).facilitator_rule == ""


async def test_saved_channels_are_shown_as_channels(harness):
    assert "Saved: question-channel is now #reflections." in await harness.say(
        "alex", "/setup question-channel reflections"
    )


async def test_the_members_example_in_a_refusal_works_as_written_on_every_platform(harness):
    """The refusal's `members:` example names the person reading it by their id on this platform
    (a Matrix id here), so typing it as shown keeps them a facilitator and is saved at once;
    a fixed `members:alex,sam` would lock a Matrix or Discord facilitator out (issue 12,
    defect 2, found on the Matrix journeys)."""
    me = "@alex:example.org"
    harness.facilitators.add(me)
    refusal = await harness.say(me, "/setup facilitator-rule whoever")
    assert '"whoever" isn\'t a facilitator rule I can use.' in refusal
    assert f"members:{me}" in refusal and "members:alex,sam" not in refusal
    example = refusal.split("members:", 1)[1].split(",", 1)[0].split(" ", 1)[0]
    saved = await harness.say(me, f"/setup facilitator-rule members:{example}")
    assert saved == f"Saved: facilitator-rule is now members:{me}."
    assert (await community(harness)).facilitator_rule == f"members:{me}"
