"""Run the real console process and SIGKILL it at a chosen point of its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.console import ROOT


def run_and_kill(
    script: str,
    db: Path,
    *,
    start: str,
    kill_after_lines: int,
    seed: int = 1,
    pipe_bytes: int = -1,
    delay: float = 0.0,
) -> str:
    """Start `alongside run`, feed it `script`, and kill -9 it once it has printed
    `kill_after_lines` lines (or let it finish if it prints fewer). Returns what it printed.

    The process runs on while the signal is on its way, by at most what fits in its stdout pipe:
    a small `pipe_bytes` (e.g. 4096) keeps the actual kill point close to the chosen one. It
    sizes the stdin pipe too, so the script must fit in it. `delay` (seconds) waits that long after
    the chosen line before killing: a way to land inside the work that line announced."""
    process = subprocess.Popen(
        [sys.executable, "-m", "alongside", "run", "--db", str(db), "--seed", str(seed), "--start", start],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=db.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        pipesize=pipe_bytes,
    )
    assert process.stdin and process.stdout
    assert pipe_bytes < 0 or len(script.encode()) <= pipe_bytes, "the script would not fit in stdin"
    process.stdin.write(script)
    process.stdin.close()
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if len(lines) >= kill_after_lines:
            if delay > 0:
                time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            break
    # Whatever it managed to write before the signal landed is part of the transcript too.
    rest = process.stdout.read()
    process.wait(timeout=60)
    printed = "".join(lines) + rest
    # A kill can land halfway through a line: end it, so a restart's transcript appended to this
    # one starts on a line of its own instead of being glued to the torn one.
    return printed if not printed or printed.endswith("\n") else printed + "\n"
