"""Settings: a TOML file plus `ALONGSIDE_*` environment overrides, validated by pydantic-settings.

Secrets (tokens, the data key) are read from the environment only and held as SecretStr so they
never print. Anything wrong stops start-up with a ConfigError that names the file, the key and what
would be valid.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.scheduling.recurrence import valid_timezone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A source checkout reads its top-level `prompts/`; an installed package carries them as
# `bot/prompts/` (see setup.py). The `prompts_dir` setting overrides either.
_PACKAGED_PROMPTS = Path(__file__).resolve().parent / "prompts"
DEFAULT_PROMPTS_DIR = (
    PROJECT_ROOT / "prompts" if (PROJECT_ROOT / "prompts").is_dir() else _PACKAGED_PROMPTS
)
DEFAULT_CONFIG_NAME = "config.toml"

# Top-level fields that may only come from the environment.
SECRET_FIELDS = ("data_key", "discord_token", "matrix_access_token", "matrix_password")
# The same secrets as someone might write them inside a section: (section, key) -> variable.
SECRET_SECTION_KEYS = {
    ("matrix", "access_token"): "ALONGSIDE_MATRIX_ACCESS_TOKEN",
    ("matrix", "token"): "ALONGSIDE_MATRIX_ACCESS_TOKEN",
    ("matrix", "password"): "ALONGSIDE_MATRIX_PASSWORD",
    ("discord", "token"): "ALONGSIDE_DISCORD_TOKEN",
    ("storage", "data_key"): "ALONGSIDE_DATA_KEY",
}
# Path settings that a config file may give relative to its own folder (top level or section.key).
FILE_RELATIVE_PATHS = (
    ("prompts_dir",),
    ("log_file",),
    ("storage", "path"),
    ("storage", "key_file"),
    ("matrix", "store_path"),
)
# ALONGSIDE_* variables read by tools rather than by the settings (the tests' Synapse).
OTHER_VARIABLES = frozenset(
    {"ALONGSIDE_SYNAPSE_VENV", "ALONGSIDE_SYNAPSE_PYTHON", "ALONGSIDE_SYNAPSE_UNPINNED", "ALONGSIDE_FUZZ_SCALE"}
)


class ConfigError(Exception):
    """Start-up cannot go on. `problems` are complete, human-readable lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageSettings(Section):
    path: Path = Path("data/alongside.db")
    # Where the data key file lives when ALONGSIDE_DATA_KEY is unset; default: beside the database.
    key_file: Path | None = None


class CommunityDefaults(Section):
    """Defaults a new community starts with; `setup` changes them per community."""

    locale: str = "en"
    timezone: str = "UTC"
    question_channel: str = ""
    pairing_channel: str = ""
    facilitator_rule: str = ""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        if not valid_timezone(value):
            raise ValueError(f"'{value}' is not an IANA timezone such as Europe/London or UTC")
        return value


class DutyOfCare(Section):
    version: str = "1"
    # The space's own statement. Empty: the default wording in prompts/<locale>/ (the key
    # duty_of_care.default), so it is linted and translated like every other word the bot says.
    text: str = ""


class Resource(Section):
    name: str
    contact: str
    hours: str = ""
    region: str = "Everywhere"
    peer_run: bool = False
    intervention_policy: Literal["never-without-consent", "may-contact-emergency-services", "unknown"] = (
        "unknown"
    )


class SchedulingSettings(Section):
    grace_minutes: int = Field(60, ge=0, le=24 * 60)
    # The shortest gap a question schedule may have between two posts (`*/5 * * * *` is refused).
    min_question_gap_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    # The shortest gap a pairing schedule may have between two round starts (a round's length).
    min_round_days: int = Field(7, ge=1, le=365)


class ConfirmationSettings(Section):
    """Yes/no questions the bot asks (pairing consent, invitations, erasing your data, ...)."""

    # Minutes a question can be answered by a bare yes or no (while it is the newest), and how
    # long a destructive one (erasing your data, withdrawing from an agreement) stays open at all.
    fresh_minutes: int = Field(15, ge=1, le=24 * 60)


