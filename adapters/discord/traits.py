"""Discord as the core sees it (see `bot.traits`)."""

from adapters.discord.payload_limits import MAX_INPUT_LABEL, MAX_MODAL_TITLE
from bot.traits import PlatformTraits

PLATFORM = "discord"

TRAITS = PlatformTraits(
    prefix="/",
    # Modals; the core cuts their title and field labels to what Discord takes.
    has_forms=True,
    form_label_limit=min(MAX_MODAL_TITLE, MAX_INPUT_LABEL),
    # An option of type user resolves only to a guild member.
    mentions_are_members=True,
    mention_format="<@{id}>",
    # Slash commands are seen only by the member who typed them.
    commands_are_private=True,
)
