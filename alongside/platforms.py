"""Every adapter's platform traits, registered with the core by the composition root.

One database may hold communities of several platforms, and scheduled work (reminders, round
posts) renders words for each of them whichever adapter is running, so the core learns every
platform's traits before it starts, not only the running adapter's."""

from __future__ import annotations

from adapters.console import traits as console
from adapters.discord import traits as discord
from adapters.matrix import traits as matrix
from bot.traits import register_platform

ALL = (console, discord, matrix)


def register_all_platforms() -> None:
    for module in ALL:
        register_platform(module.PLATFORM, module.TRAITS)
