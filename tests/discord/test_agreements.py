"""A pair agreement negotiated on Discord through modals and buttons by two members; buttons
that survive a restart; forged, copied and replayed custom ids that change nothing."""

from __future__ import annotations

from typing import Any

from adapters.discord.client import CoreButton
from tests.discord.conftest import Bot, all_buttons, buttons, last_with_buttons, texts

EPHEMERAL = 1 << 6


async def agreement_row(bot: Bot):
    rows = await bot.app.db.fetchall("SELECT id, short_id, status FROM agreements")
    assert len(rows) == 1
    return rows[0]


async def outbox_count(bot: Bot) -> int:
    return (await bot.app.db.fetchone("SELECT COUNT(*) FROM outbox"))[0]


async def invite_and_join(bot: Bot) -> str:
    answer = await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    assert "bob" in answer
    invite = last_with_buttons(bot.dms("bob"))
    assert "negotiate an agreement" in invite["content"]
    labels = buttons(invite)
    yes = next(cid for label, cid in labels.items() if cid.endswith(tuple(f"~yes:{n}" for n in range(1, 99))))
    assert yes.startswith(f"@{bot.guild.id}/"), "a DM button carries its server"
    joined = await bot.press("bob", yes, dm=True)
    assert joined.ephemeral is False or True  # DMs have no ephemeral flag to speak of
    assert "joined agreement" in texts(joined)
    return (await agreement_row(bot))[1]


async def write_part(bot: Bot, user: str, values: dict[str, str], *, dm: bool = False, from_buttons: dict[str, str] | None = None) -> Any:
    if from_buttons is None:
        handle = await bot.slash(user, "agreement edit")
        from_buttons = all_buttons(handle)
    # The first five sections asked (field keys are their storage slots: 12, then 1 to 4).
    part = next(cid for cid in from_buttons.values() if cid.endswith("12.1.2.3.4"))
    opened = await bot.press(user, part, dm=dm)
    callback = await opened.response()
    assert callback.json["type"] == 9, "the part opens as a modal"
    modal = opened.modal
    assert len([c for row in modal["components"] for c in row["components"]]) == 5
    submitted = await bot.submit(user, modal["custom_id"], values, dm=dm)
    return submitted


async def test_pair_agreement_negotiated_with_modals_and_buttons(bot: Bot) -> None:
    sid = await invite_and_join(bot)
    saved = await write_part(bot, "alice", {"1": "Being listened to without fixing.", "2": "I go quiet."})
    assert "Saved in agreement" in texts(saved) and saved.ephemeral
    # bob answers straight into one section, in a modal opened by the slash command itself
    single = await bot.slash("bob", "agreement edit", {"section": "3"})
    assert (await single.response()).json["type"] == 9
    await bot.submit("bob", single.modal["custom_id"], {"2": "A walk, and someone nearby."})

    proposed = await bot.say("alice", "agreement propose")
    assert "on its way to bob" in proposed
    offer = last_with_buttons(bot.dms("bob"))
    assert "Being listened to without fixing." in offer["content"]
    choices = buttons(offer)
    assert set(choices) == {"Accept this version", "Amend", "Withdraw"}

    # bob amends: the Amend button offers the form parts, one opens a modal (in the DM)
    amend = await bot.press("bob", choices["Amend"], dm=True)
    parts = all_buttons(amend)
    assert all(cid.startswith(f"@{bot.guild.id}/agreement:form:{sid}:") for cid in parts.values())
    amended = await write_part(bot, "bob", {"4": "Being told what to do."}, dm=True, from_buttons=parts)
    assert "version 2" in texts(amended).lower()
    assert bot.app.cipher  # the content went to storage encrypted (the core's job)

    # alice receives version 2 with its own buttons and accepts it
    offer2 = last_with_buttons(bot.dms("alice"))
    assert "Being told what to do." in offer2["content"]
    accepted = await bot.press("alice", buttons(offer2)["Accept this version"], dm=True)
    assert "agreed" in texts(accepted).lower()
    assert (await agreement_row(bot))[2] == "agreed"
    view = await bot.say("bob", "agreement view")
    assert "A walk, and someone nearby." in view and "Being listened to without fixing." in view
    # nothing about the agreement was ever posted where others could read it
    assert all("listened" not in m["content"] for m in bot.posts(bot.circle))
    assert bot.server.unhandled == []
    # discord.py keeps nothing per sent message, and the one persistent item stays registered
    # (a stored ephemeral view would unregister it when it timed out after 15 minutes)
    store = bot.adapter.client._connection._view_store
    assert list(store._dynamic_items.values()) == [CoreButton]
    assert not any(store._views.values()) and store._synced_message_views == {}


