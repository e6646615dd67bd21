"""SQL lives only in repositories: `repo.py` / `*_repo.py` modules and `bot/storage/`.

Keeping every statement in a feature's repository is what lets a second database engine arrive
without touching feature code (issue 15).
"""

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
# A statement keyword followed by more words: a bare "with" (a dictionary key) is not SQL.
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|WITH)\s+\S", re.IGNORECASE)

# Temporary: the agreements package is being restructured on another branch (s15a moves these).
ALLOWED_FOR_NOW: set[str] = {
    "bot/features/member_data.py",  # AgreementsData reads agreements' tables: into the agreements repo
}


def is_repository(path: Path) -> bool:
    rel = path.relative_to(BOT)
    return rel.parts[0] == "storage" or path.name == "repo.py" or path.name.endswith("_repo.py")


def sql_literals(source: str, filename: str = "<src>") -> list[int]:
    """Line numbers of string literals (plain or f-strings) that start with a SQL statement."""
    tree = ast.parse(source, filename=filename)
    # Docstrings are prose ("Delete what is past its retention period"), never statements.
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    lines = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
        if text is not None and SQL_START.match(text):
            lines.append(node.lineno)
    return sorted(set(lines))


def test_no_sql_outside_repositories():
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        rel = str(path.relative_to(BOT.parent))
        if is_repository(path) or rel in ALLOWED_FOR_NOW:
            continue
        for line in sql_literals(path.read_text(encoding="utf-8"), rel):
            offenders.append(f"{rel}:{line}")
    assert offenders == []


def test_the_rule_catches_an_offender():
    source = 'q = "select 1"\nf = f"UPDATE t SET a = {x}"\nw = "  WITH x AS (SELECT 1) SELECT * FROM x"\nok = "Selected for you"\nkey = "with"\ndef f():\n    "Delete what is old."\n'
    assert sql_literals(source) == [1, 2, 3]
