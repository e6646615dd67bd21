"""Operator-facing config behaviour: relative paths in a config file, secrets written into a
section, and ALONGSIDE_* variables that name no setting."""

from pathlib import Path

import pytest

from alongside.settings import load_settings, unknown_environment
from bot.config import ConfigError


def test_relative_paths_in_a_config_file_resolve_against_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc" / "alongside"
    folder.mkdir(parents=True)
    config = folder / "config.toml"
    config.write_text(
        'prompts_dir = "prompts"\nlog_file = "logs/bot.log"\n'
        '[storage]\npath = "data/alongside.db"\nkey_file = "keys/alongside.key"\n'
        '[matrix]\nstore_path = "data/matrix-store"\n'
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(config)
    assert settings.storage.path == folder / "data" / "alongside.db"
    assert settings.storage.key_file == folder / "keys" / "alongside.key"
    assert settings.matrix.store_path == folder / "data" / "matrix-store"
    assert settings.log_file == folder / "logs" / "bot.log"
    assert settings.prompts_dir == folder / "prompts"


def test_absolute_paths_defaults_and_environment_paths_are_left_alone(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "/srv/alongside/data/alongside.db"\n')
    monkeypatch.setenv("ALONGSIDE_MATRIX__STORE_PATH", "store")
    settings = load_settings(config)
    assert settings.storage.path == Path("/srv/alongside/data/alongside.db")
    # The environment has no file to be relative to: the working folder, as for any program.
    assert settings.matrix.store_path == Path("store")
    assert load_settings(None).storage.path == Path("data/alongside.db")
    memory = tmp_path / "memory.toml"
    memory.write_text('[storage]\npath = ":memory:"\n')
    assert str(load_settings(memory).storage.path) == ":memory:"


@pytest.mark.parametrize(
    ("section", "key", "variable"),
    [
        ("matrix", "access_token", "ALONGSIDE_MATRIX_ACCESS_TOKEN"),
        ("matrix", "password", "ALONGSIDE_MATRIX_PASSWORD"),
        ("discord", "token", "ALONGSIDE_DISCORD_TOKEN"),
        ("storage", "data_key", "ALONGSIDE_DATA_KEY"),
    ],
)
def test_a_secret_written_into_a_section_names_its_variable(tmp_path, section, key, variable):
    config = tmp_path / "config.toml"
    config.write_text(f'[{section}]\n{key} = "syt_abc123"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    (line,) = caught.value.problems
    assert f"{section}.{key}" in line and f"put this in {variable}" in line
    assert "syt_abc123" not in line


def test_variables_that_name_no_setting_are_listed():
    environ = {
        "ALONGSIDE_MATRIX__HOMSERVER": "https://matrix.example.org",
        "ALONGSIDE_MATRIX__HOMESERVER": "https://matrix.example.org",
        "ALONGSIDE_MATRIX_ACCESS_TOKEN": "x",
        "ALONGSIDE_DATA_KEY": "x",
        "ALONGSIDE_LOG_LEVEL": "INFO",
        "ALONGSIDE_SCHEDULING__GRACE_MINUTES": "5",
        "alongside_storage__path": "x",
        "ALONGSIDE_DISCORD_TOKN": "x",
        "ALONGSIDE_MATRIX__ACCESS_TOKEN": "x",
        "ALONGSIDE_STORAGE": "{}",
        "ALONGSIDE_SYNAPSE_VENV": "/tmp/venv",
        "HOME": "/root",
    }
    found = unknown_environment(environ)
    assert [name for name, _ in found] == [
        "ALONGSIDE_DISCORD_TOKN",
        "ALONGSIDE_MATRIX__ACCESS_TOKEN",
        "ALONGSIDE_MATRIX__HOMSERVER",
    ]
    hints = dict(found)
    assert "ALONGSIDE_MATRIX__HOMESERVER" in hints["ALONGSIDE_MATRIX__HOMSERVER"]
    assert "ALONGSIDE_DISCORD_TOKEN" in hints["ALONGSIDE_DISCORD_TOKN"]
    assert "ALONGSIDE_MATRIX_ACCESS_TOKEN" in hints["ALONGSIDE_MATRIX__ACCESS_TOKEN"]


def test_a_misspelt_variable_stops_loading_with_its_name(monkeypatch):
    monkeypatch.setenv("ALONGSIDE_MATRIX__HOMSERVER", "https://matrix.example.org")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    (line,) = caught.value.problems
    assert line.startswith("ALONGSIDE_MATRIX__HOMSERVER: no such setting")
    assert "did you mean ALONGSIDE_MATRIX__HOMESERVER?" in line