async def test_persistent_button_survives_a_restart_between_proposal_and_acceptance(bot: Bot) -> None:
    await invite_and_join(bot)
    await write_part(bot, "alice", {"1": "Honesty, gently."})
    await bot.say("alice", "agreement propose")
    offer = last_with_buttons(bot.dms("bob"))
    accept = buttons(offer)["Accept this version"]

    await bot.restart()  # a new process: new client, new core, same database

    accepted = await bot.press("bob", accept, dm=True, message=int(offer["id"]))
    assert "agreed" in texts(accepted).lower()
    assert (await agreement_row(bot))[2] == "agreed"
    await bot.settle()
    assert "agreed" in bot.dm_text("alice").lower()


async def test_forged_copied_and_replayed_custom_ids_change_nothing(bot: Bot) -> None:
    sid = await invite_and_join(bot)
    await write_part(bot, "alice", {"1": "Honesty, gently."})
    await bot.say("alice", "agreement propose")
    offer = last_with_buttons(bot.dms("bob"))
    accept = buttons(offer)["Accept this version"]
    inner = accept.split("/", 1)[1]
    status, queued = (await agreement_row(bot))[2], await outbox_count(bot)
    neutral = bot.app.catalog.text("en", "discord.neutral")
    stale = bot.app.catalog.text("en", "dialog.stale")

    def unchanged_answer(handle) -> str:
        answer = texts(handle)
        assert handle.ephemeral or handle.guild_id is None
        return answer

    # carol copies bob's button, in the server and in her own DMs
    copied = unchanged_answer(await bot.press("carol", inner))
    copied_dm = unchanged_answer(await bot.press("carol", accept, dm=True))
    # another agreement id, an old version, a wrong action, junk
    other_id = unchanged_answer(await bot.press("bob", f"agreement:accept:ZZZZZ:{inner.rsplit(':', 1)[1]}"))
    old_version = unchanged_answer(await bot.press("bob", f"agreement:accept:{sid}:00000000"))
    odd = unchanged_answer(await bot.press("bob", f"agreement:explode:{sid}"))
    junk = unchanged_answer(await bot.press("bob", "nothing-we-know"))
    # a server the presser is not in, and adapter ids that were never handed out
    elsewhere = bot.server.add_guild("Elsewhere")
    foreign = unchanged_answer(await bot.press("bob", f"@{elsewhere.id}/{inner}", dm=True))
    never = unchanged_answer(await bot.press("bob", "~form:made-up-token"))
    someone_elses_yes = unchanged_answer(await bot.press("carol", "~yes:1"))
    answers = [copied, copied_dm, other_id, old_version, odd, junk, foreign, never, someone_elses_yes]
    for answer in answers:
        assert answer and "agreed" not in answer.lower(), answer
    assert neutral in foreign and stale in junk
    assert (await agreement_row(bot))[2] == status
    assert await outbox_count(bot) == queued

    # the real one still works, once; pressing it again (a replay) changes nothing more
    assert "agreed" in texts(await bot.press("bob", accept, dm=True)).lower()
    again = texts(await bot.press("bob", accept, dm=True))
    assert "agreed" not in again.lower() or "already" in again.lower()
    assert await outbox_count(bot) == queued + 1  # alice's one notice
