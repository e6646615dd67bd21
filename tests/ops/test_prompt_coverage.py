"""`alongside prompts stats` prints each locale's coverage against English as figures (messages,
placeholders matching, data-file entries, question-bank ids) and fails below 100 %."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot.texts.coverage import coverage
from tests.ops.test_check import ROOT, _prompts_with_spanish


def stats(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alongside", "prompts", "stats", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )


def test_stats_prints_coverage_figures_and_fails_below_full(tmp_path):
    prompts = _prompts_with_spanish(tmp_path)
    (found,) = coverage(prompts)
    assert found.complete and found.messages == found.messages_total > 700
    assert found.ids == found.ids_total > 100 and found.entries == found.entries_total > 500
    full = stats(prompts)
    assert full.returncode == 0, full.stdout + full.stderr
    line = next(x for x in full.stdout.splitlines() if x.strip().startswith("es:"))
    n, q, e = found.messages_total, found.ids_total, found.entries_total
    assert line.strip() == (
        f"es: messages {n}/{n} (100.0 %), placeholders matching {n}/{n}, data-file entries {e}/{e} "
        f"(100.0 %), question ids {q}/{q} (100.0 %) — complete"
    )
    assert "questions.toml: " in full.stdout  # the question bank's table follows

    # A quarter of the question bank and one message gone: the figures say how far short.
    bank = prompts / "es" / "questions.toml"
    blocks = bank.read_text().split("[[question]]")
    keep = blocks[: 1 + (len(blocks) - 1) * 3 // 4]
    bank.write_text("[[question]]".join(keep))
    messages = prompts / "es" / "messages.toml"
    messages.write_text(re.sub(r'^"parse"\."empty" = .*\n', "", messages.read_text(), count=1, flags=re.M))
    short = stats(prompts)
    assert short.returncode == 1
    line = next(x for x in short.stdout.splitlines() if x.strip().startswith("es:"))
    kept = len(keep) - 1
    assert f"messages {n - 1}/{n} ({100 * (n - 1) / n:.1f} %)" in line, line
    assert f"question ids {kept}/{q} ({100 * kept / q:.1f} %)" in line, line
    assert "gap(s)" in line
