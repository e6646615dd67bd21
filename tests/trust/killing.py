"""Run the real console process and SIGKILL it at a chosen point of its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e.console import ROOT


def run_and_kill(script: str, db: Path, *, start: str, kill_after_lines: int, seed: int = 1) -> str:
    """Start `alongside run`, feed it `script`, and kill -9 it once it has printed
    `kill_after_lines` lines (or let it finish if it prints fewer). Returns what it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "alongside", "run", "--db", str(db), "--seed", str(seed), "--start", start],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=db.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdin and process.stdout
    process.stdin.write(script)
    process.stdin.close()
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if len(lines) >= kill_after_lines:
            process.send_signal(signal.SIGKILL)
            break
    # Whatever it managed to write before the signal landed is part of the transcript too.
    rest = process.stdout.read()
    process.wait(timeout=60)
    return "".join(lines) + rest
