"""The shipped systemd units load as written: no comment at the end of a line (systemd has none,
so it would become part of the value), only keys systemd knows, and `systemd-analyze verify`
clean where it exists (Debian's `systemd` package; CI installs it, see .ci/run). The docs show
the shipped files word for word."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = {
    "alongside-matrix.service": ("matrix", ROOT / "docs" / "matrix.md"),
    "alongside-discord.service": ("discord", ROOT / "docs" / "discord.md"),
    # one Discord process per shard range (the instance name): docs/deploy.md
    "alongside-discord@.service": ("discord", ROOT / "docs" / "deploy.md"),
}
# The keys these units may use, per section (a typo is otherwise only a warning in the journal).
KNOWN_KEYS = {
    "Unit": {"Description", "Documentation", "After", "Wants", "Requires"},
    "Service": {
        "Type", "User", "Group", "WorkingDirectory", "EnvironmentFile", "ExecStart", "Restart",
        "RestartSec", "RestartPreventExitStatus", "UMask", "NoNewPrivileges", "PrivateTmp",
        "ProtectSystem", "ProtectHome", "ReadWritePaths", "TimeoutStopSec",
    },
    "Install": {"WantedBy"},
}


def strict_problems(text: str) -> list[str]:
    """What systemd would silently misread in a unit file."""
    problems = []
    section = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", stripped):
            section = stripped[1:-1]
            if section not in KNOWN_KEYS:
                problems.append(f"{number}: unknown section {stripped}")
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            problems.append(f"{number}: not key=value: {stripped}")
            continue
        if section is None or key not in KNOWN_KEYS.get(section, set()):
            problems.append(f"{number}: unknown key {key} in [{section}]")
        if re.search(r"\s[#;]", value):
            problems.append(f"{number}: {key}: a comment at the end of the line becomes part of the value")
        if key in ("EnvironmentFile", "WorkingDirectory", "ReadWritePaths") and not re.fullmatch(r"-?/\S+", value):
            problems.append(f"{number}: {key}: must be one absolute path, got {value!r}")
        if key == "RestartPreventExitStatus" and not re.fullmatch(r"\d+( \d+)*", value):
            problems.append(f"{number}: {key}: exit codes only, got {value!r}")
    return problems


def doc_unit_blocks(doc: Path) -> list[str]:
    text = doc.read_text()
    return [block for block in re.findall(r"```ini\n(.*?)```", text, re.S) if "[Service]" in block]


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_file_is_strictly_valid(name):
    text = (ROOT / "deploy" / "systemd" / name).read_text()
    assert strict_problems(text) == []
    adapter = UNITS[name][0]
    assert f"ExecStart=/srv/alongside/.venv/bin/alongside run --adapter {adapter} " in text
    assert "EnvironmentFile=/etc/alongside/secrets.env\n" in text
    assert "RestartPreventExitStatus=2\n" in text
    if name.endswith("@.service"):
        assert "--shard-ids %i\n" in text and "ALONGSIDE_STORAGE_URL" in text


def test_the_checker_catches_the_old_inline_comments():
    old = (
        "[Service]\nEnvironmentFile=/etc/alongside/secrets.env      # ALONGSIDE_MATRIX_ACCESS_TOKEN=…\n"
        "RestartPreventExitStatus=2                     # a config or token problem: fix it\n"
    )
    assert len(strict_problems(old)) == 4


@pytest.mark.parametrize("name", sorted(UNITS))
def test_docs_show_the_shipped_unit_word_for_word(name):
    adapter, doc = UNITS[name]
    shipped = (ROOT / "deploy" / "systemd" / name).read_text()
    blocks = doc_unit_blocks(doc)
    assert blocks == [shipped], f"{doc.name} must show deploy/systemd/{name} exactly"
    assert f"deploy/systemd/{name}" in doc.read_text()


@pytest.mark.parametrize("name", sorted(UNITS))
def test_systemd_analyze_verify(name, tmp_path, record_property):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        # CI installs Debian's systemd package (.ci/run), so there this can only mean a broken
        # set-up: fail rather than pass without having verified anything.
        assert not os.environ.get("CI"), "systemd-analyze is missing in CI: .ci/run installs systemd"
        record_property("systemd-analyze", "absent: only the strict checker ran")
        pytest.fail("systemd-analyze is not installed here: apt-get install systemd (the strict checker above still ran)")
    text = (ROOT / "deploy" / "systemd" / name).read_text()
    # verify insists that ExecStart's program exists; on a test machine /srv/alongside does not,
    # so that one path points at an existing program, and everything else is verified as shipped.
    program = tmp_path / "alongside"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / name
    unit.write_text(text.replace("/srv/alongside/.venv/bin/alongside", str(program)))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    # verify exits 0 even when it ignores a value it cannot parse: any word from it is a failure.
    assert result.returncode == 0 and output == "", output
    record_property("systemd-analyze", "verify ran clean")
