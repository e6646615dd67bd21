"""Every command as a slash interaction: reachable, permission-checked on the server side every
time, bad input answered kindly with nothing changed, slow work deferred, suggestions offered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.discord.tree import TIMEZONE_OPTION
from bot.commands.spec import Arg, ArgType, CommandSpec, Who
from bot.replies import Answer, PrivateFile
from tests.discord.conftest import Bot, all_buttons, texts

EPHEMERAL = 1 << 6


def sample(bot: Bot, spec: CommandSpec, arg: Arg) -> Any:
    """A value Discord's client would let a member send for this option."""
    match arg.type:
        case ArgType.INT:
            return arg.min if arg.min is not None else 1
        case ArgType.MEMBER:
            return bot.uid("bob")
        case ArgType.CHOICE:
            return arg.choices[0]
        case ArgType.RECURRENCE:
            return "daily 18:00"
        case ArgType.TIMEZONE:
            return "Europe/London"
        case ArgType.WORD:
            return "purpose" if spec.group == "space-agreement" else "K7M2Q"
    text = "What helps you feel heard in a group?"
    if arg.name == "recurrence":
        text = "every 2 weeks mon 10:00"
    if arg.max is not None:
        text = text[: arg.max]
    return text.ljust(arg.min or 0, ".")


def options_for(bot: Bot, spec: CommandSpec, *, required_only: bool = False) -> dict[str, Any]:
    return {
        arg.name: sample(bot, spec, arg)
        for arg in spec.args
        if arg.required or not required_only
        if not (arg.name == "more")  # there to answer "too many people" kindly
    }


async def test_every_registry_command_reaches_the_core_as_a_slash_command(bot: Bot, monkeypatch) -> None:
    seen: list[str] = []
    real = bot.app.handle_structured

    async def spy(inv, name, options, resolve):
        seen.append(name)
        return await real(inv, name, options, resolve)

    monkeypatch.setattr(bot.app, "handle_structured", spy)
    specs = bot.app.registry.specs()
    for spec in specs:
        handle = await bot.slash("fay", spec.name, options_for(bot, spec, required_only=True))
        callback = await handle.response()
        assert callback.ok, (spec.name, callback.status, callback.response)
        assert callback.json["type"] in (4, 9), spec.name  # a message, or a form to fill in
        if callback.json["type"] == 4:
            assert callback.json["data"]["flags"] & EPHEMERAL, f"{spec.name} answered in public"
            assert texts(handle), spec.name
    assert seen == [spec.name for spec in specs]
    assert bot.server.unhandled == []


async def test_commands_with_every_option_given(bot: Bot) -> None:
    for spec in bot.app.registry.specs():
        if len(spec.args) < 2:
            continue
        handle = await bot.slash("fay", spec.name, options_for(bot, spec))
        assert (await handle.response()).ok, spec.name


async def test_facilitator_commands_are_checked_on_the_server_every_time(bot: Bot) -> None:
    refused = bot.app.catalog.text("en", "perm.facilitator_only", usage="", prefix="/").split("is for")[1]
    facilitator_only = [s for s in bot.app.registry.specs() if s.who is Who.FACILITATOR]
    assert facilitator_only
    for spec in facilitator_only:
        # The loopback, like a modified client, ignores Discord's default-permission hint.
        answer = await bot.say("alice", spec.name, options_for(bot, spec, required_only=True))
        assert refused in answer, (spec.name, answer)
    assert bot.posts(bot.circle) == []
    # fay has Manage Server: the platform default.
    assert "posted" in await bot.say("fay", "questions now")


async def test_facilitator_rule_by_role(bot: Bot) -> None:
    helpers = bot.server.add_role(bot.guild.id, "hosts")
    answer = await bot.say("fay", "setup", {"setting": "facilitator-rule", "value": f"role:{helpers.id}"})
    assert f"role:{helpers.id}" in answer
    assert "is for the space's facilitators" in await bot.say("alice", "questions pause")
    bot.server.add_member(bot.guild.id, bot.uid("alice"), roles=[helpers.id])
    await bot.server.flush()
    await asyncio.sleep(0.05)
    assert "is for the space's facilitators" not in await bot.say("alice", "questions pause")
    # fay has Manage Server but not the role: the community's rule is what counts.
    assert "is for the space's facilitators" in await bot.say("fay", "questions resume")


