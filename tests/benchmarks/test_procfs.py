"""benchmarks/procfs.py: a process tree's CPU and memory, children included."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.procfs import cpu_seconds, process_tree, rss_mb


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
