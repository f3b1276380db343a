"""Log files under <data dir>/logs: rotated daily, kept `FRONTDOOR_RETAIN_LOG_DAYS`, scrubbed on erasure.

The launcher points each child process's stdout at `<service>.log` (opened for append), so the
files are rotated the way logrotate's copytruncate does it: the day's content is copied to
`<service>.log.<YYYYMMDD>` and the live file truncated (the child keeps appending at the new end).
Rotated files older than the retention are deleted; a live file untouched for that long too.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from bot.settings import Settings


def log_dir(settings: Settings) -> Path:
    return settings.data_dir / "logs"


def rotate(folder: Path, now: datetime, *, dry_run: bool = False) -> int:
    """Copy-truncate every non-empty live log not rotated today; the number of files rotated."""
    if not folder.is_dir():
        return 0
    stamp = now.strftime("%Y%m%d")
    rotated = 0
    for live in sorted(folder.glob("*.log")):
        target = live.with_name(f"{live.name}.{stamp}")
        if live.stat().st_size == 0 or target.exists():
            continue
        rotated += 1
        if not dry_run:
            shutil.copy2(live, target)
            with live.open("r+b") as handle:
                handle.truncate(0)
    return rotated


def expired(folder: Path, days: int, now: datetime, pattern: str = "*.log*") -> list[Path]:
    """Files matching `pattern` (log files, rotated or live) last written more than `days` ago."""
    if not folder.is_dir():
        return []
    limit = now.timestamp() - days * 86400
    return [p for p in sorted(folder.glob(pattern)) if p.is_file() and p.stat().st_mtime < limit]


def prune(folder: Path, days: int, now: datetime, *, dry_run: bool = False, pattern: str = "*.log*") -> int:
    old = expired(folder, days, now, pattern)
    if not dry_run:
        for path in old:
            path.unlink(missing_ok=True)
    return len(old)


def scrub(folder: Path, needles: Iterable[str]) -> int:
    """Remove every line that names one of `needles` (conversation id, ticket number) from every log
    file; the number of lines removed. A line written at the same moment by a running process may be
    lost (the live file is rewritten in place)."""
    words = [n for n in needles if n]
    if not folder.is_dir() or not words:
        return 0
    removed = 0
    for path in sorted(folder.glob("*.log*")):
        if not path.is_file():
            continue
        lines = path.read_bytes().splitlines(keepends=True)
        encoded = [w.encode() for w in words]
        kept = [line for line in lines if not any(w in line for w in encoded)]
        if len(kept) != len(lines):
            removed += len(lines) - len(kept)
            mtime = path.stat().st_mtime
            with path.open("r+b") as handle:
                handle.seek(0)
                handle.writelines(kept)
                handle.truncate()
            if path.suffix != ".log":  # a rotated file keeps its age
                import os

                os.utime(path, (time.time(), mtime))
    return removed
