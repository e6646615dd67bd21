"""The Matrix adapter's `[matrix]` section of the config file (`ALONGSIDE_MATRIX__...` in the
environment). The composition root adds it to the program's settings (alongside/settings.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from bot.config import Section


class MatrixSettings(Section):
    """The Matrix adapter (`alongside run --adapter matrix`). The access token comes only from
    ALONGSIDE_MATRIX_ACCESS_TOKEN, or ALONGSIDE_MATRIX_PASSWORD for a first login."""

    secret_keys: ClassVar[dict[str, str]] = {
        "access_token": "ALONGSIDE_MATRIX_ACCESS_TOKEN",
        "token": "ALONGSIDE_MATRIX_ACCESS_TOKEN",
        "password": "ALONGSIDE_MATRIX_PASSWORD",
    }
    # Relative to the config file's folder when written there.
    relative_paths: ClassVar[tuple[str, ...]] = ("store_path",)

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
