"""Files and folders only their owner can read: secrets, data, logs, caches (issue 18, ASVS 14.x).

The processes the launcher starts run with umask 077, so whatever they create (databases, logs, the
embedding cache, Rasa's tracker store) is 0600/0700 without every call site saying so. The folders
themselves are created 0700 here and tightened if an earlier run left them looser, and the secrets
file is created exclusively with mode 0600: it never exists, not even for an instant, with the mode
the umask would give it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) 0700, or tighten it to 0700 if it exists with a looser mode."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int) -> None:
    """Drop group and other bits from an existing file or folder we own (never loosens anything)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid != os.getuid():
        return  # not ours (a shared system folder): leave it to its owner
    current = stat.S_IMODE(info.st_mode)
    if current & ~mode:
        path.chmod(current & mode)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only.

    A new file is created with O_CREAT|O_EXCL and mode 0600 (so nobody can have it open before the
    mode is set, and a symlink planted at the path is not followed); an existing one is tightened to
    0600 first and then rewritten in place.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        tighten(path, FILE_MODE)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def open_private_append(path: Path) -> int:
    """A file descriptor appending to `path` (a log), created 0600 or tightened to 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    tighten(path, FILE_MODE)
    return fd
