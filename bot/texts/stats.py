"""`alongside prompts stats`: what a question bank holds, counted per task, audience and depth.

Run on the shipped prompts it shows at a glance whether every audience and depth is stocked
(pair openers need all four tasks at all three depths) and that no deep question lacks its
content note. Standard library only, like the lint.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.texts.catalog import AUDIENCES, DEPTHS, TASKS

QUESTIONS_FILE = "questions.toml"


@dataclass(frozen=True)
class BankStats:
    path: Path
    total: int
    tasks: Counter[str]  # every tag counts: a question tagged with two tasks counts for both
    audiences: Counter[str]
    depths: Counter[str]
    by_audience_depth: Counter[tuple[str, str]]
    by_task_depth: dict[str, Counter[tuple[str, str]]]  # per audience: (task, depth)
    deep_without_note: tuple[str, ...]


def question_files(path: Path) -> list[Path]:
    """A questions file itself, a locale folder holding one, or a prompts folder of locales."""
    if path.is_file():
        return [path]
    if (path / QUESTIONS_FILE).is_file():
        return [path / QUESTIONS_FILE]
    return sorted(p / QUESTIONS_FILE for p in path.iterdir() if (p / QUESTIONS_FILE).is_file())


def bank_stats(path: Path) -> BankStats:
    with path.open("rb") as handle:
        questions = tomllib.load(handle).get("question", [])
    by_task_depth: dict[str, Counter[tuple[str, str]]] = {a: Counter() for a in AUDIENCES}
    for q in questions:
        for task in q.get("tasks", []):
            by_task_depth.setdefault(q.get("audience", "?"), Counter())[(task, q.get("depth", "?"))] += 1
    return BankStats(
        path=path,
        total=len(questions),
        tasks=Counter(task for q in questions for task in q.get("tasks", [])),
        audiences=Counter(q.get("audience", "?") for q in questions),
        depths=Counter(q.get("depth", "?") for q in questions),
        by_audience_depth=Counter((q.get("audience", "?"), q.get("depth", "?")) for q in questions),
        by_task_depth=by_task_depth,
        deep_without_note=tuple(
            q.get("id", "?")
            for q in questions
            if q.get("depth") == "deep" and not str(q.get("content_note", "")).strip()
        ),
    )


def _row(label: str, counts: list[int], width: int = 16) -> str:
    return f"  {label:<{width}}" + "".join(f"{n:>8}" for n in counts)


def render(stats: BankStats) -> str:
    lines = [f"{stats.path}: {stats.total} questions"]
    lines.append(_row("", []) + "".join(f"{d:>8}" for d in (*DEPTHS, "total")))
    for audience in AUDIENCES:
        counts = [stats.by_audience_depth[(audience, d)] for d in DEPTHS]
        lines.append(_row(f"{audience}", [*counts, stats.audiences[audience]]))
    lines.append(_row("all", [*(stats.depths[d] for d in DEPTHS), stats.total]))
    lines.append("")
    lines.append("  per task (a question tagged with two tasks counts for both):")
    lines.append(_row("", []) + "".join(f"{a:>8}" for a in (*AUDIENCES, "total")))
    for task in TASKS:
        counts = [sum(stats.by_task_depth[a][(task, d)] for d in DEPTHS) for a in AUDIENCES]
        lines.append(_row(task, [*counts, stats.tasks[task]]))
    lines.append("")
    lines.append("  pair questions per task and depth (what pair openers draw from):")
    lines.append(_row("", []) + "".join(f"{d:>8}" for d in DEPTHS))
    for task in TASKS:
        lines.append(_row(task, [stats.by_task_depth["pair"][(task, d)] for d in DEPTHS]))
    lines.append("")
    missing = ", ".join(stats.deep_without_note) or "none"
    lines.append(f"  deep without a content note: {len(stats.deep_without_note)} ({missing})")
    return "\n".join(lines)
