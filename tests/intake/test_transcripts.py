"""bot/intake/transcripts.py: a ticket's transcript is the gateway's full record of the conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.db.engine import make_engine
from bot.gateway.store import GatewayStore, Reply
from bot.intake.transcripts import gateway_transcript, transcript_for
from bot.tickets.repository import TicketStore

CONVERSATION = "12345:web:u1"


@pytest.fixture
def stores(tmp_path: Path) -> tuple[TicketStore, GatewayStore]:
    url = f"sqlite:///{tmp_path / 'frontdoor.db'}"
    tickets = TicketStore.from_url(url)  # migrates every table, the gateway's too
    return tickets, GatewayStore(make_engine(url))


def test_the_record_keeps_every_voice_in_order_and_leaves_out_payloads_and_alerts(
    stores: tuple[TicketStore, GatewayStore],
) -> None:
    tickets, gateway = stores
    first, _, _ = gateway.persist_inbound("12345", "web", "u1", "a", "路灯坏了")
    gateway.finish(first, [Reply("在什么地方？", [{"title": "不清楚", "payload": "/deny"}])], False)
    button, _, _ = gateway.persist_inbound("12345", "web", "u1", "b", "/deny")
    gateway.finish(button, [Reply("好的，先这样登记。", source="gateway")], False)
    gateway.enqueue(CONVERSATION, "您好，我是工作人员小李。", "staff")
    staff_chat = gateway.ensure_conversation("12345", "telegram_staff", "-100")
    gateway.enqueue(staff_chat, "【危机预警】……", "alert")

    assert gateway_transcript(tickets, CONVERSATION) == [
        ("person", "路灯坏了"),
        ("bot", "在什么地方？"),
        ("bot", "好的，先这样登记。"),
        ("staff", "您好，我是工作人员小李。"),
    ]
    assert gateway_transcript(tickets, CONVERSATION, limit=2) == [
        ("bot", "好的，先这样登记。"),
        ("staff", "您好，我是工作人员小李。"),
    ]


def test_without_a_record_rasas_events_are_the_transcript(stores: tuple[TicketStore, GatewayStore]) -> None:
    tickets, _ = stores
    events = [
        {"event": "user", "text": "/crisis", "metadata": {"text": "我不想活了"}},
        {"event": "bot", "text": "我在这里陪着你。"},
        {"event": "user", "text": "/affirm"},
    ]
    assert transcript_for(tickets, "12345:rest:nobody", events) == [
        ("person", "我不想活了"),
        ("bot", "我在这里陪着你。"),
    ]
