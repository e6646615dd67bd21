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

# Every statement has found its repository; a file named here would be allowed SQL while it moves.
ALLOWED_FOR_NOW: set[str] = set()


def is_repository(path: Path) -> bool:
    rel = path.relative_to(BOT)
    return rel.parts[0] == "storage" or path.name == "repo.py" or path.name.endswith("_repo.py")


def sql_literals(source: str, filename: str = "<src>") -> list[int]:
    """Line numbers of string literals (plain or f-strings) that start with a SQL statement."""
    return sorted({line for line, _ in _sql_texts(source, filename)})


def _sql_texts(source: str, filename: str) -> list[tuple[int, str]]:
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
            lines.append((node.lineno, text))
    return lines


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


# -- adapters reach storage only through the port (issue 15, item 2) -------------------------------
# An adapter's own rows live in AdapterState (its key/value store, private and pair-space links)
# and the core's through App's methods: no adapter writes SQL or holds the database itself, so a
# second database engine never touches an adapter.
ADAPTERS = BOT.parent / "adapters"
# Adapters hold prose that starts like a statement (Discord's "Create Public Threads"
# permission), so there a literal counts as SQL once it also has a statement's clause.
CLAUSE = re.compile(r"\b(FROM|INTO|SET|TABLE|INDEX|VALUES)\b", re.IGNORECASE)
STATEMENT_CALLS = {"execute", "executemany", "fetchone", "fetchall"}


def database_reaches(source: str, filename: str = "<src>") -> list[str]:
    """Where code reaches the database itself: a `.db` / `._db` attribute, a statement run on
    anything, or the `Database` type imported."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Attribute) and node.attr in ("db", "_db"):
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STATEMENT_CALLS:
            found.append(f"{node.lineno}: .{node.func.attr}()")
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "Database" for alias in node.names):
            found.append(f"{node.lineno}: imports Database")
    return sorted(found)


def sql_statements(source: str, filename: str = "<src>") -> list[int]:
    """Line numbers of literals that start like a statement and carry a clause of one."""
    return sorted({line for line, text in _sql_texts(source, filename) if CLAUSE.search(text)})


def test_no_sql_in_adapters():
    offenders = []
    for path in sorted(ADAPTERS.rglob("*.py")):
        rel = str(path.relative_to(ADAPTERS.parent))
        offenders.extend(f"{rel}:{line}" for line in sql_statements(path.read_text(encoding="utf-8"), rel))
    assert offenders == []


def test_adapters_never_hold_the_database():
    offenders = []
    for path in sorted(ADAPTERS.rglob("*.py")):
        rel = str(path.relative_to(ADAPTERS.parent))
        offenders.extend(f"{rel}:{where}" for where in database_reaches(path.read_text(encoding="utf-8"), rel))
    assert offenders == []


def test_the_database_rule_catches_an_offender():
    source = (
        "from bot.app import Database, Tx\n"
        "key = app.db\n"
        "await self._db.fetchall(query)\n"
        "await tx.execute(query)\n"
        "state = app.adapter_state(platform)\n"
        "store.database.atomic()\n"
    )
    assert database_reaches(source) == [
        "1: imports Database", "2: .db", "3: ._db", "3: .fetchall()", "4: .execute()",
    ]


def test_the_adapter_sql_rule_spares_prose():
    source = (
        'permission = "Create Public Threads"\n'
        'q = "select key from adapter_state"\n'
        'f = f"DELETE FROM t WHERE k IN ({marks})"\n'
        'u = "UPDATE adapter_state SET value = ?"\n'
    )
    assert sql_statements(source) == [2, 3, 4]
