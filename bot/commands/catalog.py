"""Every command the bot has, gathered from the features that declare them."""

from __future__ import annotations

from bot.commands.spec import CommandSpec
from bot.features import confirmations, dialogs, help, mydata, questions, resources, setup
from bot.features.agreements import commands as agreements
from bot.features.pairing import commands as pairing


def all_commands() -> tuple[CommandSpec, ...]:
    return (
        *help.COMMANDS,
        *questions.COMMANDS,
        *setup.COMMANDS,
        *confirmations.COMMANDS,
        *agreements.COMMANDS,
        *resources.COMMANDS,
        *dialogs.COMMANDS,
        *pairing.COMMANDS,
        *mydata.COMMANDS,
    )