class QuestionSettings(Section):
    max_suggestion_length: int = Field(280, ge=20, le=1000)


class AgreementSettings(Section):
    """Pair agreements and the space agreement's consent rounds."""

    # Days a withdrawn agreement's text is kept before it is deleted (0: at once).
    retention_days: int = Field(30, ge=0, le=3650)
    # Days a proposed change to the space agreement stays open for responses.
    consent_round_days: int = Field(7, ge=1, le=90)
    # Members who must agree (the proposer counts) for a change with no objection to be adopted.
    consent_min_agree: int = Field(3, ge=1, le=1000)
    # Longest answer to one agreement section, in characters (Discord modals allow 4000).
    max_section_length: int = Field(1000, ge=50, le=4000)
    # Days after a declined invitation before the same person can invite that member again
    # (0: at once). Anyone can also turn invitations off for themselves.
    reinvite_after_days: int = Field(14, ge=0, le=365)
    # Changes to the space agreement one member may have open at once.
    max_open_proposals: int = Field(3, ge=1, le=100)
    # Minutes a member waits after proposing a change before proposing another (0: no wait).
    proposal_interval_minutes: int = Field(10, ge=0, le=7 * 24 * 60)


class PairingSettings(Section):
    """Opt-in pairing rounds. The duty-of-care statement shown at joining is [duty_of_care]."""

    # Hours before a round starts that the heads-up goes to the pairing channel.
    heads_up_hours: int = Field(24, ge=0, le=14 * 24)
    # Days who-was-paired-with-whom (and check-in answers) are kept, to avoid repeat pairs.
    retention_days: int = Field(180, ge=1, le=3650)
    # Rounds in a row without a word from a member before they are asked whether to stay.
    silent_rounds_before_asking: int = Field(3, ge=1, le=52)
    # Length of a round started with `pair now` when there is no schedule to take it from.
    default_round_days: int = Field(14, ge=1, le=365)


