"""Every command the bot has, gathered from the features that declare them."""

from __future__ import annotations

from bot.commands.spec import CommandSpec
from bot.features import confirmations, help, questions, setup


def all_commands() -> tuple[CommandSpec, ...]:
    return (
        *help.COMMANDS,
        *questions.COMMANDS,
        *setup.COMMANDS,
        *confirmations.COMMANDS,
    )
