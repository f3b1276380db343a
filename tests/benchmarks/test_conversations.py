"""The conversation runner against a fake front door (the real stack: tests/e2e/test_conversation_harness.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.conversation_scoring import Expect, RoundFigures, Script, ScriptTurn, score
from benchmarks.conversations import RECORD_HEADER, Target, main, record, run_conversation

SCHEMA = """
CREATE TABLE tickets (id INTEGER PRIMARY KEY, number TEXT, route TEXT, summary_redacted TEXT,
                      triage_signals TEXT, conversation_id TEXT);
CREATE TABLE gw_outbound (id INTEGER PRIMARY KEY, conversation_id TEXT, inbound_id INTEGER, source TEXT);
CREATE TABLE gw_inbound (id INTEGER PRIMARY KEY, conversation_id TEXT, safety TEXT);
CREATE TABLE gw_conversations (id TEXT PRIMARY KEY, handoff_reason TEXT);
CREATE TABLE ticket_contacts (id INTEGER PRIMARY KEY, ticket_id INTEGER, value TEXT);
CREATE TABLE ticket_messages (id INTEGER PRIMARY KEY, ticket_id INTEGER, seq INTEGER, sender TEXT, text TEXT);
"""
KEY = "fdk_0123456789abcdef_" + "ab" * 32


class FakeFrontDoor:
    """Asks where, then the summary; files the ticket on a yes. Rasa's tracker follows along."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.events: list[dict[str, Any]] = []
        self.requested: str | None = None
        self.where = ""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "/tracker" in request.url.path:
            assert request.url.params["token"] == "secret"
            loop = {"name": "ticket_form"} if self.requested else {}
            return httpx.Response(
                200, json={"slots": {"requested_slot": self.requested}, "active_loop": loop, "events": self.events}
            )
        if request.headers.get("authorization") != f"Bearer {KEY}":  # the app refuses calls without the key
            return httpx.Response(401, json={"error": "unknown or revoked API key"})
        if request.url.path.endswith("/updates"):
            return httpx.Response(200, json={"messages": []})
        body = json.loads(request.content)
        cid = f"12345:rest:local:{body['sender']}"  # the key's namespace
        route = "ticket" if self.requested != "ticket_confirmed" else "smalltalk"
        self.events.append({"event": "user", "text": body["text"], "metadata": {"decision": {"route": route}}})
        with sqlite3.connect(self.database) as db:
            db.execute("INSERT INTO gw_inbound (conversation_id, safety) VALUES (?, NULL)", (cid,))
            if self.requested is None:
                self.requested, reply = "problem_where", "请问具体在什么地方？"
            elif self.requested == "problem_where":
                self.where, self.requested, reply = body["text"], "ticket_confirmed", "请确认您要反映的内容"
            else:
                db.execute(
                    "INSERT INTO tickets (number, route, summary_redacted, triage_signals, conversation_id) "
                    "VALUES ('12345-1', 'ticket', ?, ?, ?)",
                    (f"路灯坏了\n地点：{self.where}", json.dumps({"where": self.where}), cid),
                )
                db.execute("INSERT INTO gw_outbound (conversation_id, source) VALUES (?, 'check-in')", (cid,))
                self.requested, reply = None, "已为您登记"
        return httpx.Response(200, json={"replies": [{"id": 1, "text": reply, "buttons": []}]})


def test_the_runner_answers_what_is_asked_and_reads_the_records(tmp_path: Path) -> None:
    database = tmp_path / "fd.db"
    with sqlite3.connect(database) as db:
        db.executescript(SCHEMA)
    fake = FakeFrontDoor(database)
    target = Target("http://app", "http://rasa", "secret", f"sqlite:///{database}", api_key=KEY)
    script = Script(
        id="f-01",
        desk="12345",
        writes_in="zh-Hans",
        summary="",
        turns=(ScriptTurn("路灯坏了"), ScriptTurn("上周", "since"), ScriptTurn("幸福路18号", "where")),
        expect=Expect(ticket=True, crisis=False, details={"where": "幸福路18号"}, first_route="ticket"),
    )
    with httpx.Client(transport=httpx.MockTransport(fake.handle)) as client:
        found = run_conversation(client, target, script)
    assert found.error is None
    assert [(e.kind, e.text) for e in found.exchanges] == [
        ("say", "路灯坏了"),
        ("if_asked", "幸福路18号"),
        ("unscripted", "对，提交吧"),
    ]
    assert [e.asked_after for e in found.exchanges] == ["where", "confirm", None]
    assert found.decisions == ["ticket", "ticket", "smalltalk"] and found.skipped_turns == [1]
    assert [t.route for t in found.filed] == ["ticket"] and found.check_ins == 1
    result = score(script, found)
    assert result.reasons == ["check_in: asked 1 time(s), expected no"]
    assert result.unscripted == ["confirm: 对，提交吧"]


def test_record_creates_the_file_with_its_protocol_then_appends(tmp_path: Path) -> None:
    path = tmp_path / "fresh.md"
    figures = RoundFigures("round 1", 2, 1, 0, (0, 1), (0, 0), {"zh-Hans": (2, 2)}, 0, [("r1-02", ["ticket: x"])])
    record([figures], "python -m benchmarks.conversations r.yml --record", 93.4, path)
    record([figures], "again", 10, path)
    written = path.read_text(encoding="utf-8")
    assert written.startswith(RECORD_HEADER) and written.count("### round 1") == 2
    assert "- wall time: 93 s" in written and "`python -m benchmarks.conversations r.yml --record`" in written
    assert "- commit: " in written and "  - r1-02: ticket: x" in written


def test_only_an_unknown_id_stops_before_the_stack_starts(capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).resolve().parents[2] / "benchmarks" / "conversations" / "sample.yml"
    with pytest.raises(SystemExit):
        main([str(sample), "--only", "nope"])
    assert "no conversation with id nope" in capsys.readouterr().err


def test_only_a_form_the_cancel_action_ended_counts_as_cancelled():
    """action_cancel_ticket_form also runs for what NLU only took for a cancel, and then keeps the form."""
    from benchmarks.conversations import form_was_cancelled

    ran = {"event": "action", "name": "action_cancel_ticket_form"}
    ended = [ran, {"event": "active_loop", "name": None}, {"event": "slot", "name": "route", "value": None}]
    kept = [
        ran,
        {"event": "slot", "name": "problem_where", "value": "先说电梯吧"},
        {"event": "followup", "name": "ticket_form"},
    ]
    kept += [{"event": "action", "name": "ticket_form"}, {"event": "active_loop", "name": None}]
    assert form_was_cancelled(ended) and not form_was_cancelled(kept) and not form_was_cancelled([])
