"""A member's Discord client language (issue 18): the interaction's `locale` reaches the core, so
a member whose Discord is in Spanish is answered in Spanish and one in English in English, until
they choose otherwise with `/mydata language`; it is remembered for what is sent to them later."""

from __future__ import annotations

from typing import Any

from tests.discord.conftest import Bot, texts


async def slash_in(bot: Bot, user: str, name: str, locale: str, options: Any = None) -> str:
    handle = await bot.server.send_slash_command(
        bot.guild.id, bot.circle.id, bot.uid(user), name, options, locale=locale
    )
    await handle.response()
    await bot.settle()
    return texts(handle)


async def test_a_spanish_client_gets_spanish_and_an_english_one_english(bot: Bot) -> None:
    assert "Esto es lo que puedes usar" in await slash_in(bot, "alice", "help", "es-ES")
    assert "Here is what you can use" in await slash_in(bot, "bob", "help", "en-US")
    # Latin American Spanish is Spanish too; a language Alongside has no texts in gets the space's.
    assert "Esto es lo que puedes usar" in await slash_in(bot, "carol", "help", "es-419")
    assert "Here is what you can use" in await slash_in(bot, "carol", "help", "fr")
    # The client's language is remembered for what comes later, with no interaction at hand:
    # bob's invitation reaches alice by DM in Spanish.
    await slash_in(bot, "bob", "agreement start", "en-US", {"member": bot.uid("alice")})
    await bot.settle()
    assert "le gustaría negociar un acuerdo contigo" in bot.dm_text("alice")
    # A member's own choice comes first, whatever the client says.
    chosen = await slash_in(bot, "alice", "mydata language", "es-ES", {"code": "en"})
    assert "From now on I'll write to you in English" in chosen
    assert "Here is what you can use" in await slash_in(bot, "alice", "help", "es-ES")
    shown = await slash_in(bot, "bob", "mydata language", "es-ES")
    assert "el idioma en que tienes tu aplicación" in shown and "español (es)" in shown
