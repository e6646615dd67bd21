"""A public text can never silently take a member's language: no post to a channel or to a
shared space is built from `ctx.t` (the member's words), only from `ctx.public_t`, the
community's texts or a language decided for the space (issue 18)."""

from __future__ import annotations

import ast
from pathlib import Path

FEATURES = Path(__file__).resolve().parents[3] / "bot" / "features"
SHARED = {"ChannelPost", "PairSpaceOpen", "PairSpacePost", "PairSpaceClose"}


def _calls_ctx_t(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Attribute)
            and inner.func.attr == "t"
            and isinstance(inner.func.value, ast.Name)
            and inner.func.value.id == "ctx"
        ):
            return True
    return False


def test_no_channel_or_shared_space_post_is_worded_with_the_members_language():
    found = []
    for path in sorted(FEATURES.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SHARED:
                if _calls_ctx_t(node):
                    found.append(f"{path.relative_to(FEATURES)}:{node.lineno} {node.func.id}")
    assert not found, "public posts worded in the member's language (use ctx.public_t): " + ", ".join(found)


def test_the_guard_sees_a_post_worded_with_ctx_t():
    tree = ast.parse('ChannelPost(channel, ctx.t("x"))')
    call = tree.body[0].value
    assert _calls_ctx_t(call)
    assert not _calls_ctx_t(ast.parse('ChannelPost(channel, ctx.public_t("x"))').body[0].value)
