"""The console as the core sees it (see `bot.traits`): the plain-text defaults. It resolves any
name, so only members the bot has met count as members."""

from bot.traits import PlatformTraits

PLATFORM = "console"

TRAITS = PlatformTraits()