async def test_bad_input_is_answered_kindly_and_changes_nothing(bot: Bot) -> None:
    status_before = await bot.say("fay", "questions status")
    bad_schedule = await bot.say("fay", "questions schedule", {"recurrence": "whenever it feels right"})
    assert "couldn't read" in bad_schedule and "daily 18:00" in bad_schedule
    bad_zone = await bot.say("fay", "questions schedule", {"recurrence": "daily 18:00", TIMEZONE_OPTION: "Mars/Base"})
    assert '"Mars/Base" in that schedule isn\'t a timezone' in bad_zone  # names the part that failed
    # Values a modified client could send past Discord's own checks (raw options):
    out_of_range = await bot.say("alice", "pair pause", [{"type": 4, "name": "days", "value": 999}])
    assert "from 1 to 365" in out_of_range
    too_short = await bot.say("alice", "questions suggest", [{"type": 3, "name": "text", "value": "why?"}])
    assert "at least 10 characters" in too_short
    unknown = await bot.say("alice", "pair status", [{"type": 3, "name": "color", "value": "blue"}])
    assert "wasn't expecting" in unknown
    bad_choice = await bot.say("fay", "questions focus", [{"type": 3, "name": "task", "value": "fixing"}])
    assert "isn't one of the options" in bad_choice
    bad_zone_setup = await bot.say("fay", "setup", {"setting": "timezone", "value": "Nowhere/Land"})
    assert "isn't a timezone" in bad_zone_setup
    assert await bot.say("fay", "questions status") == status_before
    assert bot.posts(bot.circle) == []


async def test_channel_mentions_and_question_channel_by_name(bot: Bot) -> None:
    answer = await bot.say("fay", "setup", {"setting": "question-channel", "value": f"<#{bot.pairs.id}>"})
    assert str(bot.pairs.id) in answer
    community = await bot.app.communities.find(bot.app.db, "discord", str(bot.guild.id))
    assert community.question_channel == str(bot.pairs.id)
    await bot.say("fay", "setup", {"setting": "question-channel", "value": "#circle"})
    await bot.say("fay", "questions schedule", {"recurrence": "daily 18:00"})
    from datetime import timedelta

    await bot.advance(timedelta(hours=10))
    assert len(bot.posts(bot.circle)) == 1  # "circle" resolved to the channel's id


async def test_slow_work_is_deferred_and_finished_with_a_follow_up(bot: Bot, monkeypatch) -> None:
    assert bot.adapter is not None
    bot.adapter.settings = bot.adapter.settings.model_copy(update={"defer_after": 0.1})
    real = bot.app.handle_structured

    async def slow(*args):
        await asyncio.sleep(0.4)
        return await real(*args)

    monkeypatch.setattr(bot.app, "handle_structured", slow)
    handle = await bot.slash("alice", "pair status")
    assert (await handle.response()).json == {"type": 5, "data": {"flags": EPHEMERAL}}
    await handle.wait_followups(1)
    assert handle.original_message["flags"] & EPHEMERAL
    assert "pair" in handle.original_message["content"].lower()
    assert handle.callback.at - handle.created < 3.0


async def test_long_answers_are_split_under_discords_limit(bot: Bot) -> None:
    handle = await bot.slash("fay", "help")
    assert handle.followups(), "help is longer than one Discord message"
    for message in [handle.original_message, *(r.json for r in handle.followups())]:
        assert len(message["content"]) <= 2000
    assert "/help <command>" in texts(handle)


async def test_suggestions_while_typing(bot: Bot) -> None:
    async def suggest(user: str, name: str, options: dict[str, Any], focused: str) -> list[str]:
        handle = await bot.server.send_autocomplete(
            bot.guild.id, bot.circle.id, bot.uid(user), name, options, focused=focused
        )
        assert (await handle.response()).json["type"] == 8
        return [c["value"] for c in handle.choices or []]

    zones = await suggest("fay", "questions schedule", {"recurrence": "daily 18:00", TIMEZONE_OPTION: "europe/lon"}, TIMEZONE_OPTION)
    assert zones[0] == "Europe/London"
    schedules = await suggest("fay", "pair schedule", {"recurrence": "every"}, "recurrence")
    assert schedules[0] == "every" and "every 2 weeks mon 10:00" in schedules
    assert "pair join" in await suggest("alice", "help", {"command": "pair"}, "command")
    assert await suggest("alice", "agreement view", {"id": ""}, "id") == []
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    ids = await suggest("alice", "agreement view", {"id": ""}, "id")
    assert len(ids) == 1 and len(ids[0]) == 5
    assert await suggest("carol", "agreement view", {"id": ""}, "id") == []  # only your own


async def test_mentioned_members_become_known_so_they_can_be_invited(bot: Bot) -> None:
    # bob has never used a command; a mention of a server member is enough to invite him.
    answer = await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    assert "bob" in answer
    assert "negotiate an agreement" in bot.dm_text("bob")


@pytest.mark.parametrize("who", ["alice", "fay"])
async def test_answers_are_ephemeral(bot: Bot, who: str) -> None:
    handle = await bot.slash(who, "resources")
    assert handle.ephemeral
    assert bot.posts(bot.circle) == []


