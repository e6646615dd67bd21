"""What `alongside check` looks at beyond the config file and prompts: what the chosen adapter
needs before it can start, the database (its schema and data key), and, with --online, whether the
homeserver or Discord answers and accepts the token. Nothing here writes or logs in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp

from alongside.settings import Settings
from bot.storage.db import available_migrations

ONLINE_TIMEOUT = 10.0


def adapter_problems(settings: Settings, adapter: str | None) -> list[str]:
    """What `alongside run --adapter ADAPTER` would refuse at start for want of a setting."""
    problems: list[str] = []
    if adapter == "matrix":
        matrix = settings.matrix
        if not matrix.homeserver:
            problems.append(
                '[matrix] homeserver is not set (e.g. homeserver = "https://matrix.example.org",'
                " or ALONGSIDE_MATRIX__HOMESERVER)"
            )
        if not matrix.user_id:
            problems.append(
                '[matrix] user_id is not set (e.g. user_id = "@alongside:example.org",'
                " or ALONGSIDE_MATRIX__USER_ID)"
            )
        if (
            settings.matrix_access_token is None
            and settings.matrix_password is None
            and _stored_token(settings) is None
        ):
            problems.append(
                "no Matrix login: set ALONGSIDE_MATRIX_ACCESS_TOKEN, or ALONGSIDE_MATRIX_PASSWORD"
                " for a first login"
            )
    elif adapter == "discord":
        if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
            problems.append("no Discord token: set ALONGSIDE_DISCORD_TOKEN")
    return problems


def _stored_token(settings: Settings) -> str | None:
    """The token a password login kept in the store, when it is for this account."""
    from adapters.matrix.client import read_credentials

    stored = read_credentials(Path(settings.matrix.store_path).expanduser())
    if stored is None or stored.user_id != settings.matrix.user_id:
        return None
    if stored.homeserver != settings.matrix.homeserver:
        return None
    return stored.access_token


def schema_problem(db_path: Path) -> str | None:
    """A database from a newer release (what `alongside run` refuses); read-only."""
    if not db_path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" not in tables:
                return None
            versions = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return f"the database {db_path} cannot be read ({error})"
    known = {version for version, _, _ in available_migrations()}
    if versions - known:
        return (
            f"the database {db_path} has schema version {max(versions)}, newer than this Alongside"
            f" knows (up to {max(known)}): start the release that made it, or restore a backup made"
            " by this one (docs/upgrade.md)"
        )
    return None


async def online_problems(settings: Settings, adapter: str | None) -> tuple[list[str], list[str]]:
    """(problems, notes) from asking the server: reachable, and the token accepted."""
    timeout = aiohttp.ClientTimeout(total=ONLINE_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if adapter == "matrix":
            return await _matrix_online(session, settings)
        if adapter == "discord":
            return await _discord_online(session, settings)
    return [], ["--online needs --adapter matrix or --adapter discord; nothing was asked"]


def _unreachable(what: str, url: str, error: BaseException) -> str:
    reason = "no answer in time" if isinstance(error, TimeoutError) else (str(error).strip() or type(error).__name__)
    return f"cannot reach {what} at {url} ({reason})"


async def _matrix_online(session: aiohttp.ClientSession, settings: Settings) -> tuple[list[str], list[str]]:
    matrix = settings.matrix
    base = matrix.homeserver
    try:
        async with session.get(f"{base}/_matrix/client/versions") as response:
            if response.status != 200:
                return [f"{base} answered {response.status} to /_matrix/client/versions: is it the homeserver's client URL?"], []
        if settings.matrix_access_token is not None:
            token, where = settings.matrix_access_token.get_secret_value(), "ALONGSIDE_MATRIX_ACCESS_TOKEN"
        else:
            token, where = _stored_token(settings), "the access token kept in [matrix] store_path"
        if token is None:
            return [], [
                "the password login happens at the first start (check does not log in: that"
                " would make a new device)"
            ]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{base}/_matrix/client/v3/account/whoami", headers=headers) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        return [_unreachable("the Matrix homeserver", base, error)], []
    if response.status != 200:
        code = body.get("errcode", response.status) if isinstance(body, dict) else response.status
        return [f"the homeserver at {base} did not accept {where} ({code})"], []
    user = body.get("user_id")
    if user != matrix.user_id:
        return [f"{where} belongs to {user}, but [matrix] user_id is {matrix.user_id}"], []
    device = body.get("device_id")
    return [], [f"the homeserver accepts {where} for {user}" + (f" (device {device})" if device else "")]


async def _discord_online(session: aiohttp.ClientSession, settings: Settings) -> tuple[list[str], list[str]]:
    base = settings.discord.api_base
    if settings.discord_token is None:
        return [], []
    headers = {"Authorization": f"Bot {settings.discord_token.get_secret_value()}"}
    try:
        async with session.get(f"{base}/users/@me", headers=headers) as response:
            status = response.status
            body = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        return [_unreachable("Discord", base, error)], []
    if status == 401:
        return [f"Discord did not accept ALONGSIDE_DISCORD_TOKEN ({status})"], []
    if status != 200:
        return [f"{base} answered {status} to /users/@me"], []
    name = body.get("username", "?") if isinstance(body, dict) else "?"
    return [], [f"Discord accepts ALONGSIDE_DISCORD_TOKEN for the bot {name}"]
