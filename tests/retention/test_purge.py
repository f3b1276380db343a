"""The purge on 10,000 seeded conversations of mixed ages: nothing older than the policy remains."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from benchmarks.purge_bench import seed
from bot.retention.purge import purge
from bot.settings import Settings

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def _count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _ago(days: int) -> str:
    """A cutoff as SQLite holds the app's times (naive UTC text)."""
    return (NOW - timedelta(days=days)).replace(tzinfo=None).isoformat(sep=" ")


def test_after_the_purge_nothing_older_than_the_policy_remains(engine: Engine, settings: Settings) -> None:
    written = seed(engine, settings.data_dir, settings.cache_dir, 10_000, NOW)
    assert written["gw_conversations"] == 10_000
    chat, ticket, contact, matters = _ago(30), _ago(180), _ago(30), _ago(7)
    young_before = _count(engine, "SELECT COUNT(*) FROM gw_inbound WHERE received_at >= :c", c=chat)
    held_old_before = _count(
        engine,
        "SELECT COUNT(*) FROM gw_inbound i JOIN tickets t ON t.conversation_id = i.conversation_id "
        "WHERE i.received_at < :c AND t.status IN ('new', 'in_progress', 'waiting_for_person')",
        c=chat,
    )
    assert young_before > 0 and held_old_before > 0

    exports = settings.data_dir / "exports"
    exports.mkdir()
    for name, age in (("old.json", 8), ("new.json", 1)):
        (exports / name).write_text("{}")
        os.utime(exports / name, (NOW.timestamp(), (NOW - timedelta(days=age)).timestamp()))

    preview = purge(engine, settings, now=NOW, dry_run=True)
    assert _count(engine, "SELECT COUNT(*) FROM gw_inbound") == written["gw_inbound"]  # a dry run changes nothing
    report = purge(engine, settings, now=NOW)
    assert report.by_table() == preview.by_table()  # the dry run said what the run did
    assert report.by_table()["gw_inbound"] > 10_000

    held = "SELECT conversation_id FROM tickets WHERE anonymised_at IS NULL"
    assert (
        _count(
            engine,
            f"SELECT COUNT(*) FROM gw_inbound WHERE received_at < :c AND conversation_id NOT IN ({held})",
            c=chat,
        )
        == 0
    )
    assert (
        _count(
            engine,
            f"SELECT COUNT(*) FROM gw_outbound WHERE created_at < :c AND conversation_id NOT IN ({held})",
            c=chat,
        )
        == 0
    )
    assert (
        _count(engine, f"SELECT COUNT(*) FROM gw_conversations WHERE last_seen_at < :c AND id NOT IN ({held})", c=chat)
        == 0
    )
    assert _count(engine, "SELECT COUNT(*) FROM gw_telegram_updates WHERE received_at < :c", c=chat) == 0
    assert (
        _count(
            engine,
            "SELECT COUNT(*) FROM gw_conversations WHERE last_seen_at < :c AND pending_matters IS NOT NULL AND CAST(pending_matters AS TEXT) <> 'null'",
            c=matters,
        )
        == 0
    )
    closed = "status IN ('resolved', 'closed', 'declined', 'referred')"
    assert (
        _count(
            engine,
            f"SELECT COUNT(*) FROM tickets WHERE {closed} AND updated_at < :c AND anonymised_at IS NULL",
            c=ticket,
        )
        == 0
    )
    for table in ("ticket_messages", "ticket_event_texts"):
        assert (
            _count(
                engine,
                f"SELECT COUNT(*) FROM {table} WHERE ticket_id IN (SELECT id FROM tickets WHERE anonymised_at IS NOT NULL)",
            )
            == 0
        )
    assert (
        _count(
            engine,
            f"SELECT COUNT(*) FROM ticket_contacts WHERE ticket_id IN (SELECT id FROM tickets WHERE {closed} AND updated_at < :c)",
            c=contact,
        )
        == 0
    )
    assert (
        _count(
            engine,
            "SELECT COUNT(*) FROM tickets WHERE anonymised_at IS NOT NULL AND (summary_redacted <> '[已匿名]' OR conversation_id NOT LIKE 'anonymised:%')",
        )
        == 0
    )
    assert _count(engine, "SELECT COUNT(*) FROM staff_sessions WHERE last_seen_at < :c", c=_ago(30)) == 0
    assert _count(engine, "SELECT COUNT(*) FROM staff_login_attempts WHERE at < :c", c=_ago(30)) == 0
    with sqlite3.connect(settings.data_dir / "rasa_tracker.db") as tracker:
        assert (
            tracker.execute(
                "SELECT COUNT(*) FROM events WHERE timestamp < ?", ((NOW - timedelta(days=30)).timestamp(),)
            ).fetchone()[0]
            == 0
        )
        assert tracker.execute("SELECT COUNT(*) FROM events").fetchone()[0] > 0
    logs = sorted(p.name for p in (settings.data_dir / "logs").iterdir())
    assert len(logs) == 4 and "app.log" in logs  # the 31- and 90-day files went; 0, 10 and 29 days stay
    assert [p.name for p in exports.iterdir()] == ["new.json"]  # an export is handed over, not kept
    cache = sorted(p.name for p in (settings.cache_dir / "embeddings").iterdir())
    assert cache == ["multilingual-e5-small-0123456789abcdef.reference.sqlite"]  # the old every-message cache went

    # what the policy keeps is still there: young turns, and old turns that are an open ticket's transcript
    assert _count(engine, "SELECT COUNT(*) FROM gw_inbound WHERE received_at >= :c", c=chat) == young_before
    assert (
        _count(
            engine,
            "SELECT COUNT(*) FROM gw_inbound i JOIN tickets t ON t.conversation_id = i.conversation_id "
            "WHERE i.received_at < :c AND t.status IN ('new', 'in_progress', 'waiting_for_person')",
            c=chat,
        )
        == held_old_before
    )
    assert _count(engine, "SELECT COUNT(*) FROM ticket_events") == written["ticket_events"]  # the audit chain is whole

    again = purge(engine, settings, now=NOW)
    assert again.total() == 0  # idempotent
