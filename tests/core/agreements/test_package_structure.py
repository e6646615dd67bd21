"""Issue 15: the agreements package stays in rooms one can hold in one's head, and its SQL lives
in its repositories (so a second database engine touches repos only)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "bot" / "features" / "agreements"
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60
# A string that starts like an SQL statement (this project writes SQL keywords in capitals, so a
# docstring starting "Drop ..." or "Update ..." is not one).
SQL = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WITH|CREATE|DROP|ALTER|REPLACE INTO)\b")
REPOS = {"repo.py", "space_repo.py"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.glob("*.py"))


def test_no_file_over_600_lines() -> None:
    long = {p.name: n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert long == {}


def test_no_long_function_without_a_reason() -> None:
    """A function over 60 lines says why in a comment on its first lines (or in its docstring's
    "Long because" sentence)."""
    unexplained = []
    for path in _modules():
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                head = "\n".join(lines[node.lineno - 1 : node.lineno + 4])
                if length > MAX_FUNCTION_LINES and "long because" not in head.lower():
                    unexplained.append(f"{path.name}:{node.name} ({length} lines)")
    assert unexplained == []


def test_sql_only_in_repositories() -> None:
    found = []
    for path in _modules():
        if path.name in REPOS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
