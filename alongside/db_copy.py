"""`alongside db copy --from STORE --to STORE [--replace]`: move a store between SQLite and
PostgreSQL (bot/storage/copying.py does the copy and the check). Stop the bot first: rows written
to the source while it copies would not be in the copy."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.storage.copying import CopyRefused, TableCheck, copy_tables
from bot.storage.db import NewerSchemaError, open_database
from bot.storage.sql_dialect import redact_url


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = commands.add_parser("db", help="move the store between SQLite and PostgreSQL")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    copy = db_commands.add_parser("copy", help="copy every table into another store, then verify it")
    copy.add_argument("--from", dest="source", required=True, help="sqlite:PATH, a path, or postgresql://...")
    copy.add_argument("--to", dest="target", required=True, help="sqlite:PATH, a path, or postgresql://...")
    copy.add_argument("--replace", action="store_true", help="empty a target that already holds data")


def cmd_db(args: argparse.Namespace) -> int:
    try:
        checks = asyncio.run(copy(args.source, args.target, replace=args.replace))
    except (CopyRefused, NewerSchemaError) as error:
        print(f"alongside: {error}", file=sys.stderr)
        return 2
    width = max(len(check.table) for check in checks)
    for check in checks:
        print(
            f"{check.table:<{width}}  {check.target_rows:>8} rows  sha256 {check.target_hash[:16]}"
            f"  {'ok' if check.same else f'DIFFERS (source {check.source_rows} rows, {check.source_hash[:16]})'}"
        )
    wrong = [check.table for check in checks if not check.same]
    print(f"copied {len(checks)} tables from {redact_url(args.source)} to {redact_url(args.target)}: "
          + ("every row count and content hash matches" if not wrong else f"{len(wrong)} tables differ"))
    return 0 if not wrong else 1


async def copy(source_url: str, target_url: str, *, replace: bool) -> list[TableCheck]:
    source = await open_database(source_url)
    try:
        target = await open_database(target_url)
        try:
            return await copy_tables(source, target, replace=replace)
        finally:
            await target.close()
    finally:
        await source.close()
