"""The core never depends on a platform: nothing under bot/ imports adapters, discord or nio."""

import ast
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
