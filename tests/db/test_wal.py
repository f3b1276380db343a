"""Switching a SQLite file to WAL while other processes open it (bot/db/wal.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db.wal import use_wal


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
    """(holder, waiter): the holder has the file exclusively; the waiter does not wait on its own."""
    path = tmp_path / "held.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    yield holder, waiter
    holder.close()
    waiter.close()


def test_a_new_file_is_switched_and_a_wal_file_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with sqlite3.connect(path) as conn:
        use_wal(conn.execute)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    said: list[str] = []
    with sqlite3.connect(path) as conn:

        def execute(sql: str) -> sqlite3.Cursor:
            said.append(sql)
            return conn.execute(sql)

        use_wal(execute)
    assert said == ["PRAGMA journal_mode"]  # already WAL: no switch, no lock needed


def test_the_loser_of_the_race_waits_while_the_winner_holds_the_file(
    held: tuple[sqlite3.Connection, sqlite3.Connection],
) -> None:
    """Another connection holds the file exclusively for a moment; the switch is tried again, not failed."""
    holder, waiter = held
    calls = 0

    def execute(sql: str) -> sqlite3.Cursor:
        nonlocal calls
        calls += 1
        if calls == 3:  # the winner finishes while the loser waits
            holder.execute("COMMIT")
        return waiter.execute(sql)

    use_wal(execute, wait_seconds=5)
    assert waiter.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and calls > 2


def test_a_lock_that_never_goes_away_is_reported_and_other_errors_at_once(
    held: tuple[sqlite3.Connection, sqlite3.Connection],
) -> None:
    holder, waiter = held
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(waiter.execute, wait_seconds=0.2)
    holder.execute("COMMIT")
    with pytest.raises(sqlite3.OperationalError, match="syntax"):
        use_wal(lambda sql: waiter.execute("PRAGMA journal_mode=WAL garbage"), wait_seconds=5)
