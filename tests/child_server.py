"""What the tests' own servers share: Synapse (tests/matrix_harness/synapse.py) and PostgreSQL
(tests/pg_harness/server.py) each run as a child process in a process group of its own, are
stopped with a signal and then SIGKILL to the whole group, are stopped when the tests' process
exits, and write down who owns them (pid and start time) so a later run can tell a server left
behind by a killed run from a live one.

Public API::

    ChildServer                   # base class: _popen(), stop(), serving(), running, pid
    free_port() -> int            # a free TCP port on 127.0.0.1
    tail(path, n) -> str          # the last lines of a log, for error messages
    start_time(pid) -> str | None # the kernel's start time of a process (None: no such process)
    write_owner(folder) / read_owner(folder) / owner_alive(owner)
    signal_when_parent_dies(sig)  # between fork and exec: `sig` when the parent dies
    kill_group_and_wait(pid)      # SIGKILL a process group, wait for its leader to go

This module imports nothing outside the standard library (bench/ uses the Synapse harness
outside pytest).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Self

_PR_SET_PDEATHSIG = 1
OWNER_FILE = "owner.json"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 60) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no {path.name})"
    return "\n".join(lines[-n:]) or f"({path.name} is empty)"


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/pid/stat), so a reused pid is not
    taken for the process that owned a server; None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def write_owner(folder: Path) -> None:
    """Record this process as the owner of the server in `folder`."""
    (folder / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "start": start_time(os.getpid())}))


def read_owner(folder: Path) -> dict[str, Any] | None:
    """The owner recorded in `folder`, or None when there is none (yet) or it cannot be read."""
    try:
        return json.loads((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None


def owner_alive(owner: dict[str, Any]) -> bool:
    """Whether the process that wrote `owner` still runs (the same pid, started at the same time)."""
    return start_time(int(owner["pid"])) == owner["start"]


def signal_when_parent_dies(sig: signal.Signals) -> None:
    """Ask the kernel for `sig` when the parent dies, however it dies (kill -9 included). Called
    in the child between fork and exec, after any change of user (which clears the request)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def kill_group_and_wait(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL the process group led by `pid`, and wait (up to `timeout`) until `pid` is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and start_time(pid) is not None:
        time.sleep(0.05)


_LIVE: weakref.WeakSet[ChildServer] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.at_exit()


class ChildServer(ABC):
    """A server the tests start as a child process, in a process group of its own so that
    stopping it reaches every process it forked."""

    #: What `stop()` sends first, and whether to the whole group or to the leader only.
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    stop_whole_group: ClassVar[bool] = True

    _proc: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def cleanup(self) -> None:
        """Stop, and remove what the server wrote."""

    def at_exit(self) -> None:
        """What the tests' process does with a server still running when it exits."""
        self.cleanup()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _popen(
        self,
        cmd: list[str],
        *,
        cwd: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        """Start `cmd` as the server's process, its output appended to `log_path`."""
        out = log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stop() reaches every child
                preexec_fn=preexec_fn,
            )
        finally:
            out.close()
        _LIVE.add(self)

    def stop(self, timeout: float = 15.0) -> None:
        """Send `stop_signal`; after `timeout`, SIGKILL to the whole group."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if self.stop_whole_group:
                    os.killpg(proc.pid, self.stop_signal)
                else:
                    os.kill(proc.pid, self.stop_signal)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _LIVE.discard(self)

    def serving(self) -> Iterator[Self]:
        """Start, yield the server, and clean up however that ends (a start that failed half-way
        included): the body of a session fixture, ``yield from Server().serving()``."""
        try:
            self.start()
            yield self
        finally:
            self.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
