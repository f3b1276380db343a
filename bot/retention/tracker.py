"""Rasa's tracker store (SQL, one SQLite file per replica in the data folder: bot/launcher.py).

Rasa keeps every event of a conversation - the person's words and the gateway's metadata copy of
them included - in the table `events` (sender_id, timestamp as epoch seconds, data as JSON text).
The sender id is the gateway's conversation id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.settings import Settings


def tracker_files(settings: Settings) -> list[Path]:
    """The tracker store files `make run` uses (`rasa_tracker.db`, `rasa_tracker-2.db`, ...)."""
    return sorted(settings.data_dir.glob("rasa_tracker*.db"))


def _has_events(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone() is not None


def count_older(files: Iterable[Path], cutoff: datetime) -> int:
    total = 0
    for path in files:
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            if _has_events(conn):
                total += conn.execute(
                    "SELECT COUNT(*) FROM events WHERE timestamp < ?", (cutoff.timestamp(),)
                ).fetchone()[0]
    return total


def delete_older(files: Iterable[Path], cutoff: datetime) -> int:
    """Delete events older than `cutoff` in every file; the number deleted."""
    return _delete(files, "timestamp < ?", (cutoff.timestamp(),))


def delete_sender(files: Iterable[Path], sender_ids: Iterable[str]) -> int:
    """Delete every event of these conversations (erasure)."""
    total = 0
    for sender in sender_ids:
        total += _delete(files, "sender_id = ?", (sender,))
    return total


def events_of(files: Iterable[Path], sender_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The events of these conversations, for an export (type, time, and Rasa's JSON as it is)."""
    rows: list[dict[str, Any]] = []
    wanted = list(sender_ids)
    for path in files:
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            if not _has_events(conn):
                continue
            for sender in wanted:
                query = "SELECT sender_id, type_name, timestamp, data FROM events WHERE sender_id = ? ORDER BY id"
                for sender_id, type_name, timestamp, data in conn.execute(query, (sender,)):
                    rows.append({"conversation": sender_id, "type": type_name, "timestamp": timestamp, "data": data})
    return rows


def _delete(files: Iterable[Path], where: str, params: tuple[Any, ...]) -> int:
    total = 0
    for path in files:
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            if not _has_events(conn):
                continue
            with conn:
                total += conn.execute(f"DELETE FROM events WHERE {where}", params).rowcount
    return total
