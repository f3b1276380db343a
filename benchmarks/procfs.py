"""CPU time and resident memory of a process tree, read from /proc (Linux only).

Sanic runs its workers as child processes, started from another thread than the main one, so the
children of every thread are followed.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are still alive."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            children = [
                c for task in Path(f"/proc/{current}/task").iterdir() for c in (task / "children").read_text().split()
            ]
        except OSError:
            continue
        found.append(current)
        pending.extend(int(child) for child in children)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total_kb = 0
    for current in process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
        except (OSError, StopIteration):
            continue
    return total_kb / 1024


def run_queue_wait_seconds(pid: int) -> float:
    """How long the threads of a process (children included) were ready to run but waited for a core.

    Read from /proc/<pid>/task/<tid>/schedstat (its second field, in ns; threads that have ended are
    not counted): on a shared machine it tells time lost to other processes from time spent working
    or waiting on I/O. 0 where the kernel keeps no scheduler statistics.
    """
    total_ns = 0
    for current in process_tree(pid):
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                total_ns += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total_ns / 1e9
