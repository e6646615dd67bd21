import pytest

from alongside.settings import load_settings
from bot.config import ConfigError, resolve_config_path


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    settings = load_settings(None)
    assert settings.scheduling.grace_minutes == 60
    assert settings.community.timezone == "UTC"
    assert settings.console.facilitators == ["alex"]


def test_file_values_and_nested_env_override(tmp_path, monkeypatch):
    path = write(tmp_path, '[community]\ntimezone = "Europe/London"\n[scheduling]\ngrace_minutes = 30\n')
    assert load_settings(path).scheduling.grace_minutes == 30
    monkeypatch.setenv("ALONGSIDE_SCHEDULING__GRACE_MINUTES", "15")
    settings = load_settings(path)
    assert settings.scheduling.grace_minutes == 15
    assert settings.community.timezone == "Europe/London"


def test_missing_explicit_file_names_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml")
    assert "nope.toml" in str(caught.value)


def test_unknown_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "[scheduling]\ngrace_minuts = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "config.toml" in message and "scheduling.grace_minuts" in message and "unknown setting" in message


def test_bad_value_says_what_would_be_valid(tmp_path):
    path = write(tmp_path, '[community]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "community.timezone" in str(caught.value) and "IANA" in str(caught.value)
    path = write(tmp_path, "[scheduling]\ngrace_minutes = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "scheduling.grace_minutes" in str(caught.value) and "greater than or equal to 0" in str(caught.value)


def test_invalid_toml_is_reported(tmp_path):
    path = write(tmp_path, "[community\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "not valid TOML" in str(caught.value)


def test_secrets_only_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, 'data_key = "abc"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "ALONGSIDE_DATA_KEY" in str(caught.value)
    monkeypatch.setenv("ALONGSIDE_DISCORD_TOKEN", "super-secret-token")
    settings = load_settings(None)
    assert settings.discord_token.get_secret_value() == "super-secret-token"
    assert "super-secret-token" not in repr(settings) and "super-secret-token" not in str(settings)
    assert "super-secret-token" not in settings.model_dump_json()


def test_default_config_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path(None) is None
    (tmp_path / "config.toml").write_text("")
    assert resolve_config_path(None) == tmp_path / "config.toml"


def test_example_config_is_valid(monkeypatch):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    assert settings.resources, "the example lists resources for organisations to replace"