async def test_a_form_after_a_deferral_comes_as_a_button_that_opens_it(bot: Bot, monkeypatch) -> None:
    assert bot.adapter is not None
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    bot.adapter.settings = bot.adapter.settings.model_copy(update={"defer_after": 0.05})
    real = bot.app.handle_structured

    async def slow(*args):
        await asyncio.sleep(0.2)
        return await real(*args)

    monkeypatch.setattr(bot.app, "handle_structured", slow)
    handle = await bot.slash("alice", "agreement edit", {"section": "2"})
    assert (await handle.response()).json["type"] == 5  # deferred: a modal can't follow that
    opener = next(cid for cid in all_buttons(handle).values() if "~form:" in cid)
    assert "Open the form" in all_buttons(handle)
    opened = await bot.press("alice", opener)
    assert (await opened.response()).json["type"] == 9
    # Section 2 ("safe") is stored under slot 1, which is the field's key.
    assert [c["custom_id"] for row in opened.modal["components"] for c in row["components"]] == ["1"]
    # the opener is alice's alone
    assert "isn't open any more" in texts(await bot.press("bob", opener))


async def test_public_answers_and_files(bot: Bot, monkeypatch) -> None:
    assert bot.adapter is not None
    uid = str(bot.uid("alice"))

    async def answers(inv, name, options, resolve):
        return [
            Answer("Shared with the channel.", private=False),
            PrivateFile(uid, "mine.json", '{"kept": []}', "Everything I hold about you."),
        ]

    monkeypatch.setattr(bot.app, "handle_structured", answers)
    quick = await bot.slash("alice", "resources")
    assert not quick.ephemeral and quick.original_message["content"] == "Shared with the channel."
    upload = quick.followups()[-1]
    assert upload.json["flags"] & EPHEMERAL and upload.files[0].filename == "mine.json"
    assert upload.files[0].data == b'{"kept": []}'

    bot.adapter.settings = bot.adapter.settings.model_copy(update={"defer_after": 0.05})

    async def slow(*args):
        await asyncio.sleep(0.2)
        return await answers(*args)

    monkeypatch.setattr(bot.app, "handle_structured", slow)
    late = await bot.slash("alice", "resources")
    assert late.ephemeral  # the deferral is always private...
    await late.wait_followups(2)
    public = [r for r in late.followups() if r.json.get("content") == "Shared with the channel."]
    assert public and not public[0].json.get("flags", 0) & EPHEMERAL  # ...a public answer is not
    deleted = bot.server.requests_to("DELETE", f"/webhooks/{bot.server.application_id}/{late.token}/messages/@original")
    assert deleted and deleted[0].ok


async def test_a_long_text_left_out_is_written_in_a_form(bot: Bot) -> None:
    opened = await bot.slash("alice", "questions suggest")
    assert (await opened.response()).json["type"] == 9
    box = opened.modal["components"][0]["components"][0]
    assert (box["custom_id"], box["style"], box["min_length"], box["max_length"]) == ("text", 2, 10, 280)
    short = await bot.submit("alice", opened.modal["custom_id"], {"text": "why?"})
    assert "at least 10 characters" in texts(short)  # the core's own check, as for any command
    done = await bot.submit("alice", opened.modal["custom_id"], {"text": "What does rest look like for you lately?"})
    assert "suggest" in texts(done).lower()
    assert (await bot.app.db.fetchone("SELECT COUNT(*) FROM question_suggestions"))[0] == 1

    await bot.say("fay", "setup", {"setting": "question-channel", "value": "circle"})
    await bot.say("fay", "space-agreement draft")
    proposing = await bot.slash("alice", "space-agreement propose", {"section": "purpose"})
    assert (await proposing.response()).json["type"] == 9
    assert proposing.modal["custom_id"] == "~cmd:space-agreement.propose?section=purpose"
    proposed = await bot.submit("alice", proposing.modal["custom_id"], {"text": "A place to think out loud, together."})
    assert "Your change is #1" in texts(proposed)
    # a forged form id is just another command: the core checks it like any other
    forged = await bot.submit("alice", "~cmd:questions.now", {"text": "x"})
    assert "wasn't expecting" in texts(forged)
    assert not any("A question for the space" in m["content"] for m in bot.posts(bot.circle))


async def test_setup_asks_discord_about_channels_and_the_facilitator_rule(bot: Bot) -> None:
    missing = await bot.say("fay", "setup", {"setting": "question-channel", "value": "#nowhere"})
    assert "can't find a channel \"#nowhere\"" in missing
    community = await bot.app.communities.find(bot.app.db, "discord", str(bot.guild.id))
    assert community.question_channel == ""
    # A rule leaving fay out is only saved once she confirms.
    asked = await bot.say("fay", "setup", {"setting": "facilitator-rule", "value": f"members:{bot.uid('bob')}"})
    assert "you would no longer be a facilitator" in asked
    community = await bot.app.communities.find(bot.app.db, "discord", str(bot.guild.id))
    assert community.facilitator_rule == ""
    kept = await bot.say("fay", "setup", {"setting": "facilitator-rule", "value": f"members:{bot.uid('fay')}"})
    assert "Saved" in kept
