"""Matrix as the core sees it (see `bot.traits`)."""

from bot.traits import PlatformTraits

PLATFORM = "matrix"

TRAITS = PlatformTraits(
    # The prefix the bot's words show ("!pair join"); Matrix clients keep "/" for their own commands.
    prefix="!",
    # A mention resolves only to a member of the room; a full user id is its own mention.
    mentions_are_members=True,
    mention_format="{id}",
)
