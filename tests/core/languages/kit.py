"""A throwaway second locale for testing which language a text takes: a copy of the English
prompts in which every sentence starts with a mark ("«xx» "), so a test can tell which locale
every message came from without depending on any real translation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from alongside.settings import load_settings
from bot.context import Actor, Invocation
from bot.replies import Answer, Intent
from tests.harness import Harness, make_harness, mention

PROMPTS = Path(__file__).resolve().parents[3] / "prompts"
MARK = "«xx» "
# Data fields that are identifiers, not sentences.
_KEEP = {"key", "kind", "id", "audience", "depth", "number"}
_ASSIGN = re.compile(r'^(\s*)([\w.-]+)(\s*=\s*)("""|")', re.M)


def toy_prompts(tmp_path: Path, code: str = "xx", name: str = "Xish") -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS / "en", root / "en")
    target = root / code
    target.mkdir()
    mark = f"«{code}» "
    for path in sorted((PROMPTS / "en").glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        if path.name in ("formats.toml", "commands.toml", "schedule.toml"):
            # Not sentences: the CLDR locale to format with, and words typed in commands.
            (target / path.name).write_text(text, encoding="utf-8")
            continue
        text = _ASSIGN.sub(lambda m: m.group(0) if m.group(2) in _KEEP else f"{m.group(0)}{mark}", text)
        if path.name == "messages_language.toml":
            text = text.replace(f'name = "{mark}English"', f'name = "{name}"')
        (target / path.name).write_text(text, encoding="utf-8")
    return root


async def toy_harness(tmp_path: Path, **overrides: object) -> Harness:
    settings = load_settings(None, prompts_dir=toy_prompts(tmp_path), **overrides)
    return await make_harness(tmp_path, settings=settings)


def marked(text: str, code: str = "xx") -> bool:
    return f"«{code}»" in text


async def run_as(h: Harness, user: str, line: str, *, channel: str | None = None, client: str = "") -> list[Intent]:
    """Run a command with a client locale, as the Discord adapter passes it."""
    inv = Invocation(
        community=h.community,
        actor=Actor(user, user, user in h.facilitators),
        channel=channel,
        private=channel is None,
        client_locale=client,
    )
    intents = await h.app.handle_text(inv, line.removeprefix("/"), mention)
    await h.app.deliver_pending()
    return intents


def answers(intents: list[Intent]) -> str:
    return "\n".join(i.text for i in intents if isinstance(i, Answer))