class DiscordSettings(Section):
    """The Discord adapter (`alongside run --adapter discord`). The token comes only from
    ALONGSIDE_DISCORD_TOKEN."""

    # The application's id (Developer Portal → General Information). Optional: when set, start-up
    # checks that the token belongs to it; `alongside discord sync` and the invite URL use it.
    application_id: int | None = Field(None, ge=1)
    # Register commands per server (they apply at once) instead of globally.
    guild_ids: list[int] = []
    # Who is a facilitator in a server whose own rule (`setup facilitator-rule`) is unset:
    # "manage-server" (members with the Manage Server permission) or "role:<role id>".
    facilitator_rule: str = "manage-server"
    # Advanced: a Discord REST proxy and gateway proxy (as large bots use to share rate limits).
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    # Seconds to wait for servers to arrive after connecting before the bot counts as ready.
    guild_ready_timeout: float = Field(2.0, ge=0, le=60)
    # Seconds to wait before identifying again after a session could not be resumed.
    reidentify_delay: float = Field(5.0, ge=0, le=60)
    # A command still working after this many seconds is deferred (Discord allows 3).
    defer_after: float = Field(1.5, ge=0.05, le=2.5)
    # Seconds between retries of messages that could not be delivered yet.
    retry_seconds: float = Field(30.0, ge=0.5, le=3600)

    @field_validator("facilitator_rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        if not re.fullmatch(r"manage-server|role:\d{1,25}", value.strip()):
            raise ValueError("use manage-server or role:<role id>")
        return value.strip()

    @field_validator("api_base")
    @classmethod
    def _api(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("must be an http:// or https:// URL such as https://discord.com/api/v10")
        return value.rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _gateway(cls, value: str) -> str:
        if not re.fullmatch(r"wss?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("must be a ws:// or wss:// URL such as wss://gateway.discord.gg")
        return value


class MatrixSettings(Section):
    """The Matrix adapter (`alongside run --adapter matrix`). The access token comes only from
    ALONGSIDE_MATRIX_ACCESS_TOKEN, or ALONGSIDE_MATRIX_PASSWORD for a first login."""

    # The homeserver's client URL, e.g. https://matrix.example.org.
    homeserver: str = ""
    # The bot account, e.g. @alongside:example.org.
    user_id: str = ""
    # The bot's device. Optional with a token (the homeserver says which device it belongs to);
    # kept in the store after a password login. It must stay the same: the keys belong to it.
    device_id: str = ""
    # Keys, device and login are kept here. Keep it, back it up, and keep it private (mode 0700).
    store_path: Path = Path("data/matrix-store")
    command_prefix: str = "!"
    # Invites are accepted only from these accounts ("@*:example.org" for everyone on a server);
    # empty = from anyone.
    allowed_inviters: list[str] = []
    # Power level that makes someone a facilitator, unless a community's `setup facilitator-rule`
    # says otherwise (power:N or members:...).
    facilitator_power_level: int = Field(50, ge=0, le=1000)
    # A room inside a Matrix space shares one community with the other rooms of that space.
    share_space_community: bool = False
    # Private rooms and pair rooms are created end-to-end encrypted (unless the homeserver refuses).
    encrypt_new_rooms: bool = True
    device_name: str = "Alongside"
    # Longest wait, in seconds, between attempts to reach the homeserver when it is away.
    reconnect_max_seconds: float = Field(10.0, ge=0.5, le=600)

    @field_validator("homeserver")
    @classmethod
    def _homeserver(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value.strip()):
            raise ValueError("must be an http:// or https:// URL such as https://matrix.example.org")
        return value.strip().rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, value: str) -> str:
        if value and not re.fullmatch(r"@[^\s:]+:[^\s]+", value.strip()):
            raise ValueError("must be a full Matrix id such as @alongside:example.org")
        return value.strip()

    @field_validator("allowed_inviters")
    @classmethod
    def _inviters(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not re.fullmatch(r"@[^\s:]+:[^\s]+", entry.strip()):
                raise ValueError(f"'{entry}' is not a Matrix id such as @sam:example.org or @*:example.org")
        return [entry.strip() for entry in value]

    @field_validator("command_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[^\s\w]{1,3}", value):
            raise ValueError("must be one to three punctuation characters, such as ! or ?")
        return value


class RetentionSettings(Section):
    """How long things are kept (a daily job purges what is past them). Pairing history and
    withdrawn agreements have their own settings: [pairing] and [agreements] retention_days."""

    # Delivery receipts (the outbox rows left once a message was delivered, without content).
    delivery_receipts_days: int = Field(7, ge=1, le=365)
    # Platform event ids remembered so each event is handled at most once.
    seen_events_days: int = Field(30, ge=1, le=365)
    # Declined question suggestions (their text is deleted at once; this is the bare record).
    suggestion_decisions_days: int = Field(180, ge=1, le=3650)
    # Log files, when log_file is set (rotated daily; older files are deleted).
    log_days: int = Field(14, ge=1, le=365)


class ConsoleSettings(Section):
    community: str = "demo"
    channel: str = "circle"
    # The other channels the simulated space has (`/in #name`, `setup question-channel #name`).
    channels: list[str] = ["reflections", "pairs"]
    members: list[str] = ["alex", "sam", "jo", "rin"]
    facilitators: list[str] = ["alex"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ALONGSIDE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Also write logs to this file, rotated daily and kept for [retention] log_days.
    log_file: Path | None = None
    storage: StorageSettings = StorageSettings()
    community: CommunityDefaults = CommunityDefaults()
    duty_of_care: DutyOfCare = DutyOfCare()
    resources: list[Resource] = []
    scheduling: SchedulingSettings = SchedulingSettings()
    confirmations: ConfirmationSettings = ConfirmationSettings()
    questions: QuestionSettings = QuestionSettings()
    agreements: AgreementSettings = AgreementSettings()
    pairing: PairingSettings = PairingSettings()
    retention: RetentionSettings = RetentionSettings()
    console: ConsoleSettings = ConsoleSettings()
    discord: DiscordSettings = DiscordSettings()
    matrix: MatrixSettings = MatrixSettings()

    # Secrets: environment only (ALONGSIDE_DATA_KEY, ALONGSIDE_DISCORD_TOKEN, ...).
    data_key: SecretStr | None = None
    discord_token: SecretStr | None = None
    matrix_access_token: SecretStr | None = None
    matrix_password: SecretStr | None = None


class _TomlDataSource(PydanticBaseSettingsSource):
    """Feeds an already-read TOML document to pydantic-settings, below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such config file"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: not valid TOML: {error}"]) from None


def _describe(error: dict[str, Any], origin: str) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{origin}: {key}: unknown setting (see config.example.toml for the valid keys)"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return f"{origin}: {key}: {message}{shown}"


def resolve_config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def _secrets_in_file(data: dict[str, Any], origin: str) -> list[str]:
    """A line per secret written into the file (never its value): where it belongs instead."""
    found = [
        f"{origin}: {name}: secrets come from the environment only; "
        f"set ALONGSIDE_{name.upper()} instead"
        for name in SECRET_FIELDS
        if name in data
    ]
    for (section, key), variable in SECRET_SECTION_KEYS.items():
        table = data.get(section)
        if isinstance(table, dict) and key in table:
            found.append(
                f"{origin}: {section}.{key}: secrets are never read from the config file; "
                f"put this in {variable} (the service's environment file) and remove it here"
            )
    return found


def _resolve_relative_paths(data: dict[str, Any], folder: Path) -> None:
    """Relative paths written in a config file mean "beside this file", not "wherever the bot
    happens to be started from" (a service's working folder is easy to get wrong)."""
    for where in FILE_RELATIVE_PATHS:
        table: Any = data
        for part in where[:-1]:
            table = table.get(part) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            continue
        value = table.get(where[-1])
        if isinstance(value, str) and value and value != ":memory:":
            given = Path(value).expanduser()
            if not given.is_absolute():
                table[where[-1]] = str(folder / given)


def _known_variables() -> dict[str, str]:
    """Every ALONGSIDE_* variable that sets something, upper-cased, to its canonical spelling."""
    names = {}
    for field_name, info in Settings.model_fields.items():
        top = f"ALONGSIDE_{field_name.upper()}"
        names[top] = top
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            for sub in kind.model_fields:
                nested = f"{top}__{sub.upper()}"
                names[nested] = nested
    for name in OTHER_VARIABLES:
        names[name] = name
    return names


def unknown_environment(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, hint) for each ALONGSIDE_* variable that maps to no setting: a misspelt one is
    otherwise ignored without a word, and the setting it meant keeps its default."""
    known = _known_variables()
    secret_names = {f"ALONGSIDE_{name.upper()}" for name in SECRET_FIELDS}
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("ALONGSIDE_") or upper in known:
            continue
        # A secret spelt like a section setting (ALONGSIDE_MATRIX__ACCESS_TOKEN) means the secret.
        flattened = upper.replace("__", "_")
        if flattened in secret_names:
            hint = f"did you mean {flattened}? (secrets have one underscore after the section)"
        else:
            close = difflib.get_close_matches(upper, list(known), n=1, cutoff=0.8)
            hint = f"did you mean {close[0]}?" if close else "see config.example.toml for the settings"
        found.append((name, f"{name}: no such setting (unset or rename it); {hint}"))
    return found


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from `path` (or defaults), then the environment, then explicit overrides.

    Relative paths written in the file are taken from the file's folder; defaults and the
    environment's paths stay relative to the working folder."""
    data: dict[str, Any] = _read_toml(path) if path is not None else {}
    origin = str(path) if path is not None else "settings"
    # A variable that names no setting would be ignored (or fail with only the setting's name):
    # name the variable itself, as it is written in the environment file.
    problems = _secrets_in_file(data, origin) + [line for _, line in unknown_environment(os.environ)]
    if problems:
        raise ConfigError(problems)
    if path is not None:
        _resolve_relative_paths(data, path.resolve().parent)

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _TomlDataSource(settings_cls, data))

    try:
        return _Loaded(**overrides)
    except ValidationError as error:
        raise ConfigError([_describe(item, origin) for item in error.errors()]) from None
