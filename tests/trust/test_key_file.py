"""Nothing is lost under crashes, at the very first start: the data key file is never left empty
or half-written by a process killed while creating it (an empty one stopped every later start
with "the data key must be 32 bytes"), and two processes creating it at once share one key."""

import os
import signal
import stat
import subprocess
import sys

import pytest

from bot.storage import crypto
from bot.storage.crypto import FieldCipher, load_or_create_key
from tests.e2e.console import ROOT


class Killed(BaseException):
    """Stands for a kill -9: nothing after it runs, not even `except Exception` handlers."""


def test_killed_before_the_key_is_in_place_leaves_no_key_file(tmp_path, monkeypatch):
    key_file = tmp_path / "data" / "alongside.db.key"

    def killed(*_):
        raise Killed

    monkeypatch.setattr(crypto.os, "link", killed)
    with pytest.raises(Killed):
        load_or_create_key(None, key_file)
    assert not key_file.exists()
    monkeypatch.undo()
    key = load_or_create_key(None, key_file)  # the next start simply makes one
    assert load_or_create_key(None, key_file) == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_killed_while_writing_the_key_leaves_no_key_file(tmp_path):
    """A real kill -9 while the key is being written (stopped inside its fsync)."""
    key_file = tmp_path / "alongside.db.key"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from bot.storage import crypto\n"
        "crypto.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"crypto.load_or_create_key(None, Path({str(key_file)!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert not key_file.exists()
    cipher = FieldCipher(load_or_create_key(None, key_file))
    assert cipher.decrypt(cipher.encrypt("ok", "test"), "test") == "ok"


def test_two_first_starts_at_once_share_the_first_key(tmp_path, monkeypatch):
    key_file = tmp_path / "alongside.db.key"
    real_link = os.link
    theirs: list[bytes] = []

    def link_after_the_other_process(source, target):
        monkeypatch.setattr(crypto.os, "link", real_link)
        theirs.append(load_or_create_key(None, key_file))  # the other process wins the race
        return real_link(source, target)

    monkeypatch.setattr(crypto.os, "link", link_after_the_other_process)
    mine = load_or_create_key(None, key_file)
    assert theirs and mine == theirs[0] == load_or_create_key(None, key_file)
    assert [p.name for p in tmp_path.iterdir()] == ["alongside.db.key"]
