"""How the core is wired (issue 15): one `Services` value passed once, and `Feature` a real
interface from which App builds the registry, so no list of features has to be kept in sync."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import make_harness

BOT = Path(__file__).resolve().parents[2] / "bot"
# What `Services` holds, by the names constructors have always given them. A constructor that
# takes more than a few of them one by one is repeating the list `Services` exists to hold (the
# few that build a part of `Services` itself, like `Confirmations`, take three).
SHARED = {"settings", "db", "clock", "catalog", "cipher", "outbox", "timeline", "communities", "members"}
SHARED |= {"confirmations", "typed_lines", "seed", "ids"}
MAX_SHARED_PARAMETERS = 3


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


def test_the_commands_package_imports_no_feature():
    """Commands are declared by the features; the registry machinery knows none of them."""
    offenders = [
        f"{path.relative_to(BOT.parent)} imports {name}"
        for path in sorted((BOT / "commands").rglob("*.py"))
        for name in _imports(path)
        if name.startswith("bot.features")
    ]
    assert offenders == []


def test_app_finds_nothing_on_its_features_with_getattr():
    """Check-in providers and starts are wired explicitly, not discovered by attribute name."""
    source = (BOT / "app.py").read_text(encoding="utf-8")
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
    ]
    assert calls == []


def test_no_feature_constructor_repeats_the_shared_dependencies():
    offenders = []
    for path in sorted((BOT / "features").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    shared = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg in SHARED]
                    if len(shared) > MAX_SHARED_PARAMETERS:
                        offenders.append(f"{path.relative_to(BOT.parent)}:{node.name} takes {shared}")
    assert offenders == []


async def test_every_feature_is_a_feature_and_the_registry_is_theirs(tmp_path, store):
    # Imported here so the static checks above run (and fail) on their own.
    from bot.app import FEATURES, all_commands
    from bot.features.feature import Feature

    harness = await make_harness(tmp_path)
    try:
        app = harness.app
        assert app.features and all(isinstance(feature, Feature) for feature in app.features)
        owned = [spec for feature in app.features for spec in feature.commands]
        assert app.registry.specs() == tuple(owned)
        # Tools without an App (the Discord tree, the fuzzers) see the same commands, in order.
        assert all_commands() == app.registry.specs()
        # One list: App holds one feature of each class the tools read, in the same order.
        assert [type(feature) for feature in app.features] == list(FEATURES)
    finally:
        await harness.close()
