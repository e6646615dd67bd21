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


# Adapters reach the core only through the port: App's methods (bot.app, which also re-exports
# the few core names an adapter needs, see the end of bot/app.py), the invocation and context
# values (bot.context), the intents (bot.replies), and the platform traits (bot.traits, once it
# exists). bot.config too: each adapter reads its own settings section, and the core's settings
# are what a runner is given.
ADAPTERS = BOT.parent / "adapters"
PORT = ("bot.app", "bot.context", "bot.replies", "bot.traits", "bot.config")
# Composition roots build the core and the adapter and wire them together (database, cipher,
# clock, timeline), so they may import whatever they assemble: each adapter's runner.py, and
# Discord's sync.py, a command-line tool that registers the slash commands from the catalog.
ROOTS = ("runner.py", "sync.py")


def adapter_imports_past_the_port(root: Path) -> list[str]:
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name in ROOTS:
            continue
        for name in imported_modules(path):
            if name.split(".")[0] == "bot" and name not in PORT:
                offenders.append(f"{path.relative_to(root.parent)} imports {name}")
    return offenders


def test_adapters_import_from_the_core_only_the_port():
    assert adapter_imports_past_the_port(ADAPTERS) == []


def test_the_port_rule_catches_an_offender_and_spares_a_root(tmp_path):
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "a.py").write_text("from bot.app import App\nfrom bot.features import dialogs\n")
    (tmp_path / "adapters" / "runner.py").write_text("from bot.storage.db import Database\n")
    assert adapter_imports_past_the_port(tmp_path / "adapters") == ["adapters/a.py imports bot.features"]
