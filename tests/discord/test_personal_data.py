"""What the Discord adapter keeps about a member (messages held while their DMs were closed)
is part of `mydata export`, goes with `mydata forget`, and expires with retention."""

from __future__ import annotations

from datetime import timedelta

from adapters.discord.personal_data import DiscordData
from bot.context import Actor, CommunityRef, Invocation
from tests.discord.conftest import Bot


async def kept_invitation(bot: Bot) -> tuple[DiscordData, object]:
    assert bot.adapter is not None
    bot.server.close_dms(bot.uid("bob"))
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    inv = Invocation(CommunityRef("discord", str(bot.guild.id), "Peer Space"), Actor(str(bot.uid("bob")), "bob"), None, True)
    ctx = await bot.app.context(inv)
    return DiscordData(bot.app.db, bot.adapter.outgoing), ctx


async def test_export_shows_what_was_kept(bot: Bot) -> None:
    source, ctx = await kept_invitation(bot)
    exported = await source.export_member(ctx)
    kept = exported["messages_kept_while_your_direct_messages_were_closed"]
    assert len(kept) == 1 and "negotiate an agreement" in kept[0]["text"]


async def test_forget_erases_it_and_nothing_is_shown_later(bot: Bot) -> None:
    source, ctx = await kept_invitation(bot)
    async with bot.app.db.transaction() as tx:
        await source.forget_member(tx, ctx)
    assert (await source.export_member(ctx))["messages_kept_while_your_direct_messages_were_closed"] == []
    assert "DMs seem to be closed" not in await bot.say("bob", "resources")


async def test_kept_messages_expire(bot: Bot) -> None:
    source, ctx = await kept_invitation(bot)
    async with bot.app.db.transaction() as tx:
        assert await source.purge(tx, bot.clock.now()) == 0  # recent: kept
    async with bot.app.db.transaction() as tx:
        later = bot.clock.now() + timedelta(days=400)
        assert await source.purge(tx, later) == 1
    assert "DMs seem to be closed" not in await bot.say("bob", "resources")


async def test_the_adapter_registers_with_mydata_when_the_core_has_it(bot: Bot) -> None:
    mydata = getattr(bot.app, "mydata", None)
    if mydata is None:  # the core without mydata: nothing to register with
        assert getattr(bot.app, "_discord_personal_data", None) is None
        return
    source = bot.app._discord_personal_data
    assert isinstance(source, DiscordData) and source.outgoing is bot.adapter.outgoing
