"""deploy/: what can be checked without a container runtime (no docker daemon here or in CI).

- compose.yaml: validated by `docker compose config` (or Debian's `docker-compose config`, which
  CI installs, see scripts/test), refused without its secrets, and read here for the rules the
  deployment promises: secrets only from the environment, Matrix never scaled, read-only bots.
- Dockerfile: its COPY steps are copied and its `RUN ... pip` steps run in a fresh virtual
  environment (from the same package index as the rest of the suite), and the installed bot
  starts; it runs as a non-root user, and no secret is a build argument or baked in.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRETS = {"ALONGSIDE_DATA_KEY", "ALONGSIDE_DISCORD_TOKEN", "ALONGSIDE_MATRIX_ACCESS_TOKEN", "POSTGRES_PASSWORD"}
FAKE_ENV = {
    "POSTGRES_PASSWORD": "example-password",
    "ALONGSIDE_DATA_KEY": "example-key",
    "ALONGSIDE_DISCORD_TOKEN": "example-token",
}


def compose_tools() -> list[list[str]]:
    """The compose validators present here: the docker CLI plugin, Debian's docker-compose."""
    found = []
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        found.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    return found


def compose_config(tool: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("COMPOSE_")}
    return subprocess.run(
        [*tool, "-f", str(DEPLOY / "compose.yaml"), "--project-directory", str(DEPLOY), "config"],
        capture_output=True, text=True, timeout=60, env={**clean, **env}, cwd=DEPLOY,
    )


def test_compose_file_validates_and_needs_its_secrets(record_property) -> None:
    tools = compose_tools()
    if not tools:
        # CI installs Debian's docker-compose (scripts/test): there this is a broken set-up.
        assert not os.environ.get("CI"), "no compose validator in CI: scripts/test installs docker-compose"
        record_property("compose", "no validator here: only the structural checks below ran")
        pytest.fail("neither `docker compose` nor `docker-compose` is installed: apt-get install docker-compose")
    for tool in tools:
        result = compose_config(tool, FAKE_ENV)
        assert result.returncode == 0, result.stderr
        rendered = yaml.safe_load(result.stdout)
        assert {"postgres", "discord", "matrix", "synapse"} <= set(rendered["services"])
        url = rendered["services"]["discord"]["environment"]["ALONGSIDE_STORAGE_URL"]
        assert url == "postgresql://alongside:example-password@postgres:5432/alongside"
        for missing in ("POSTGRES_PASSWORD", "ALONGSIDE_DATA_KEY"):
            refused = compose_config(tool, {k: v for k, v in FAKE_ENV.items() if k != missing})
            assert refused.returncode != 0 and missing in refused.stderr, refused.stderr
    record_property("compose", " and ".join(" ".join(tool) for tool in tools) + " config: valid")


def test_compose_file_keeps_the_deployment_rules() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    bots = {name: services[name] for name in ("discord", "matrix")}
    for name, service in bots.items():
        environment = service["environment"]
        for key, value in environment.items():
            # every secret is interpolated from the environment, never written here
            if key in SECRETS or "TOKEN" in key or "PASSWORD" in key or "KEY" in key:
                assert re.fullmatch(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", value), (name, key)
        assert environment["ALONGSIDE_STORAGE_URL"].startswith("postgresql://alongside:${POSTGRES_PASSWORD}@postgres:")
        assert service["read_only"] is True and service["profiles"] == [name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/srv/alongside/data" in " ".join(service["volumes"])
        assert "deploy" not in service and "scale" not in service  # one process per Matrix account
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "healthcheck" in services["postgres"]
    assert services["synapse"]["profiles"] == ["synapse"]
    # the example environment file names every secret, with no value filled in
    example = dict(
        line.split("=", 1) for line in (DEPLOY / "env.example").read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    assert SECRETS <= set(example) and all(example[k] == "" for k in SECRETS)


def dockerfile_steps() -> list[tuple[str, str]]:
    """(instruction, arguments) of deploy/Dockerfile, continuation lines joined."""
    steps: list[tuple[str, str]] = []
    for line in re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text()).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, args = line.strip().partition(" ")
            steps.append((instruction.upper(), args.strip()))
    return steps


def test_dockerfile_runs_as_a_user_and_bakes_in_no_secret() -> None:
    steps = dockerfile_steps()
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "useradd --system --uid 10001" in " ".join(args for i, args in steps if i == "RUN")
    for instruction, args in steps:
        assert instruction != "ARG", "no build arguments: secrets would end up in the image's history"
        if instruction == "ENV":
            assert not re.search(r"ALONGSIDE_|TOKEN|PASSWORD|KEY", args), args
    copied = [args.split()[0] for instruction, args in steps if instruction == "COPY"]
    assert ".env" not in copied and not any(path.startswith(("data", ".")) for path in copied)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for pattern in (".env", "data/", "*.key", "*.db", ".venv/", ".git/"):
        assert pattern in ignored


def test_dockerfile_install_steps_work_in_a_fresh_venv(tmp_path: Path) -> None:
    """The COPY steps are copied and the RUN steps that use pip run as written, with the image's
    two folders moved under tmp_path; then the installed bot starts and has its words."""
    image = tmp_path / "image"
    mapping = {"/src/alongside": str(image / "src"), "/opt/alongside": str(image / "venv")}

    def here(path: str) -> str:
        for inside, outside in mapping.items():
            path = path.replace(inside, outside)
        return path

    ran = 0
    for instruction, args in dockerfile_steps():
        if instruction == "COPY":
            *sources, dest = shlex.split(args)
            target = Path(here(dest))
            for source in sources:
                origin = ROOT / source
                assert origin.exists(), f"COPY {source}: not in the repository"
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target / origin.name)
        elif instruction == "RUN" and "pip" in args:
            # `python` in the image is its only Python: here, the one running the tests.
            command = here(args).replace("python -m venv", f"{shlex.quote(sys.executable)} -m venv")
            # (no .pyc compiling: it changes nothing that is checked and halves the time)
            env = {**os.environ, "PIP_NO_COMPILE": "1"}
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command], capture_output=True, text=True, timeout=540, env=env
            )
            assert result.returncode == 0, result.stderr[-3000:]
            ran += 1
    assert ran >= 1
    assert not (image / "src").exists(), "the sources are removed after the install"
    alongside = image / "venv" / "bin" / "alongside"
    version = subprocess.run([str(alongside), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("alongside "), version.stderr
    # the words ship inside the package: the lint finds and passes them without a checkout
    lint = subprocess.run([str(alongside), "prompts", "lint"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_an_empty_token_variable_counts_as_unset(monkeypatch) -> None:
    """compose.yaml passes ALONGSIDE_MATRIX_PASSWORD and the tokens to the container even when .env
    leaves them empty: an empty one must read as "not given", not as a token or password to try."""
    from alongside.settings import load_settings

    monkeypatch.setenv("ALONGSIDE_MATRIX_PASSWORD", "")
    monkeypatch.setenv("ALONGSIDE_MATRIX_ACCESS_TOKEN", "  ")
    monkeypatch.setenv("ALONGSIDE_DISCORD_TOKEN", "")
    settings = load_settings(None)
    assert settings.matrix_password is None and settings.matrix_access_token is None
    assert settings.discord_token is None
    monkeypatch.setenv("ALONGSIDE_MATRIX_ACCESS_TOKEN", "syt_real")
    assert load_settings(None).matrix_access_token.get_secret_value() == "syt_real"
