"""No overgrown rooms in adapters/: no file over 600 lines, and no function over 60 lines
unless a comment inside it starts with "# Long:" and says why (issue 15)."""

import ast
from pathlib import Path

ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every function longer than the limit with no "# Long:" comment."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        body = lines[node.lineno - 1 : node.end_lineno]
        if length > MAX_FUNCTION_LINES and not any(line.strip().startswith("# Long:") for line in body):
            found.append((node.name, length))
    return found


def test_no_adapter_file_is_over_600_lines():
    too_long = {
        str(path.relative_to(ADAPTERS.parent)): n
        for path in sorted(ADAPTERS.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert too_long == {}


def test_no_adapter_function_is_over_60_lines_without_saying_why():
    offenders = [
        f"{path.relative_to(ADAPTERS.parent)}: {name} ({n} lines)"
        for path in sorted(ADAPTERS.rglob("*.py"))
        for name, n in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_size_rule_catches_a_long_function_and_accepts_a_reason():
    body = "".join(f"    x{i} = {i}\n" for i in range(61))
    assert long_functions(f"def f():\n{body}") == [("f", 62)]
    assert long_functions(f"def f():\n    # Long: one table, read top to bottom.\n{body}") == []
