"""The data files' modes: the database, its write-ahead log and the key file are readable by their
owner only, whatever the umask; a folder the bot creates for them is too."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def make_private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) for this user only; an existing folder is left as it
    is (it may be shared on purpose, e.g. the working directory)."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for parent in reversed(missing):
        try:
            parent.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue
        os.chmod(parent, PRIVATE_FOLDER)  # mkdir's mode is reduced by the umask; chmod's is not


def create_private_file(path: Path) -> None:
    """Create an empty `path` with mode 0600 unless it exists. SQLite then opens it as a new
    database and gives its -wal and -shm files the same mode."""
    make_private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def sync_folder(folder: Path) -> None:
    """Make a rename or link in `folder` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def exposed(paths: Iterable[Path]) -> list[Path]:
    """Those of `paths` that exist and that other users of this machine can read or change."""
    found = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if stat.S_IMODE(mode) & 0o077:
            found.append(path)
    return found


def exposure_warning(paths: list[Path]) -> str:
    """One line naming the files and the command that makes them private."""
    names = ", ".join(str(path) for path in paths)
    verb = "is" if len(paths) == 1 else "are"
    return (
        f"{names} {verb} open to other users of this machine (it holds the data key or encrypted"
        f" data): run chmod 600 {' '.join(shlex.quote(str(path)) for path in paths)}"
    )
