"""`alongside run | check | key rotate | matrix cross-sign | prompts lint | prompts stats` — start-up problems end with one clear
message, exit 2."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from alongside.logging_setup import configure_logging
from alongside.settings import Settings, load_settings
from bot.config import ConfigError, resolve_config_path
from bot.storage.crypto import DataKeyError
from bot.storage.db import NewerSchemaError
from bot.storage.sql_dialect import is_postgres_url, redact_url
from bot.texts.catalog import FALLBACK_LOCALE, Catalog, CatalogError
from bot.texts.coverage import coverage
from bot.texts.lint import lint_path

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alongside", description="A peer-support space bot.")
    parser.add_argument("--version", action="version", version=f"alongside {_version()}")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the bot (the console adapter by default)")
    run.add_argument("--adapter", choices=("console", "matrix", "discord"), default="console")
    run.add_argument("--config", type=Path, help="TOML config file (default: ./config.toml if present)")
    run.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")
    run.add_argument("--seed", type=int, default=0, help="seed for question order and matching")
    run.add_argument("--start", help="console: the simulated clock's start, e.g. 2026-01-05T09:00")
    run.add_argument(
        "--shard-ids", help="discord: the shards this process runs, e.g. 0-3 (default: all; docs/discord.md)"
    )
    run.add_argument("--shard-count", type=int, help="discord: how many shards the bot has in all")

    check = commands.add_parser(
        "check", help="validate the config and every prompt file, and that the data key opens the database"
    )
    check.add_argument("--config", type=Path)
    check.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")
    check.add_argument(
        "--adapter", choices=("console", "matrix", "discord"), help="also check what this adapter needs"
    )
    check.add_argument(
        "--online", action="store_true", help="also ask the homeserver or Discord whether the token works"
    )

    backup_cmd = commands.add_parser(
        "backup", help="copy the database and the Matrix store into a new folder (the bot may run)"
    )
    backup_cmd.add_argument("dest", type=Path, help="a new, empty folder")
    backup_cmd.add_argument("--config", type=Path)
    backup_cmd.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")

    restore_cmd = commands.add_parser(
        "restore", help="check a backup, then put it in place (stop the bot first)"
    )
    restore_cmd.add_argument("source", type=Path, help="a folder made by `alongside backup`")
    restore_cmd.add_argument("--config", type=Path)
    restore_cmd.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")
    restore_cmd.add_argument(
        "--replace", action="store_true", help="move a present database and store aside first"
    )

    key_cmd = commands.add_parser("key", help="the data key")
    key_commands = key_cmd.add_subparsers(dest="key_command", required=True)
    rotate = key_commands.add_parser(
        "rotate", help="re-encrypt everything under a new data key (stop the bot first)"
    )
    rotate.add_argument("--config", type=Path)
    rotate.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")

    discord_cmd = commands.add_parser("discord", help="Discord tools")
    discord_commands = discord_cmd.add_subparsers(dest="discord_command", required=True)
    sync = discord_commands.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument("--guild", type=int, help="only this server (default: [discord] guild_ids, or global)")
    sync.add_argument("--config", type=Path)
    sync.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")

    matrix_cmd = commands.add_parser("matrix", help="Matrix tools")
    matrix_commands = matrix_cmd.add_subparsers(dest="matrix_command", required=True)
    cross_sign = matrix_commands.add_parser(
        "cross-sign", help="set up the bot's cross-signing keys and sign its device (done at every start too)"
    )
    cross_sign.add_argument(
        "--reset", action="store_true", help="replace the account's cross-signing keys with new ones"
    )
    cross_sign.add_argument("--config", type=Path)
    cross_sign.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")

    from alongside.db_copy import add_parser as add_db_parser

    add_db_parser(commands)
    facilitators = commands.add_parser("facilitators", help="who may run facilitator commands")
    facilitator_commands = facilitators.add_subparsers(dest="facilitators_command", required=True)
    reset = facilitator_commands.add_parser(
        "reset", help="put a community's facilitator rule back to the platform default (a way back after a lock-out)"
    )
    reset.add_argument("--community", required=True, help="the community's name or platform id")
    reset.add_argument("--platform", choices=("console", "matrix", "discord"), help="when several match")
    reset.add_argument("--config", type=Path)
    reset.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")

    prompts = commands.add_parser("prompts", help="work with prompt files")
    prompts_commands = prompts.add_subparsers(dest="prompts_command", required=True)
    lint = prompts_commands.add_parser("lint", help="lint prompt files")
    lint.add_argument("path", nargs="?", type=Path)
    stats = prompts_commands.add_parser(
        "stats",
        help="each locale's coverage against English, and the question bank per task, audience and depth",
    )
    stats.add_argument("path", nargs="?", type=Path, help="a prompts folder, a locale folder or a questions file")
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("alongside")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: run scripts/bootstrap)"


def _load(config: Path | None, **overrides: object) -> Settings:
    return load_settings(resolve_config_path(config), **overrides)


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"alongside: {line}", file=sys.stderr)
    return EXIT_CONFIG


def _parse_start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(second=0, microsecond=0)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


EXIT_ONLINE = 3


def _postgres_store(settings: Settings, db: Path | None) -> bool:
    return db is None and is_postgres_url(settings.store_location())


def _sqlite_only(command: str, settings: Settings) -> str:
    return (
        f"{command} works on a SQLite store only, and this one is PostgreSQL"
        f" ({redact_url(settings.store_location())}); back it up with pg_dump and keep the data key"
        " apart from it (docs/configuration.md); nothing was changed"
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0: all fine (notes and warnings may be printed); 1: a setting, an ALONGSIDE_*
    variable or a prompt file is wrong; 2: the database would be refused (the data key does not
    open it, or a newer release made it); 3 (--online): the server cannot be reached or refuses
    the token. With several, the highest."""
    from alongside.checks import adapter_problems, online_problems, schema_problem

    problems: list[str] = []
    config_ok = True
    try:
        settings = _load(args.config)
    except ConfigError as error:
        problems.extend(error.problems)
        settings = Settings.model_construct()  # defaults only: the environment is what failed
        config_ok = False
    try:
        catalog = Catalog(settings.prompts_dir)
        problems.extend(catalog.plural_problems())
        # Every locale against English: a missing or extra key, placeholder or question id.
        problems.extend(p for found in coverage(settings.prompts_dir) for p in found.problems)
    except (CatalogError, tomllib.TOMLDecodeError) as error:
        problems.append(str(error))
    problems.extend(str(problem) for problem in lint_path(settings.prompts_dir))
    if config_ok:
        problems.extend(adapter_problems(settings, args.adapter))
    database_problems: list[str] = []
    notes: list[str] = []
    if config_ok and _postgres_store(settings, args.db):
        notes.append("note: the PostgreSQL store's schema and data key are checked when the bot starts")
    elif config_ok:
        newer = schema_problem(Path(args.db or settings.storage.path))
        if newer is not None:
            database_problems.append(newer)
        else:
            key_problem, notes = asyncio.run(_check_key(settings, args.db))
            if key_problem is not None:
                database_problems.append(key_problem)
    online: list[str] = []
    if args.online and config_ok and not problems:
        online, online_notes = asyncio.run(online_problems(settings, args.adapter))
        notes.extend(f"note: {note}" for note in online_notes)
    for note in notes:
        print(note)
    everything = problems + database_problems + online
    if everything:
        for problem in everything:
            print(problem)
        if database_problems:
            return EXIT_CONFIG
        return EXIT_ONLINE if online else 1
    print("ok")
    return 0


