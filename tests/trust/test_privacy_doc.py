"""docs/privacy.md describes every table and every column: a migration that adds one the document
does not mention fails here."""

import re
from pathlib import Path

from bot.storage.db import Database

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def documented() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### `([a-z_]+)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), set())
            continue
        row = re.match(r"^\| `([a-z_]+)` \|", line)
        if row and current is not None:
            current.add(row.group(1))
    return tables


async def test_every_table_and_column_is_documented(tmp_path):
    db = await Database.open(tmp_path / "schema.db")
    schema: dict[str, set[str]] = {}
    for (table,) in await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        schema[table] = {row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")}
    await db.close()
    doc = documented()
    missing_tables = sorted(set(schema) - set(doc))
    missing_columns = sorted(f"{t}.{c}" for t in schema for c in schema[t] - doc.get(t, set()))
    stale = sorted(set(doc) - set(schema))
    assert missing_tables == [], f"undocumented tables: {missing_tables}"
    assert missing_columns == [], f"undocumented columns: {missing_columns}"
    assert stale == [], f"documented tables that do not exist: {stale}"


def test_the_check_notices_a_new_column(tmp_path, monkeypatch):
    doc = documented()
    assert "text_enc" in doc["question_suggestions"]
    assert "favourite_colour" not in doc["members"]
