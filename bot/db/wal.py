"""Switching a SQLite file to WAL when several processes open it at once.

Switching the journal mode takes a lock SQLite does not wait for (the busy timeout does not cover it):
two processes opening a new file at the same moment, one of them gets "database is locked" at once
(CI run 19, the embedding cache; the app database is opened by the gateway and the action server).
The loser waits for the winner and tries again; a file already in WAL is not switched again, which
needs no lock at all.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

WAIT_SECONDS = 30.0
"""How long a process waits for another one to finish switching the file."""


def use_wal(execute: Callable[[str], Any], wait_seconds: float = WAIT_SECONDS) -> None:
    """Put the file behind `execute` (a connection's or a cursor's `execute`) in WAL mode."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if str(execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