async def _check_key(settings: Settings, db_path: Path | None) -> tuple[str | None, list[str]]:
    """Whether the configured key opens the database (when there is one); writes nothing."""
    import aiosqlite

    from alongside.runtime import env_key_of, key_file_for
    from bot.storage.files import exposure_warning
    from bot.storage.keycheck import KeyResolver, exposed_data_files
    from bot.storage.sqlite_db import SqliteDatabase

    path = Path(db_path or settings.storage.path)
    key_file = key_file_for(settings, path)
    notes = []
    exposed = exposed_data_files(path, key_file)
    if exposed:
        notes.append(f"warning: {exposure_warning(exposed)}")
    if not path.exists():
        return None, notes
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        db = SqliteDatabase(conn, str(path))
        choice = await KeyResolver(path, env_key_of(settings), key_file, write=False).resolve(
            db, datetime.now(UTC)
        )
        notes.extend(f"note: {note}" for note in choice.notes)
        return None, notes
    except DataKeyError as error:
        return str(error), notes
    finally:
        await conn.close()


def cmd_key(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    if _postgres_store(settings, args.db):
        return _fail([_sqlite_only("`alongside key rotate`", settings)])
    from alongside.runtime import env_key_of, key_file_for
    from bot.storage.rotation import rotate

    path = Path(args.db or settings.storage.path)
    key_file = key_file_for(settings, path)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        done = asyncio.run(rotate(path, env_key_of(settings), key_file, datetime.now(UTC)))
    except (DataKeyError, NewerSchemaError) as error:
        return _fail([str(error)])
    print(f"re-encrypted {done.values} values under a new data key.")
    if done.new_key_text is None:
        print(f"The key file {done.key_file} holds the new key.")
    else:
        # Printed once, here: the key came from the environment, so the new one goes there too.
        print("Set ALONGSIDE_DATA_KEY to this new key before the next start:")
        print(done.new_key_text)
        print(
            f"Until the first start with it, it is also kept in {key_file.name}.new beside the key file"
            " path; that start removes it."
        )
    print("Back up the database and the new key together: earlier backups open only with the old key.")
    return 0


def _matrix_store(settings: Settings) -> Path:
    return Path(settings.matrix.store_path).expanduser()


def cmd_backup(args: argparse.Namespace) -> int:
    """Exit 0: the backup is complete (manifest written last); 2: nothing usable was made."""
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    if _postgres_store(settings, args.db):
        return _fail([_sqlite_only("`alongside backup`", settings)])
    from alongside.backup import BackupError, backup

    path = Path(args.db or settings.storage.path)
    try:
        done = backup(path, _matrix_store(settings), args.dest)
    except BackupError as error:
        return _fail([str(error)])
    except OSError as error:
        return _fail([f"{args.dest}: cannot write the backup ({error.strerror or error})"])
    print(f"backed up {len(done.files)} files (schema version {done.schema_version}) into {done.folder}")
    print(
        "The data key and the tokens are not in it: keep them with your other secrets, apart from"
        " the backup (docs/upgrade.md)."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Exit 0: restored; 2: refused, nothing changed (a damaged or newer backup, a key that does
    not open it, a running bot, files in the way)."""
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    if _postgres_store(settings, args.db):
        return _fail([_sqlite_only("`alongside restore`", settings)])
    from alongside.backup import BackupError, restore
    from alongside.runtime import env_key_of, key_file_for

    path = Path(args.db or settings.storage.path)
    try:
        done = restore(
            args.source,
            path,
            _matrix_store(settings),
            env_key=env_key_of(settings),
            key_file=key_file_for(settings, path),
            replace=args.replace,
        )
    except BackupError as error:
        return _fail([str(error)])
    except OSError as error:
        return _fail([f"cannot restore into place ({error.strerror or error}); see what is left"])
    print(f"restored the database (schema version {done.schema_version}) to {done.database}")
    if done.store is not None:
        print(f"restored the Matrix store to {done.store}")
    for moved in done.moved_aside:
        print(f"moved the present {moved.name.split('.before-restore-')[0]} aside to {moved}")
    print("Start the bot as usual; it continues from the moment of the backup.")
    return 0


def cmd_facilitators(args: argparse.Namespace) -> int:
    """Clear a community's stored facilitator rule, so the platform default applies again
    (console: [console] facilitators; Matrix: the power level; Discord: [discord]
    facilitator_rule). Safe while the bot runs: every command reads the rule afresh."""
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    try:
        return asyncio.run(_reset_facilitators(settings, args))
    except DataKeyError as error:
        return _fail([str(error)])


async def _reset_facilitators(settings: Settings, args: argparse.Namespace) -> int:
    from alongside.runtime import open_store
    from bot.clock import SystemClock

    db, _cipher, lock = await open_store(settings, SystemClock(), args.db)
    try:
        rows = await db.fetchall(
            "SELECT id, platform, external_id, name, facilitator_rule FROM communities ORDER BY id"
        )
        wanted = [
            row for row in rows
            if args.community in (row[2], row[3]) and args.platform in (None, row[1])
        ]
        if len(wanted) != 1:
            known = "; ".join(f"{row[1]} {row[2]} ({row[3] or 'no name'})" for row in rows) or "none yet"
            if wanted:
                return _fail([f"several communities match '{args.community}'; add --platform. Known: {known}"])
            return _fail([f"no community '{args.community}' in {db.path}. Known: {known}"])
        (row,) = wanted
        async with db.transaction() as tx:
            await tx.execute("UPDATE communities SET facilitator_rule = '' WHERE id = ?", (row[0],))
        before = row[4] or "the platform default"
        print(f"{row[1]} community {row[3] or row[2]}: facilitator rule was {before}, now the platform default.")
        return 0
    finally:
        await db.close()
        if lock is not None:
            lock.release()


def cmd_lint(args: argparse.Namespace) -> int:
    path = args.path or Settings().prompts_dir
    if not path.exists():
        return _fail([f"{path}: no such file or folder"])
    problems = lint_path(path)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.texts.coverage import coverage
    from bot.texts.coverage import render as render_coverage
    from bot.texts.stats import bank_stats, question_files, render

    path = args.path or Settings().prompts_dir
    if not path.exists():
        return _fail([f"{path}: no such file or folder"])
    complete = True
    if path.is_dir() and (path / FALLBACK_LOCALE).is_dir():  # a prompts folder: every locale's coverage
        try:
            found_coverage = coverage(path)
        except (CatalogError, tomllib.TOMLDecodeError) as error:
            return _fail([f"{path}: {error}"])
        print(render_coverage(found_coverage) + "\n")
        complete = all(c.complete for c in found_coverage)
    files = question_files(path)
    if not files:
        return _fail([f"{path}: no {path.name if path.is_file() else 'questions.toml'} with questions"])
    try:
        found = [bank_stats(file) for file in files]
    except tomllib.TOMLDecodeError as error:
        return _fail([f"{path}: {error}"])
    print("\n\n".join(render(stats) for stats in found))
    # A deep question without its note, or a locale short of 100 %, is a fault: scripts stop on it.
    return 1 if any(stats.deep_without_note for stats in found) or not complete else 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
        start = _parse_start(args.start)
    except ConfigError as error:
        return _fail(error.problems)
    except ValueError:
        return _fail([f"--start: '{args.start}' is not a date and time like 2026-01-05T09:00"])
    if args.shard_ids is not None or args.shard_count is not None:
        try:
            settings = _with_shards(settings, args)
        except ConfigError as error:
            return _fail(error.problems)
    configure_logging(settings, terminal_level=logging.WARNING if args.adapter == "console" else None)
    if args.adapter == "console":
        from adapters.console.runner import run_console

        runner = run_console(settings, db_path=args.db, seed=args.seed, start=start)
    elif args.adapter == "matrix":
        from adapters.matrix.runner import run_matrix  # type: ignore[import-not-found]

        runner = run_matrix(settings, db_path=args.db, seed=args.seed)
    else:
        from adapters.discord.runner import run_discord

        runner = run_discord(settings, db_path=args.db, seed=args.seed)
    try:
        return asyncio.run(runner)
    except (ConfigError, DataKeyError, CatalogError, NewerSchemaError) as error:
        return _fail(getattr(error, "problems", [str(error)]))
    except KeyboardInterrupt:
        return 0


def _with_shards(settings: Settings, args: argparse.Namespace) -> Settings:
    """`--shard-ids/--shard-count` over the [discord] section's; refused for other adapters."""
    if args.adapter != "discord":
        raise ConfigError(
            [
                f"--shard-ids and --shard-count are for Discord only; a {args.adapter} bot runs as one"
                " process (Matrix: one process per bot account, see docs/deploy.md)"
            ]
        )
    from pydantic import ValidationError

    from adapters.discord.settings import DiscordSettings

    values = settings.discord.model_dump()
    if args.shard_count is not None:
        values["shard_count"] = args.shard_count
    if args.shard_ids is not None:
        values["shard_ids"] = args.shard_ids
    try:
        discord = DiscordSettings.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"{part}: " for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError([f"--shard-ids/--shard-count: {where}{message}"]) from None
    return settings.model_copy(update={"discord": discord})


def cmd_discord(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from adapters.discord.sync import run_sync

    try:
        return asyncio.run(run_sync(settings, guild=args.guild, db_path=args.db))
    except (ConfigError, DataKeyError, CatalogError, NewerSchemaError) as error:
        return _fail(getattr(error, "problems", [str(error)]))


def cmd_matrix(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    configure_logging(settings, terminal_level=logging.WARNING)
    from adapters.matrix.runner import cross_sign  # type: ignore[import-not-found]

    try:
        return asyncio.run(cross_sign(settings, db_path=args.db, reset=args.reset))
    except (ConfigError, DataKeyError, CatalogError, NewerSchemaError) as error:
        return _fail(getattr(error, "problems", [str(error)]))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    if args.command == "check":
        return cmd_check(args)
    if args.command == "prompts":
        return cmd_stats(args) if args.prompts_command == "stats" else cmd_lint(args)
    if args.command == "discord":
        return cmd_discord(args)
    if args.command == "key":
        return cmd_key(args)
    if args.command == "matrix":
        return cmd_matrix(args)
    if args.command == "facilitators":
        return cmd_facilitators(args)
    if args.command == "db":
        from alongside.db_copy import cmd_db

        return cmd_db(args)
    if args.command == "backup":
        return cmd_backup(args)
    if args.command == "restore":
        return cmd_restore(args)
    return cmd_run(args)
