"""benchmarks/procfs.py: a process tree's CPU and memory, children included."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.procfs import cpu_seconds, process_tree, rss_mb, run_queue_wait_seconds


def test_the_tree_includes_children_and_their_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(80_000_000); time.sleep(30)"])
    try:
        child_rss = 0.0
        for _ in range(100):
            if child.pid in process_tree(os.getpid()) and (child_rss := rss_mb(child.pid)) > 70:
                break
            time.sleep(0.05)
        assert child.pid in process_tree(os.getpid())
        assert child_rss > 70  # the child's 80 MB
        assert rss_mb(os.getpid()) >= child_rss  # the parent's figure counts the child
        assert cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()


def test_run_queue_wait_grows_while_two_busy_processes_share_one_core() -> None:
    """Two spinning children pinned to one core: each waits for the other about half the time."""
    spin = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"
    children = [subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", spin]) for _ in range(2)]
    try:
        time.sleep(1.0)
        waited = sum(run_queue_wait_seconds(child.pid) for child in children)
        assert waited > 0.2  # of ~2 s of wanting to run on one core in 1 s
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert run_queue_wait_seconds(os.getpid()) >= 0.0
