"""What the Discord adapter keeps about a member (messages held while their DMs were closed)
is part of `mydata export`, goes with `mydata forget`, and expires with retention."""

from __future__ import annotations

from datetime import timedelta

from adapters.discord.personal_data import DiscordData
from bot.context import Actor, CommunityRef, Invocation
from tests.discord.conftest import Bot, all_buttons


async def kept_invitation(bot: Bot) -> tuple[DiscordData, object]:
    assert bot.adapter is not None
    bot.server.close_dms(bot.uid("bob"))
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    inv = Invocation(CommunityRef("discord", str(bot.guild.id), "Peer Space"), Actor(str(bot.uid("bob")), "bob"), None, True)
    ctx = await bot.app.context(inv)
    return DiscordData(bot.adapter.state, bot.adapter.outgoing), ctx


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
    source = bot.app.personal_data_source("discord")
    assert isinstance(source, DiscordData) and source.outgoing is bot.adapter.outgoing


async def test_mydata_export_and_forget_through_discord(bot: Bot) -> None:
    bot.server.close_dms(bot.uid("bob"))
    await bot.say("alice", "agreement start", {"member": bot.uid("bob")})
    exported = await bot.slash("bob", "mydata export")
    files = [f for r in exported.followups() for f in r.files] + list(exported.callback.files)
    assert files, "the export arrives as a private file"
    assert all(r.json.get("flags", 0) & (1 << 6) for r in exported.followups())
    body = files[0].data.decode()
    assert '"discord"' in body and "negotiate an agreement" in body

    bot.server.close_dms(bot.uid("carol"))
    await bot.say("alice", "agreement start", {"member": bot.uid("carol")})
    asked = await bot.slash("carol", "mydata forget")
    yes = next(cid for cid in all_buttons(asked).values() if cid.startswith("~yes:"))
    await bot.press("carol", yes)
    row = await bot.app.db.fetchone(
        "SELECT value FROM adapter_state WHERE platform = 'discord' AND key = ?",
        (f"missed:{bot.guild.id}:{bot.uid('carol')}",),
    )
    assert row is None
