"""Migration 0009 moves free text out of the append-only events, and back on downgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, migrate


def _run(url: str, verb: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)
    engine.dispose()


def test_notes_written_before_0009_move_to_their_own_table_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    _run(url, "downgrade", "0009_console_security")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickets (id, number, desk, route, priority, status, summary_redacted, triage_signals, "
                "created_at, updated_at, channel, conversation_id, idempotency_key) VALUES (1, 'T-1', '12355', "
                "'ticket', 'normal', 'new', 's', '{}', '2026-12-01 00:00:00', '2026-12-01 00:00:00', 'web', 'c', 'k')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO ticket_events (id, ticket_id, actor, kind, at, details) VALUES "
                "(1, 1, 'agent', 'note', '2026-12-01 00:00:00', '{\"text\": \"家长电话13812345678\"}'), "
                '(2, 1, \'agent\', \'status_changed\', \'2026-12-01 00:00:00\', \'{"old": "new", "new": "in_progress", "reason": "先回电"}\')'
            )
        )
    _run(url, "upgrade", "head")
    with engine.connect() as conn:
        details = [r[0] for r in conn.execute(text("SELECT details FROM ticket_events ORDER BY id"))]
        texts = conn.execute(text("SELECT event_id, field, text FROM ticket_event_texts ORDER BY event_id")).all()
    assert "13812345678" not in "".join(details) and "先回电" not in "".join(details)
    assert [tuple(t) for t in texts] == [(1, "text", "家长电话13812345678"), (2, "reason", "先回电")]
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:  # the trigger is back
        conn.execute(text("UPDATE ticket_events SET actor = 'x'"))
    engine.dispose()
    _run(url, "downgrade", "0009_console_security")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert "13812345678" in conn.execute(text("SELECT details FROM ticket_events WHERE id = 1")).scalar_one()
    engine.dispose()
