"""Export and erasure of one person, end to end, on a real database, tracker store and log folder."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text

from benchmarks.purge_bench import TRACKER_SCHEMA
from bot.gateway.models import Conversation, InboundMessage, OutboundMessage, TelegramUpdate
from bot.retention import person
from bot.retention.__main__ import main
from bot.settings import Settings
from bot.tickets.models import Ticket
from bot.tickets.repository import TicketStore

ZHANG = "12355:web:zhang"
LI = "12355:web:li"


def _person(engine: Engine, store: TicketStore, conversation: str, phone: str, words: str) -> Ticket:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Conversation).values(
                id=conversation,
                desk="12355",
                channel="web",
                external_user=conversation.rsplit(":", 1)[1],
                handoff=False,
                bot_reset_pending=False,
                language="zh-Hans",
                created_at=now,
                last_seen_at=now,
            )
        )
        inbound = conn.execute(
            insert(InboundMessage).values(conversation_id=conversation, text=words, status="answered", received_at=now)
        ).inserted_primary_key[0]
        conn.execute(
            insert(OutboundMessage).values(
                conversation_id=conversation,
                inbound_id=inbound,
                text="我们记下了",
                source="bot",
                status="sent",
                attempts=1,
                created_at=now,
            )
        )
    ticket = store.create_ticket(
        desk="12355",
        route="ticket",
        conversation_id=conversation,
        channel="web",
        idempotency_key=f"{conversation}:1",
        summary=words,
        triage_signals={"where": "实验中学初二3班"},
        transcript=[("person", words)],
    )
    store.add_contact(ticket.id, kind="phone", value=phone, consent_text="同意留下电话")
    store.add_note(ticket.id, actor="agent.wang", text=f"已联系家长，电话{phone}")
    store.change_status(ticket.id, "in_progress", actor="agent.wang", reason=f"{words[:4]}，先电话回访")
    return store.get(ticket.id)


@pytest.fixture
def world(engine: Engine, settings: Settings) -> tuple[TicketStore, Ticket, Ticket]:
    store = TicketStore(engine)
    zhang = _person(engine, store, ZHANG, "13812345678", "我叫张三，在学校被同学欺负")
    li = _person(engine, store, LI, "13900001111", "我叫李四，想咨询心理辅导")
    with sqlite3.connect(settings.data_dir / "rasa_tracker.db") as tracker:
        tracker.execute(TRACKER_SCHEMA)
        rows = [
            (c, "user", 1.0, json.dumps({"text": w}, ensure_ascii=False))
            for c, w in ((ZHANG, "被同学欺负"), (LI, "心理辅导"))
        ]
        tracker.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)", rows)
    (settings.data_dir / "logs").mkdir()
    (settings.data_dir / "logs" / "app.log").write_text(
        f"INFO turn of {ZHANG}\nINFO ticket {zhang.number} created\nINFO turn of {LI}\nINFO started\n"
    )
    return store, zhang, li


def _held(engine: Engine, settings: Settings, conversation: str) -> dict:
    return person.export(engine, person.find(engine, conversation=conversation), settings)


def test_export_holds_everything_about_the_person_and_nobody_else(
    engine: Engine, settings: Settings, world, tmp_path: Path
) -> None:
    _, zhang, _ = world
    out = tmp_path / "zhang.json"
    assert main(["export", "--ticket", zhang.number, "--out", str(out), "--actor", "admin.chen"]) == 0
    document = out.read_text(encoding="utf-8")
    held = json.loads(document)
    assert "张三" in document and "13812345678" in document  # the clear contact: it is theirs
    assert "李四" not in document and "13900001111" not in document
    assert [t["number"] for t in held["tickets"]] == [zhang.number]
    assert held["messages_received"][0]["text"].startswith("我叫张三")
    note = next(e for e in held["ticket_events"] if e["kind"] == "note")
    assert note["details"]["text"] == "已联系家长，电话13812345678"  # the note, put back from its own table
    assert held["rasa_tracker_events"][0]["conversation"] == ZHANG
    with engine.connect() as conn:
        action, details = conn.execute(text("SELECT action, details FROM staff_audit_log ORDER BY id DESC")).first()
    assert action == "personal_data_exported" and "13812345678" not in details


def test_erase_leaves_nothing_about_the_person_and_keeps_everyone_else(
    engine: Engine, settings: Settings, world
) -> None:
    store, zhang, _ = world
    li_before = _held(engine, settings, LI)
    events_before = len(store.events(zhang.id))
    assert main(["erase", "--ticket", zhang.number]) == 0  # without --yes: only says what would go
    assert _held(engine, settings, ZHANG)["messages_received"]

    assert main(["erase", "--ticket", zhang.number, "--yes", "--actor", "admin.chen"]) == 0

    with engine.connect() as conn:
        every_text = json.dumps(
            [
                [list(r) for r in conn.execute(text(f"SELECT * FROM {table}"))]
                for table in (
                    "gw_conversations",
                    "gw_inbound",
                    "gw_outbound",
                    "tickets",
                    "ticket_messages",
                    "ticket_contacts",
                    "ticket_events",
                    "ticket_event_texts",
                    "ticket_ratings",
                    "staff_audit_log",
                )
            ],
            ensure_ascii=False,
            default=str,
        )
        audit = conn.execute(
            text(
                "SELECT staff_user, action, ticket_id, details, at FROM staff_audit_log WHERE action = 'personal_data_erased'"
            )
        ).one()
    for trace in ("张三", "13812345678", "被同学欺负", "实验中学", ZHANG):
        assert trace not in every_text, trace
    anonymised = store.get(zhang.id)
    assert anonymised.summary_redacted == "[已匿名]" and anonymised.anonymised_at is not None
    assert anonymised.conversation_id == f"anonymised:{zhang.number}" and anonymised.triage_signals == {}
    assert len(store.events(zhang.id)) == events_before  # the audit chain is whole, without the text
    assert audit.staff_user == "admin.chen" and audit.ticket_id == zhang.id and audit.at is not None
    details = json.loads(audit.details)
    assert details["tickets"] == [zhang.number]
    assert details["counts"]["gw_inbound"] == 1 and details["counts"]["ticket_contacts"] == 1
    assert details["counts"]["rasa_tracker_events"] == 1 and details["counts"]["log_lines"] == 2
    with sqlite3.connect(settings.data_dir / "rasa_tracker.db") as tracker:
        assert [r[0] for r in tracker.execute("SELECT sender_id FROM events")] == [LI]
    assert (settings.data_dir / "logs" / "app.log").read_text() == f"INFO turn of {LI}\nINFO started\n"

    li_after = _held(engine, settings, LI)  # the other person's data is untouched
    for key in (
        "conversations",
        "messages_received",
        "messages_sent",
        "tickets",
        "ticket_transcripts",
        "contacts",
        "ticket_events",
        "rasa_tracker_events",
    ):
        assert li_after[key] == li_before[key], key
    with pytest.raises(person.SubjectNotFound):
        person.find(engine, conversation=ZHANG)
    assert main(["erase", "--ticket", zhang.number, "--yes"]) == 0  # again: nothing left, no error


def test_an_unknown_ticket_says_what_to_check(
    engine: Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--ticket", "12355-20990101-0001"]) == 1
    assert "no ticket numbered 12355-20990101-0001" in capsys.readouterr().err


def test_a_telegram_persons_raw_updates_go_and_a_neighbours_stay(engine: Engine, settings: Settings) -> None:
    now = datetime.now(UTC)
    conversation = "12355:telegram:4242"
    with engine.begin() as conn:
        conn.execute(
            insert(Conversation).values(
                id=conversation,
                desk="12355",
                channel="telegram",
                external_user="4242",
                handoff=False,
                bot_reset_pending=False,
                language="zh-Hans",
                created_at=now,
                last_seen_at=now,
            )
        )
        for update_id, chat in ((1, 4242), (2, 42420), (3, 424)):
            payload = {"update_id": update_id, "message": {"message_id": 9, "chat": {"id": chat}, "text": "我想死"}}
            conn.execute(
                insert(TelegramUpdate).values(
                    desk="12355", update_id=update_id, payload=payload, status="handled", received_at=now
                )
            )
    done = person.erase(engine, person.find(engine, conversation=conversation), settings, actor="admin.chen")
    assert done["gw_telegram_updates"] == 1 and done["gw_conversations"] == 1
    with engine.connect() as conn:
        assert sorted(r[0] for r in conn.execute(text("SELECT update_id FROM gw_telegram_updates"))) == [2, 3]
