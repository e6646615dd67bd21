"""Each adapter's settings live next to it (issue 15); the core's settings know none of them, and
the program's settings (alongside/settings.py) read their sections and secrets as before."""

from __future__ import annotations

import pytest

from adapters.console.settings import ConsoleSettings
from adapters.discord.settings import DiscordSettings
from adapters.matrix.settings import MatrixSettings
from alongside.settings import Settings, load_settings
from bot import config


def test_the_core_settings_name_no_adapter():
    assert not {"console", "discord", "matrix"} & set(config.Settings.model_fields)
    assert not [name for name in dir(config) if name in ("ConsoleSettings", "DiscordSettings", "MatrixSettings")]
    assert config.secret_fields(config.Settings) == ["data_key", "storage_url"]


def test_the_program_settings_join_the_adapters_sections_and_secrets():
    settings = load_settings(None)
    assert isinstance(settings, Settings)
    assert isinstance(settings.console, ConsoleSettings)
    assert isinstance(settings.discord, DiscordSettings)
    assert isinstance(settings.matrix, MatrixSettings)
    assert config.secret_fields(Settings) == ["data_key", "storage_url", "discord_token", "matrix_access_token", "matrix_password"]


def test_the_core_alone_refuses_an_adapter_section(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[matrix]\nhomeserver = "https://matrix.example.org"\n')
    with pytest.raises(config.ConfigError) as caught:
        config.load_settings(path)
    assert "matrix: unknown setting" in str(caught.value)
    assert load_settings(path).matrix.homeserver == "https://matrix.example.org"
