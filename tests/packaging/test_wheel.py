"""A plain (not editable) install works: the wheel carries the prompts, and the console answers
`/help` from a fresh virtual environment that has nothing of the source tree on its path.

No network: the wheel is built without isolation, installed with `--no-deps`, and the fresh
environment borrows the project environment's third-party packages through a path line in a .pth
file (a plain path line, so the project's own editable install is not activated there)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.e2e.console import ROOT


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=240
    )


def test_wheel_installed_in_a_fresh_venv_answers_help(tmp_path: Path) -> None:
    # Built from a copy, so setuptools' build/ and egg-info never land in the checkout.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns(".git", ".venv", ".cache", ".ci", ".hypothesis", ".ruff_cache", "build", "data", "*.egg-info", "__pycache__", "tests"),
    )
    wheels = tmp_path / "wheels"
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source, cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("alongside-*.whl")

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    # Third-party packages only: a bare path line does not run the editable finder's .pth.
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALONGSIDE_", "PYTHON"))}
    where = _run(python, "-c", "import bot; print(bot.__file__)", cwd=tmp_path, env=env)
    assert where.stdout.startswith(str(fresh)), where.stdout + where.stderr  # not the source tree
    result = subprocess.run(
        [str(fresh / "bin" / "alongside"), "run", "--db", str(tmp_path / "a.db")],
        input="/help\n/quit\n", capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no 'en' folder" not in result.stderr
    assert "/questions suggest" in result.stdout and "/resources" in result.stdout, result.stdout
    # The lint's word lists travel with it: the installed prompts lint clean.
    linted = _run(fresh / "bin" / "alongside", "prompts", "lint", cwd=tmp_path, env=env)
    assert linted.returncode == 0, linted.stdout + linted.stderr
