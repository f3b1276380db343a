"""Retention purge on a seeded database: seed size, purge time, rows removed per table.

`python -m benchmarks.purge_bench [--conversations 10000]` (or `make bench-purge`): a throw-away
data folder with a migrated SQLite database, a Rasa tracker store, log files and an old embedding
cache file, filled with conversations of mixed ages (0-400 days) by bulk inserts; then
`bot.retention.purge` with the default policy, twice (the second run must remove nothing).
`seed` is also what tests/retention uses.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from bot.console.models import LoginAttempt, StaffSession, StaffUser
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.models import Conversation, InboundMessage, OutboundMessage, TelegramUpdate
from bot.tickets.models import Contact, Event, EventText, Message, Rating, Ticket

STATUSES = ("new", "in_progress", "waiting_for_person", "resolved", "closed", "declined", "referred")
TRACKER_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
)
"""Rasa 3.6's SQLTrackerStore table, as it creates it."""


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def seed(
    engine: Engine, data_dir: Path, cache_dir: Path, conversations: int, now: datetime, seed: int = 7
) -> dict[str, int]:
    """Fill the database and the files beside it; returns the rows written per table."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("conv", "in", "out", "tg", "ticket", "msg", "contact", "event", "text", "rating")
    }
    tracker_rows: list[tuple[str, str, float, str]] = []
    inbound_id = outbound_id = event_id = 0
    for n in range(conversations):
        age = timedelta(days=rng.uniform(0, 400))
        start = now - age
        conv = f"1235{5 if n % 2 else 4}:web:user-{n:06d}"
        rows["conv"].append(
            {
                "id": conv,
                "desk": conv[:5],
                "channel": "web",
                "external_user": f"user-{n:06d}",
                "handoff": False,
                "handoff_reason": None,
                "bot_reset_pending": False,
                "language": "zh-Hans",
                "pending_matters": {"items": ["电梯坏了", "物业乱收费"]} if n % 5 == 0 else None,
                "created_at": start,
                "last_seen_at": start + timedelta(minutes=5),
            }
        )
        for turn in range(2):
            inbound_id += 1
            at = start + timedelta(minutes=turn)
            rows["in"].append(
                {
                    "id": inbound_id,
                    "conversation_id": conv,
                    "channel_message_id": f"m{inbound_id}",
                    "text": f"我的电话是138{n:08d}，第{turn}句",
                    "status": "answered",
                    "safety": None,
                    "received_at": at,
                    "answered_at": at,
                }
            )
            outbound_id += 1
            rows["out"].append(
                {
                    "id": outbound_id,
                    "conversation_id": conv,
                    "inbound_id": inbound_id,
                    "text": "收到，我们会尽快处理。",
                    "buttons": None,
                    "source": "bot",
                    "delivery": "inline",
                    "status": "sent",
                    "attempts": 1,
                    "parts_sent": 1,
                    "next_attempt_at": None,
                    "last_error": None,
                    "created_at": at,
                    "sent_at": at,
                }
            )
            tracker_rows.append((conv, "user", at.timestamp(), f'{{"text": "我的电话是138{n:08d}"}}'))
        rows["tg"].append(
            {
                "desk": conv[:5],
                "update_id": n,
                "payload": {"message": {"chat": {"id": n}}},
                "status": "handled",
                "received_at": start,
            }
        )
        if n % 5 in (0, 1):  # two in five conversations have a ticket
            ticket_id = len(rows["ticket"]) + 1
            status = STATUSES[n % len(STATUSES)]
            number = f"{conv[:5]}-S-{ticket_id:06d}"
            rows["ticket"].append(
                {
                    "id": ticket_id,
                    "number": number,
                    "desk": conv[:5],
                    "route": "ticket",
                    "category": None,
                    "category_l1": None,
                    "priority": "normal",
                    "status": status,
                    "summary_redacted": "电梯坏了，联系电话[手机号]",
                    "triage_signals": {"where": "人民路123号"},
                    "sla_first_response_due": None,
                    "sla_resolution_due": None,
                    "created_at": start,
                    "updated_at": start + timedelta(days=1) if start + timedelta(days=1) < now else now,
                    "first_response_at": None,
                    "resolved_at": None,
                    "channel": "web",
                    "conversation_id": conv,
                    "idempotency_key": f"{conv}:1",
                    "assignee": None,
                    "department": None,
                    "first_handler": None,
                    "anonymised_at": None,
                }
            )
            rows["msg"].append(
                {
                    "ticket_id": ticket_id,
                    "seq": 1,
                    "sender": "person",
                    "text": f"电梯坏了 138{n:08d}",
                    "created_at": start,
                    "staff_user": None,
                }
            )
            rows["contact"].append(
                {
                    "ticket_id": ticket_id,
                    "kind": "phone",
                    "value": f"138{n:08d}",
                    "consent_at": start,
                    "consent_text": "同意",
                    "created_at": start,
                }
            )
            event_id += 1
            rows["event"].append(
                {
                    "id": event_id,
                    "ticket_id": ticket_id,
                    "actor": "bot",
                    "kind": "created",
                    "at": start,
                    "details": {"number": number},
                }
            )
            event_id += 1
            rows["event"].append(
                {"id": event_id, "ticket_id": ticket_id, "actor": "agent", "kind": "note", "at": start, "details": {}}
            )
            rows["text"].append(
                {"event_id": event_id, "ticket_id": ticket_id, "field": "text", "text": f"已致电138{n:08d}"}
            )
            if status in ("resolved", "closed"):
                rows["rating"].append(
                    {
                        "ticket_id": ticket_id,
                        "solved": True,
                        "service_score": 5,
                        "comment": "谢谢王老师",
                        "created_at": start,
                    }
                )
    tables = (
        ("conv", Conversation),
        ("in", InboundMessage),
        ("out", OutboundMessage),
        ("tg", TelegramUpdate),
        ("ticket", Ticket),
        ("msg", Message),
        ("contact", Contact),
        ("event", Event),
        ("text", EventText),
        ("rating", Rating),
    )
    with engine.begin() as conn:
        user_id = conn.execute(
            insert(StaffUser).values(
                username="seed.agent",
                display_name="seed",
                password_hash="x",
                role="agent",
                desks=["12345"],
                active=True,
                created_at=now,
                updated_at=now,
                password_changed_at=now,
            )
        ).inserted_primary_key[0]
        for key, model in tables:
            for chunk in _chunks(rows[key]):
                conn.execute(insert(model), chunk)
        sessions = [
            {
                "id": f"s{i}",
                "user_id": user_id,
                "created_at": now - timedelta(days=i),
                "last_seen_at": now - timedelta(days=i),
                "ended_at": None,
                "ip": "127.0.0.1",
            }
            for i in range(0, 120, 3)
        ]
        attempts = [
            {"username": "seed.agent", "ip": "127.0.0.1", "at": now - timedelta(days=i), "success": i % 2 == 0}
            for i in range(0, 120)
        ]
        conn.execute(insert(StaffSession), sessions)
        conn.execute(insert(LoginAttempt), attempts)
    with sqlite3.connect(data_dir / "rasa_tracker.db") as tracker:
        tracker.execute(TRACKER_SCHEMA)
        tracker.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)", tracker_rows
        )
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for age_days in (0, 10, 29, 31, 90):
        path = logs / f"app.log.{(now - timedelta(days=age_days)):%Y%m%d}"
        path.write_text(f"a log line from {age_days} days ago\n")
        os.utime(path, (time.time(), (now - timedelta(days=age_days)).timestamp()))
    (logs / "app.log").write_text("today's line\n")
    embeddings = cache_dir / "embeddings"
    embeddings.mkdir(parents=True, exist_ok=True)
    (embeddings / "multilingual-e5-small-0123456789abcdef.sqlite").write_bytes(b"old cache of every message")
    (embeddings / "multilingual-e5-small-0123456789abcdef.reference.sqlite").write_bytes(b"catalogue vectors")
    written = {model.__tablename__: len(rows[key]) for key, model in tables}
    written.update(
        {"staff_sessions": len(sessions), "staff_login_attempts": len(attempts), "tracker events": len(tracker_rows)}
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, cache_dir = Path(tmp) / "data", Path(tmp) / "cache"
        data_dir.mkdir()
        os.environ["FRONTDOOR_DATA_DIR"], os.environ["FRONTDOOR_CACHE_DIR"] = str(data_dir), str(cache_dir)
        os.environ.pop("FRONTDOOR_DATABASE_URL", None)
        from bot.retention.purge import purge
        from bot.settings import Settings

        settings = Settings()
        migrate(settings.database_url)
        engine = make_engine(settings.database_url)
        now = datetime.now(UTC)
        started = time.monotonic()
        written = seed(engine, data_dir, cache_dir, args.conversations, now)
        seeded = time.monotonic() - started
        size = (data_dir / "frontdoor.db").stat().st_size
        with engine.connect() as conn:
            tickets = conn.execute(select(func.count()).select_from(Ticket)).scalar_one()
        print(
            f"seed: {args.conversations} conversations, {sum(written.values())} rows ({tickets} tickets), "
            f"{size / 2**20:.1f} MB database, {seeded:.1f} s"
        )
        first = purge(engine, settings, now=now, progress=print)
        print(first.render())
        second = purge(engine, settings, now=now)
        print(f"second run: {second.total()} rows in {second.seconds:.2f} s (idempotent: expected 0)")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
