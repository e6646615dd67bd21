"""`alongside run | check | prompts lint` — start-up problems end with one clear message, exit 2."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from alongside.logging_setup import configure_logging
from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.storage.crypto import DataKeyError
from bot.texts.catalog import Catalog, CatalogError
from bot.texts.lint import lint_path

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alongside", description="A peer-support space bot.")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the bot (the console adapter by default)")
    run.add_argument("--adapter", choices=("console", "matrix", "discord"), default="console")
    run.add_argument("--config", type=Path, help="TOML config file (default: ./config.toml if present)")
    run.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")
    run.add_argument("--seed", type=int, default=0, help="seed for question order and matching")
    run.add_argument("--start", help="console: the simulated clock's start, e.g. 2026-01-05T09:00")

    check = commands.add_parser("check", help="validate the config and every prompt file")
    check.add_argument("--config", type=Path)

    discord_cmd = commands.add_parser("discord", help="Discord tools")
    discord_commands = discord_cmd.add_subparsers(dest="discord_command", required=True)
    sync = discord_commands.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument("--guild", type=int, help="only this server (default: [discord] guild_ids, or global)")
    sync.add_argument("--config", type=Path)
    sync.add_argument("--db", type=Path, help="SQLite database path (overrides the config)")

    prompts = commands.add_parser("prompts", help="work with prompt files")
    prompts_commands = prompts.add_subparsers(dest="prompts_command", required=True)
    lint = prompts_commands.add_parser("lint", help="lint prompt files")
    lint.add_argument("path", nargs="?", type=Path)
    return parser


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


def cmd_check(args: argparse.Namespace) -> int:
    problems: list[str] = []
    try:
        settings = _load(args.config)
    except ConfigError as error:
        problems.extend(error.problems)
        settings = Settings()
    try:
        catalog = Catalog(settings.prompts_dir)
        problems.extend(catalog.placeholder_problems())
    except CatalogError as error:
        problems.append(str(error))
    problems.extend(str(problem) for problem in lint_path(settings.prompts_dir))
    if problems:
        for problem in problems:
            print(problem)
        return 1
    print("ok")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    path = args.path or Settings().prompts_dir
    if not path.exists():
        return _fail([f"{path}: no such file or folder"])
    problems = lint_path(path)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
        start = _parse_start(args.start)
    except ConfigError as error:
        return _fail(error.problems)
    except ValueError:
        return _fail([f"--start: '{args.start}' is not a date and time like 2026-01-05T09:00"])
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
    except (ConfigError, DataKeyError, CatalogError) as error:
        return _fail(getattr(error, "problems", [str(error)]))
    except KeyboardInterrupt:
        return 0


def cmd_discord(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
    except ConfigError as error:
        return _fail(error.problems)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from adapters.discord.sync import run_sync

    try:
        return asyncio.run(run_sync(settings, guild=args.guild, db_path=args.db))
    except (ConfigError, DataKeyError, CatalogError) as error:
        return _fail(getattr(error, "problems", [str(error)]))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    if args.command == "check":
        return cmd_check(args)
    if args.command == "prompts":
        return cmd_lint(args)
    if args.command == "discord":
        return cmd_discord(args)
    return cmd_run(args)
