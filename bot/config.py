"""Settings: a TOML file plus `ALONGSIDE_*` environment overrides, validated by pydantic-settings.

Secrets (tokens, the data key) are read from the environment only and held as SecretStr so they
never print. Anything wrong stops start-up with a ConfigError that names the file, the key and what
would be valid.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.scheduling.recurrence import valid_timezone
from bot.storage.sql_dialect import redact_url, url_has_password

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A source checkout reads its top-level `prompts/`; an installed package carries them as
# `bot/prompts/` (see setup.py). The `prompts_dir` setting overrides either.
_PACKAGED_PROMPTS = Path(__file__).resolve().parent / "prompts"
DEFAULT_PROMPTS_DIR = (
    PROJECT_ROOT / "prompts" if (PROJECT_ROOT / "prompts").is_dir() else _PACKAGED_PROMPTS
)
DEFAULT_CONFIG_NAME = "config.toml"

# Top-level path settings that a config file may give relative to its own folder (a section
# lists its own in `relative_paths`).
FILE_RELATIVE_PATHS = (("prompts_dir",), ("log_file",))
# ALONGSIDE_* variables read by tools rather than by the settings (the tests' Synapse and
# PostgreSQL).
OTHER_VARIABLES = frozenset(
    {
        "ALONGSIDE_SYNAPSE_VENV",
        "ALONGSIDE_SYNAPSE_PYTHON",
        "ALONGSIDE_SYNAPSE_UNPINNED",
        "ALONGSIDE_FUZZ_SCALE",
        "ALONGSIDE_TEST_POSTGRES_URL",
    }
)


class ConfigError(Exception):
    """Start-up cannot go on. `problems` are complete, human-readable lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Section(BaseModel):
    """A `[section]` of the config file. The core's sections are declared below; each adapter
    declares its own next to it (adapters/<name>/settings.py) and the composition root adds them
    to a subclass of `Settings` (alongside/settings.py), so the core never names a platform."""

    model_config = ConfigDict(extra="forbid")
    # Secrets as someone might write them inside this section: key -> the variable they belong in.
    secret_keys: ClassVar[dict[str, str]] = {}
    # Path settings that a config file may give relative to its own folder.
    relative_paths: ClassVar[tuple[str, ...]] = ()


class StorageSettings(Section):
    secret_keys: ClassVar[dict[str, str]] = {"data_key": "ALONGSIDE_DATA_KEY"}
    relative_paths: ClassVar[tuple[str, ...]] = ("path", "key_file")

    path: Path = Path("data/alongside.db")
    # Where the store is, instead of `path`: "postgresql://user@host:5432/dbname" selects
    # PostgreSQL, "sqlite:path/to/file.db" SQLite. Without a password: a url with one comes from
    # ALONGSIDE_STORAGE_URL (which overrides this) only.
    url: str | None = None
    # Where the data key file lives when ALONGSIDE_DATA_KEY is unset; default: beside the database.
    key_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://", "sqlite:")):
            raise ValueError("must start with postgresql:// or sqlite: (or leave it out and set path)")
        if url_has_password(value):
            raise ValueError(
                "holds a password: secrets are never read from the config file; put the whole url in"
                " ALONGSIDE_STORAGE_URL (the service's environment file) and remove the password here"
            )
        return value


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


class ProcessSettings(Section):
    """Several `alongside run` processes sharing one store (docs/architecture.md, "Several
    processes")."""

    # This process's name among those sharing the store. Outbox rows it is delivering carry it,
    # so a restart under the same name takes its unfinished deliveries back at once; any other
    # process waits out the lease. Empty: the platform's name (console, matrix, discord, plus the
    # shard range). Two processes running at once must never share a name.
    instance: str = Field("", max_length=100, pattern=r"^[A-Za-z0-9_.:@/-]*$")
    # How often a process re-reads the schedules (to take in changes made through another one).
    resync_seconds: int = Field(60, ge=1, le=3600)
    # How long an outbox row being delivered stays with its sender before another process may
    # deliver it (its sender was killed mid-delivery).
    outbox_lease_seconds: int = Field(120, ge=5, le=3600)


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
    processes: ProcessSettings = ProcessSettings()
    confirmations: ConfirmationSettings = ConfirmationSettings()
    questions: QuestionSettings = QuestionSettings()
    agreements: AgreementSettings = AgreementSettings()
    pairing: PairingSettings = PairingSettings()
    retention: RetentionSettings = RetentionSettings()

    # Secrets: environment only (ALONGSIDE_DATA_KEY; each adapter adds its own token fields).
    data_key: SecretStr | None = None
    # The store's url with its password (ALONGSIDE_STORAGE_URL); overrides storage.url.
    storage_url: SecretStr | None = None

    def store_location(self) -> str:
        """Where the store is: a postgresql:// url (ALONGSIDE_STORAGE_URL, then storage.url) or
        the SQLite file (a `sqlite:` url, else storage.path). Holds the password: never log it
        (bot.storage.sql_dialect.redact_url)."""
        if self.storage_url is not None and self.storage_url.get_secret_value():
            return self.storage_url.get_secret_value()
        return self.storage.url or str(self.storage.path)


