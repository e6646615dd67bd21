"""The core never depends on a platform: nothing under bot/ imports adapters, discord or nio."""

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
FORBIDDEN = ("adapters", "discord", "nio", "alongside")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            names.extend(arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def test_core_imports_no_platform_or_adapter():
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        for name in imported_modules(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert offenders == []


def test_the_rule_catches_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import nio\nfrom adapters.console import adapter\nimport importlib\nimportlib.import_module('discord')\n")
    assert [n.split(".")[0] for n in imported_modules(bad)] == ["nio", "adapters", "importlib", "discord"]


# -- no platform names in the core (issue 15) ------------------------------------------------------
# The core knows platforms only by their traits (bot/traits.py), looked up by a key it never
# interprets: a platform's name written in bot/ code means a decision the adapter should make.
PLATFORM_NAME = re.compile(r"matrix|discord", re.IGNORECASE)
# Files that may still name a platform, each with why.
NAMES_ALLOWED = {
    # adapter_state rows are keyed by platform: the data key rotation must find each adapter's
    # ciphertexts, declared here so one list covers the whole database (issue 11).
    "bot/storage/encrypted_columns.py",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (a module's, class's or function's first string)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def platform_names(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal or f-string part in `source` that names a platform;
    comments and docstrings are free to."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and PLATFORM_NAME.search(node.value)
    ]


def test_core_names_no_platform():
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        relative = path.relative_to(BOT.parent).as_posix()
        if relative in NAMES_ALLOWED:
            continue
        for line, text in platform_names(path.read_text(encoding="utf-8")):
            offenders.append(f"{relative}:{line}: {text!r}")
    assert offenders == []


def test_the_name_rule_catches_literals_and_fstrings_not_comments():
    source = (
        '"""Discord and Matrix in a docstring are fine."""\n'
        "# so is Matrix in a comment\n"
        "def f(p):\n"
        '    """A Discord modal."""\n'
        '    if p == "matrix":\n'
        '        return f"<@{p}> on Discord"\n'
        "    return 'plain'\n"
    )
    assert platform_names(source) == [(5, "matrix"), (6, "> on Discord")]
