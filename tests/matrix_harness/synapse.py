"""A real Synapse homeserver for tests.

Synapse is installed from PyPI into its **own** virtualenv (never the project's), once per
cache directory, and started as a subprocess on 127.0.0.1 with SQLite. Nothing here needs
the network beyond the first ``pip install``.

Public API::

    ensure_synapse_venv(cache_dir=None) -> Path          # idempotent, marker-file based
    SynapseServer(...).start() / .stop() / .restart() / .cleanup()
    SynapseServer.register(localpart, password=None, admin=False) -> RegisteredUser
    SynapseServer.override_ratelimit(user_id, messages_per_second, burst_count)

HTTP is stdlib ``urllib`` only, so this module imports nothing outside the stdlib. The process
handling shared with the PostgreSQL harness is in tests/child_server.py.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.child_server import ChildServer, free_port, tail

# --------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------

#: The Synapse release the harness installs. Requires Python >= 3.10; ships a
#: cp310-abi3 manylinux wheel (Rust extension prebuilt), so no compiler is needed.
SYNAPSE_VERSION = "1.163.2"
SYNAPSE_REQUIREMENT = f"matrix-synapse=={SYNAPSE_VERSION}"

#: Versions of Synapse's (unpinned) dependencies known to work with SYNAPSE_VERSION,
#: passed to pip as a constraints file so a fresh CI clone gets the same set. Set
#: ALONGSIDE_SYNAPSE_UNPINNED=1 to let pip pick the newest instead.
SYNAPSE_CONSTRAINTS = (
    "annotated-types==0.8.0",
    "attrs==26.1.0",
    "Automat==25.4.16",
    "bcrypt==5.0.0",
    "bleach==6.4.0",
    "canonicaljson==2.0.0",
    "certifi==2026.10.19.post1",
    "cffi==2.1.1",
    "charset-normalizer==3.5.3",
    "constantly==23.10.4",
    "cryptography==50.0.2",
    "hyperlink==21.0.0",
    "idna==3.20",
    "ijson==3.6.0",
    "immutabledict==4.3.1",
    "Incremental==24.11.0",
    "Jinja2==3.1.6",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",
    "MarkupSafe==3.0.4",
    "matrix-common==1.3.0",
    "msgpack==1.2.4",
    "multipart==2.0.1",
    "netaddr==1.3.0",
    "packaging==26.4",
    "phonenumbers==9.0.43",
    "pillow==13.0.0",
    "prometheus_client==0.26.0",
    "pyasn1==0.6.5",
    "pyasn1_modules==0.4.2",
    "pycparser==3.12",
    "pydantic==2.14.4",
    "pydantic_core==2.50.5",
    "pymacaroons==0.13.0",
    "PyNaCl==1.6.2",
    "pyOpenSSL==26.4.0",
    "pyparsing==3.3.3",
    "pyrsistent==0.20.0",
    "python-multipart==0.0.34",
    "PyYAML==6.0.4",
    "referencing==0.37.0",
    "requests==2.34.2",
    "rpds-py==2026.9.1",
    "semantic-version==2.10.0",
    "service-identity==26.1.0",
    "setuptools-rust==1.13.0",
    "signedjson==1.1.4",
    "six==1.17.0",
    "sortedcontainers==2.4.0",
    "treq==26.7.0",
    "Twisted==26.10.0",
    "typing-inspection==0.4.5",
    "typing_extensions==4.16.0",
    "unpaddedbase64==2.1.0",
    "urllib3==2.8.0",
    "webencodings==0.6.1",
    "zope.interface==8.7",
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache"
VENV_ENV_VAR = "ALONGSIDE_SYNAPSE_VENV"
PYTHON_ENV_VAR = "ALONGSIDE_SYNAPSE_PYTHON"
UNPINNED_ENV_VAR = "ALONGSIDE_SYNAPSE_UNPINNED"
_MARKER_NAME = ".alongside-synapse-installed.json"


class SynapseInstallError(RuntimeError):
    pass


class SynapseStartError(RuntimeError):
    pass


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def _wanted_marker(base_python: str) -> dict[str, Any]:
    pinned = os.environ.get(UNPINNED_ENV_VAR, "") in ("", "0")
    return {
        "requirement": SYNAPSE_REQUIREMENT,
        "constraints": hashlib.sha256("\n".join(SYNAPSE_CONSTRAINTS).encode()).hexdigest()
        if pinned
        else "unpinned",
        "base_python": base_python,
    }


def _base_python() -> str:
    """The interpreter used to create the Synapse venv (``$ALONGSIDE_SYNAPSE_PYTHON`` or
    the one running the tests; ``-m venv`` from inside a venv uses its base Python)."""
    return os.environ.get(PYTHON_ENV_VAR) or sys.executable


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SynapseInstallError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n--- {log} (tail) ---\n{tail}"
        )


def ensure_synapse_venv(cache_dir: Path | None = None) -> Path:
    """Make sure a virtualenv with Synapse exists and return its directory.

    The venv is ``$ALONGSIDE_SYNAPSE_VENV`` if that is set, else
    ``<cache_dir>/synapse-venv`` (``cache_dir`` defaults to ``<repo>/.cache``).
    A marker file inside the venv records what was installed; when it matches, this
    returns at once (no subprocess). Concurrent callers (e.g. xdist workers) are
    serialised with a file lock.
    """
    env_venv = os.environ.get(VENV_ENV_VAR)
    if env_venv:
        venv_dir = Path(env_venv).expanduser().resolve()
    else:
        venv_dir = (Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR).resolve() / "synapse-venv"
    base_python = _base_python()
    wanted = _wanted_marker(base_python)
    marker = venv_dir / _MARKER_NAME

    def up_to_date() -> bool:
        try:
            return json.loads(marker.read_text()) == wanted and _venv_python(venv_dir).exists()
        except (OSError, ValueError):
            return False

    if up_to_date():
        return venv_dir

    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv_dir.parent / (venv_dir.name + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if up_to_date():  # someone else installed it while we waited
                return venv_dir
            log = venv_dir.parent / (venv_dir.name + "-install.log")
            log.write_text("")
            if not _venv_python(venv_dir).exists():
                # A partial / foreign-interpreter venv is recreated from scratch.
                cmd = [base_python, "-m", "venv"]
                if (venv_dir / "pyvenv.cfg").exists():
                    cmd.append("--clear")
                _run([*cmd, str(venv_dir)], log)
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
            env["VIRTUAL_ENV"] = str(venv_dir)
            pip = [
                str(_venv_python(venv_dir)),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--prefer-binary",
            ]
            if wanted["constraints"] != "unpinned":
                constraints = venv_dir / "alongside-synapse-constraints.txt"
                constraints.write_text("\n".join(SYNAPSE_CONSTRAINTS) + "\n")
                pip += ["-c", str(constraints)]
            _run([*pip, SYNAPSE_REQUIREMENT], log, env=env)
            _run(
                [
                    str(_venv_python(venv_dir)),
                    "-c",
                    "import synapse, synapse.app.homeserver; print(synapse.__version__)",
                ],
                log,
                env=env,
            )
            marker.write_text(json.dumps(wanted, indent=2))
            return venv_dir
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------

RELAXED = {"per_second": 10_000, "burst_count": 100_000}


def relaxed_ratelimits() -> dict[str, Any]:
    """Every client-facing ``rc_*`` limiter of Synapse 1.163, set very high."""
    r = dict(RELAXED)
    return {
        "rc_message": dict(r),
        "rc_registration": dict(r),
        "rc_registration_token_validity": dict(r),
        "rc_login": {"address": dict(r), "account": dict(r), "failed_attempts": dict(r)},
        "rc_admin_redaction": dict(r),
        "rc_joins": {"local": dict(r), "remote": dict(r)},
        "rc_joins_per_room": dict(r),
        "rc_3pid_validation": dict(r),
        "rc_invites": {"per_room": dict(r), "per_user": dict(r), "per_issuer": dict(r)},
        "rc_third_party_invite": dict(r),
        "rc_key_requests": dict(r),
        "rc_media_create": dict(r),
        "rc_presence": {"per_user": dict(r)},
        "rc_delayed_event_mgmt": dict(r),
        "rc_room_creation": dict(r),
        "rc_reports": dict(r),
        "rc_user_directory": dict(r),
        "rc_profile": dict(r),
        "rc_federation": {
            "window_size": 1000,
            "sleep_limit": 10_000,
            "sleep_delay": 1,
            "reject_limit": 100_000,
            "concurrent": 1000,
        },
    }


#: rc_message used when ``SynapseServer(rate_limited=True)``.
STRICT_RC_MESSAGE = {"per_second": 0.5, "burst_count": 3}


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    access_token: str
    device_id: str
    password: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


class SynapseHTTPError(RuntimeError):
    """A non-2xx answer from Synapse; ``body`` is the decoded JSON (or {"raw": text})."""

    def __init__(self, method: str, url: str, status: int, body: dict[str, Any]):
        self.method, self.url, self.status, self.body = method, url, status, body
        self.errcode = body.get("errcode")
        super().__init__(f"{method} {url} -> HTTP {status}: {body}")


class SynapseServer(ChildServer):
    """One Synapse process on 127.0.0.1 with SQLite, configured for tests.

    ``data_dir`` (default: a fresh temp dir, removed by :meth:`cleanup`) holds
    homeserver.yaml, the signing key, the SQLite database, the media store and the logs.
    The port is chosen once and kept across :meth:`restart`.
    """

    server_name = "localhost"

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        venv_dir: Path | None = None,
        port: int | None = None,
        rate_limited: bool = False,
        extra_config: dict[str, Any] | None = None,
        start_timeout: float = 60.0,
    ):
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="alongside-synapse-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._venv_dir = venv_dir
        self.port = port or free_port()
        self.rate_limited = rate_limited
        self.extra_config = dict(extra_config or {})
        self.start_timeout = start_timeout
        self.shared_secret = secrets.token_hex(32)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.data_dir / "homeserver.yaml"
        self.log_path = self.data_dir / "homeserver.log"
        self.stdout_path = self.data_dir / "synapse.stdout.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._admin: RegisteredUser | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def _write_config(self) -> None:
        key_path = self.data_dir / "signing.key"
        if not key_path.exists():
            # Synapse's key file format: "<algorithm> <version> <unpadded base64 seed>";
            # an ed25519 signing key is any 32-byte seed.
            seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
            key_path.write_text(f"ed25519 a_test {seed}\n")
        media = self.data_dir / "media_store"
        media.mkdir(exist_ok=True)
        log_config = self.data_dir / "log_config.yaml"
        log_config.write_text(
            json.dumps(
                {
                    "version": 1,
                    "formatters": {
                        "precise": {
                            "format": "%(asctime)s - %(name)s - %(lineno)d - "
                            "%(levelname)s - %(request)s - %(message)s"
                        }
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "precise",
                            "filename": str(self.log_path),
                            "level": "WARNING",
                            "encoding": "utf8",
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                },
                indent=2,
            )
        )
        secrets_path = self.data_dir / "secrets.json"
        if secrets_path.exists():  # keep macaroon/form secrets stable across restarts
            stable = json.loads(secrets_path.read_text())
        else:
            stable = {
                "macaroon_secret_key": secrets.token_hex(32),
                "form_secret": secrets.token_hex(32),
            }
            secrets_path.write_text(json.dumps(stable))
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": self.base_url + "/",
            "pid_file": str(self.data_dir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    # "client" also serves /_synapse/admin; no federation resource.
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.data_dir / "homeserver.db")},
            },
            "log_config": str(log_config),
            "media_store_path": str(media),
            "signing_key_path": str(key_path),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "enable_metrics": False,
            "enable_registration": False,
            "registration_shared_secret": self.shared_secret,
            "macaroon_secret_key": stable["macaroon_secret_key"],
            "form_secret": stable["form_secret"],
            "encryption_enabled_by_default_for_room_type": "off",
            "room_list_publication_rules": [{"user_id": "*", "room_id": "*", "action": "allow"}],
            "url_preview_enabled": False,
            "allow_guest_access": False,
            **relaxed_ratelimits(),
        }
        if self.rate_limited:
            config["rc_message"] = dict(STRICT_RC_MESSAGE)
        config.update(self.extra_config)
        # JSON is valid YAML, and keeps this module free of a PyYAML dependency.
        self.config_path.write_text(json.dumps(config, indent=2))

    def start(self) -> SynapseServer:
        """Start Synapse (installing it first if needed); wait until it answers."""
        if self.running:
            return self
        if self._venv_dir is None:
            self._venv_dir = ensure_synapse_venv()
        self._write_config()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        }
        env["VIRTUAL_ENV"] = str(self._venv_dir)
        cmd = [
            str(_venv_python(self._venv_dir)),
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            str(self.config_path),
        ]
        self._popen(cmd, cwd=self.data_dir, log_path=self.stdout_path, env=env)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        url = self.base_url + "/_matrix/client/versions"
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise SynapseStartError(
                    f"Synapse exited with code {self._proc.returncode} during start-up\n"
                    + self._diagnostics()
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError) as e:
                last_err = e
            time.sleep(0.1)
        self.stop(timeout=5)
        raise SynapseStartError(
            f"Synapse did not answer {url} within {self.start_timeout:.0f}s "
            f"(last error: {last_err!r})\n" + self._diagnostics()
        )

    def _diagnostics(self) -> str:
        return (
            f"--- {self.log_path} (tail) ---\n{tail(self.log_path)}\n"
            f"--- {self.stdout_path} (tail) ---\n{tail(self.stdout_path)}"
        )

    # stop() is ChildServer's: SIGTERM to the group, then SIGKILL. It keeps the data dir.

    def at_exit(self) -> None:
        """Stopped (within 5 s) when the tests' process exits; the data dir is left."""
        self.stop(timeout=5)

    def restart(self) -> SynapseServer:
        """Stop and start again with the same data dir, database and port."""
        self.stop()
        self._wait_port_free()
        return self.start()

    def _wait_port_free(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", self.port))
                    return
                except OSError:
                    time.sleep(0.1)

    def cleanup(self) -> None:
        """Stop, and remove the data dir if this object created it."""
        self.stop()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- HTTP --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        access_token: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send a JSON request to the server; return the JSON answer.

        Raises :class:`SynapseHTTPError` for any non-2xx status.
        """
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if access_token:
            req.add_header("Authorization", f"Bearer {access_token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err_body = json.loads(raw)
            except ValueError:
                err_body = {"raw": raw.decode(errors="replace")}
            raise SynapseHTTPError(method, url, e.code, err_body) from None
        return json.loads(raw) if raw else {}

    def register(
        self,
        localpart: str,
        password: str | None = None,
        admin: bool = False,
        *,
        displayname: str | None = None,
    ) -> RegisteredUser:
        """Create a user with the shared-secret registration admin API.

        ``GET /_synapse/admin/v1/register`` gives a nonce; the POST carries
        HMAC-SHA1(shared_secret, nonce NUL username NUL password NUL admin|notadmin).
        Returns the new user's access token and device id (a fresh login session).
        """
        password = password or secrets.token_urlsafe(16)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        for i, part in enumerate((nonce, localpart, password, "admin" if admin else "notadmin")):
            if i:
                mac.update(b"\x00")
            mac.update(part.encode("utf8"))
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        resp = self.request("POST", "/_synapse/admin/v1/register", body)
        return RegisteredUser(
            user_id=resp["user_id"],
            access_token=resp["access_token"],
            device_id=resp["device_id"],
            password=password,
        )

    async def register_async(
        self, localpart: str, password: str | None = None, admin: bool = False
    ) -> RegisteredUser:
        """:meth:`register` in a worker thread, for use inside an event loop."""
        import asyncio

        return await asyncio.to_thread(self.register, localpart, password, admin)

    def login(self, user: RegisteredUser, device_id: str | None = None) -> RegisteredUser:
        """A new password login (new device unless ``device_id`` is given)."""
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user.user_id},
            "password": user.password,
        }
        if device_id:
            body["device_id"] = device_id
        resp = self.request("POST", "/_matrix/client/v3/login", body)
        return RegisteredUser(
            resp["user_id"], resp["access_token"], resp["device_id"], user.password
        )

    @property
    def admin(self) -> RegisteredUser:
        """A server admin registered on first use (for admin-API calls)."""
        if self._admin is None:
            self._admin = self.register(f"harness-admin-{secrets.token_hex(4)}", admin=True)
        return self._admin

    def admin_request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``request`` authenticated as the harness admin."""
        return self.request(method, path, body, access_token=self.admin.access_token)

    def override_ratelimit(
        self, user_id: str, messages_per_second: int, burst_count: int
    ) -> dict[str, Any]:
        """Per-user override of the *message-sending* limiter (``rc_message``).

        Synapse only accepts non-negative **integers** here. ``(0, 0)`` exempts the
        user from all rate limits; ``(1, 1)`` lets one event through, then answers
        429 M_LIMIT_EXCEEDED for about a second. Other limiters (joins, invites,
        login...) ignore non-zero overrides. Takes effect immediately.
        """
        quoted = urllib.parse.quote(user_id, safe="")
        return self.admin_request(
            "POST",
            f"/_synapse/admin/v1/users/{quoted}/override_ratelimit",
            {"messages_per_second": messages_per_second, "burst_count": burst_count},
        )

    def clear_ratelimit_override(self, user_id: str) -> None:
        quoted = urllib.parse.quote(user_id, safe="")
        self.admin_request("DELETE", f"/_synapse/admin/v1/users/{quoted}/override_ratelimit")

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SynapseServer {self.base_url} {state} data_dir={self.data_dir}>"
