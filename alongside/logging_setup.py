"""Logging for a running bot: never message text, content, tokens or keys.

The core logs ids and counts only. Libraries are the risk: at DEBUG, aiosqlite logs every SQL
parameter, discord.py logs gateway payloads and request bodies, matrix-nio logs events, peewee
(under nio's crypto store) logs SQL with the pickled keys as parameters. They are
held at a level where they log neither, whatever `log_level` says, and a filter masks any secret
from the settings that still slips into a record."""

from __future__ import annotations

import logging
import sys
from logging.handlers import TimedRotatingFileHandler

from alongside.settings import Settings

# Library loggers and the most they may log.
LIBRARY_LEVELS = {
    "aiosqlite": logging.WARNING,
    "discord": logging.INFO,
    "discord.http": logging.WARNING,
    "discord.gateway": logging.INFO,
    "nio": logging.WARNING,
    # The Matrix crypto store: at DEBUG peewee logs every SQL statement with its parameters
    # (pickled account and room keys, identity keys), and nio's crypto and store loggers name
    # keys and sessions. Held by name too, so a level set on "nio" alone cannot free them.
    "peewee": logging.WARNING,
    "nio.crypto": logging.WARNING,
    "nio.store": logging.WARNING,
    "hpack": logging.WARNING,  # HTTP/2 header coding: would log headers, tokens included
    "aiohttp": logging.WARNING,
    "apscheduler": logging.WARNING,
    "asyncio": logging.WARNING,
}

MASK = "[redacted]"


class SecretMask(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def add(self, secret: str) -> None:
        if len(secret) >= 6 and secret not in self._secrets:
            self._secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_secret(secret: str) -> None:
    """Mask a secret learnt after logging was set up (the Matrix crypto store's pickle key)."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, SecretMask):
                found.add(secret)


def secrets_of(settings: Settings) -> list[str]:
    values = (settings.data_key, settings.discord_token, settings.matrix_access_token, settings.matrix_password)
    return [value.get_secret_value() for value in values if value is not None]


def quiet_libraries() -> None:
    for name, most in LIBRARY_LEVELS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(most, logger.getEffectiveLevel() if logger.level else most))


def configure_logging(settings: Settings, *, terminal_level: int | None = None) -> None:
    """stderr (at `terminal_level` if given, e.g. WARNING for the console, whose stdout is the
    conversation) and, when `log_file` is set, a file rotated daily and kept `log_days` days."""
    level = getattr(logging, settings.log_level)
    mask = SecretMask(secrets_of(settings))
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(max(level, terminal_level or level))
    handlers: list[logging.Handler] = [stderr]
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = TimedRotatingFileHandler(
            settings.log_file, when="midnight", backupCount=settings.retention.log_days, utc=True
        )
        file_handler.setLevel(level)
        handlers.append(file_handler)
    for handler in handlers:
        handler.addFilter(mask)
    logging.basicConfig(
        level=level,
        handlers=handlers,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    quiet_libraries()
