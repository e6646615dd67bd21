"""Run the real CLI in a subprocess with a script on stdin, as a user or CI would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_console(
    script: str,
    db: Path,
    *,
    start: str = "2026-01-05T09:00",
    seed: int = 1,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "alongside", "run", "--db", str(db), "--seed", str(seed), "--start", start]
    return subprocess.run(
        [*args, *extra_args],
        input=script,
        capture_output=True,
        text=True,
        cwd=db.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=timeout,
    )
