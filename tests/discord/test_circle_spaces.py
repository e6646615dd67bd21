"""A circle's space on Discord (issue 17): one private thread with all four members of a circle of
four, the circle's welcome in it, a DM for someone who cannot be added, and `pair end` from one
member leaving the other three together in a fresh thread."""

from __future__ import annotations

from tests.discord.conftest import Bot, buttons, texts
from tests.discord_loopback import payloads as P


async def join_pairing(bot: Bot, user: str) -> None:
    prompt = await bot.slash(user, "pair join")
    yes = next(cid for cid in buttons(prompt.original_message).values() if cid.startswith("~yes:"))
    assert "You're in" in texts(await bot.press(user, yes, message=prompt.original_message))


def private_threads(bot: Bot) -> list[P.SimChannel]:
    return [c for c in bot.server.channels.values() if c.type == P.CH_PRIVATE_THREAD]


async def test_a_circle_of_four_meets_in_one_private_thread_with_a_dm_fallback(bot: Bot) -> None:
    dave = bot.server.add_member(bot.guild.id, None, "dave").user
    bot.users["dave"] = dave
    for user in ("alice", "bob", "carol", "dave"):
        await join_pairing(bot, user)
    assert "pairs" in await bot.say("fay", "setup", {"setting": "pairing-channel", "value": "pairs"})
    set_out = await bot.say("fay", "pair schedule", {"recurrence": "weekly mon 10:00 size 4"})
    assert "circles of about 4" in set_out, set_out
    bot.server.fail_thread_member_add(bot.uid("carol"))  # carol can't be added: DM instead

    assert "Round 1" in await bot.say("fay", "pair now")
    [thread] = private_threads(bot)
    assert thread.parent_id == bot.pairs.id and not thread.invitable
    assert thread.members == {bot.server.bot_user.id, bot.uid("alice"), bot.uid("bob"), dave.id}
    [welcome] = bot.server.channel_messages(thread.id)
    assert "This is your circle's private space for round 1" in welcome["content"]
    # The welcome pings the circle, every one of them (carol too, who reads it by DM).
    pinged = {int(u) for u in welcome.get("allowed_mentions", {}).get("users", [])} or {
        bot.uid(n) for n in ("alice", "bob", "carol", "dave") if f"<@{bot.uid(n)}>" in welcome["content"]
    }
    assert pinged == {bot.uid("alice"), bot.uid("bob"), bot.uid("carol"), dave.id}
    assert "couldn't add you to the private thread for your pair or circle" in bot.dm_text("carol")
    assert "This is your circle's private space for round 1" in bot.dm_text("carol")

    # bob steps out: the old thread closes and the other three carry on in a fresh one.
    assert "You've stepped out of your circle" in await bot.say("bob", "pair end")
    assert thread.archived
    fresh = [t for t in private_threads(bot) if t.id != thread.id]
    assert len(fresh) == 1
    assert fresh[0].members == {bot.server.bot_user.id, bot.uid("alice"), dave.id}
    assert "This is your circle's space for the rest of round 1" in bot.server.channel_messages(fresh[0].id)[0]["content"]
    assert "The rest of you carry on together" in bot.dm_text("carol")