S = TypeVar("S", bound=Settings)


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
    if isinstance(given, str) and url_has_password(given):
        given = redact_url(given)  # a store url's password is never echoed
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return f"{origin}: {key}: {message}{shown}"


def resolve_config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def secret_fields(settings_class: type[Settings]) -> list[str]:
    """Top-level fields that may only come from the environment: those holding a SecretStr."""
    return [name for name, info in settings_class.model_fields.items() if "SecretStr" in str(info.annotation)]


def _sections(settings_class: type[Settings]) -> list[tuple[str, type[Section]]]:
    found = []
    for name, info in settings_class.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, Section):
            found.append((name, kind))
    return found


def _secrets_in_file(data: dict[str, Any], origin: str, settings_class: type[Settings]) -> list[str]:
    """A line per secret written into the file (never its value): where it belongs instead."""
    found = [
        f"{origin}: {name}: secrets come from the environment only; "
        f"set ALONGSIDE_{name.upper()} instead"
        for name in secret_fields(settings_class)
        if name in data
    ]
    for section, kind in _sections(settings_class):
        table = data.get(section)
        for key, variable in kind.secret_keys.items():
            if isinstance(table, dict) and key in table:
                found.append(
                    f"{origin}: {section}.{key}: secrets are never read from the config file; "
                    f"put this in {variable} (the service's environment file) and remove it here"
                )
    return found


def _resolve_relative_paths(data: dict[str, Any], folder: Path, settings_class: type[Settings]) -> None:
    """Relative paths written in a config file mean "beside this file", not "wherever the bot
    happens to be started from" (a service's working folder is easy to get wrong)."""
    places = list(FILE_RELATIVE_PATHS) + [
        (section, key) for section, kind in _sections(settings_class) for key in kind.relative_paths
    ]
    for where in places:
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


def _known_variables(settings_class: type[Settings]) -> dict[str, str]:
    """Every ALONGSIDE_* variable that sets something, upper-cased, to its canonical spelling."""
    names = {}
    for field_name, info in settings_class.model_fields.items():
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


def unknown_environment(
    environ: Mapping[str, str], settings_class: type[Settings] | None = None
) -> list[tuple[str, str]]:
    """(variable, hint) for each ALONGSIDE_* variable that maps to no setting: a misspelt one is
    otherwise ignored without a word, and the setting it meant keeps its default."""
    settings_class = settings_class or Settings
    known = _known_variables(settings_class)
    secret_names = {f"ALONGSIDE_{name.upper()}" for name in secret_fields(settings_class)}
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


def load_settings(
    path: Path | None = None, *, settings_class: type[S] | None = None, **overrides: Any
) -> S:
    """Load settings from `path` (or defaults), then the environment, then explicit overrides.

    `settings_class` is the whole program's settings, the core's with the adapters' sections
    (alongside/settings.py); the core's alone by default.
    Relative paths written in the file are taken from the file's folder; defaults and the
    environment's paths stay relative to the working folder."""
    base: type[Any] = settings_class or Settings
    data: dict[str, Any] = _read_toml(path) if path is not None else {}
    origin = str(path) if path is not None else "settings"
    # A variable that names no setting would be ignored (or fail with only the setting's name):
    # name the variable itself, as it is written in the environment file.
    problems = _secrets_in_file(data, origin, base) + [line for _, line in unknown_environment(os.environ, base)]
    if problems:
        raise ConfigError(problems)
    if path is not None:
        _resolve_relative_paths(data, path.resolve().parent, base)

    class _Loaded(base):  # type: ignore[valid-type,misc]
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
        loaded: S = _Loaded(**overrides)
        return loaded
    except ValidationError as error:
        raise ConfigError([_describe(item, origin) for item in error.errors()]) from None
