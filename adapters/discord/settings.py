"""The Discord adapter's `[discord]` section of the config file (`ALONGSIDE_DISCORD__...` in the
environment). The composition root adds it to the program's settings (alongside/settings.py)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from adapters.discord.shards import MAX_SHARDS, parse_shard_ids, shard_problems
from bot.config import Section


class DiscordSettings(Section):
    """The Discord adapter (`alongside run --adapter discord`). The token comes only from
    ALONGSIDE_DISCORD_TOKEN."""

    secret_keys: ClassVar[dict[str, str]] = {"token": "ALONGSIDE_DISCORD_TOKEN"}

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
    # Sharding (docs/discord.md, "Sharding"): how many shards the bot has in all (unset: the
    # number Discord recommends, asked at start) and which of them this process runs, as
    # "0-3" or [0, 1, 2, 3] (unset: all of them). `alongside run --shard-ids/--shard-count`
    # override both.
    shard_count: int | None = Field(None, ge=1, le=MAX_SHARDS)
    shard_ids: list[int] | None = None

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_shard_ids(value)
        return value

    @model_validator(mode="after")
    def _shards(self) -> DiscordSettings:
        problems = shard_problems(self.shard_ids, self.shard_count)
        if problems:
            raise ValueError(problems[0])
        return self

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
