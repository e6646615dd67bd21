"""The whole program's settings: the core's (bot/config.py) with each adapter's section, which
lives next to its adapter (adapters/<name>/settings.py), and the adapters' secrets.

The config file's `[console]`, `[discord]` and `[matrix]` sections and the `ALONGSIDE_MATRIX__...`
variables are read exactly as the core's own: `bot.config.load_settings` does the reading and
the error reports; this module only says which sections and secrets exist."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, field_validator

from adapters.console.settings import ConsoleSettings
from adapters.discord.settings import DiscordSettings
from adapters.matrix.settings import MatrixSettings
from bot import config


class Settings(config.Settings):
    console: ConsoleSettings = ConsoleSettings()
    discord: DiscordSettings = DiscordSettings()
    matrix: MatrixSettings = MatrixSettings()

    # Secrets: environment only (ALONGSIDE_DISCORD_TOKEN, ALONGSIDE_MATRIX_ACCESS_TOKEN, ...).
    discord_token: SecretStr | None = None
    matrix_access_token: SecretStr | None = None
    matrix_password: SecretStr | None = None

    @field_validator("discord_token", "matrix_access_token", "matrix_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # A container passes every variable its compose file names, empty when the operator left
        # it out (deploy/compose.yaml): an empty token means "not given", not a token to try.
        if isinstance(value, str) and not value.strip():
            return None
        return value


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    return config.load_settings(path, settings_class=Settings, **overrides)


def unknown_environment(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    return config.unknown_environment(environ, Settings)
