"""Restart recovery (answered exactly once), the handoff slot watch, staff alerts, masked logs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.gateway import messages
from bot.gateway.models import ALERT_SOURCES, CRISIS_ALERT, InboundMessage, OutboundMessage
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Gateway
from tests.gateway.fakes import FakeRasa, answers, crisis_when, msg, no_risk, without_notice


def statuses(db: Engine) -> list[tuple[str, str]]:
    with Session(db) as session:
        return [(r.text, r.status) for r in session.scalars(select(InboundMessage).order_by(InboundMessage.id))]


async def test_a_message_received_before_a_crash_is_answered_once_after_restart(db: Engine) -> None:
    hung = Gateway(db, FakeRasa(delay=30).client(), decide=no_risk)
    task = asyncio.create_task(hung.handle(msg("路灯坏了", "k1", channel="web")))
    while statuses(db) != [("路灯坏了", "received")]:
        await asyncio.sleep(0.01)
    task.cancel()  # the process dies here: persisted, never answered

    rasa = FakeRasa()
    restarted = Gateway(db, rasa.client(), decide=no_risk)
    recovery = await restarted.start_recovery(wait_for_rasa=1)
    assert recovery is not None
    newer = asyncio.create_task(restarted.handle(msg("还有一件事", "k2", channel="web")))
    assert await recovery == 1
    await newer
    assert [p["message"] for p in rasa.sent] == ["路灯坏了", "还有一件事"]  # in order, once each
    queued = without_notice(restarted.queued_after("12345:web:u1", 0))
    assert [(m["text"], m["from"]) for m in queued] == [("收到：路灯坏了", "bot")]
    assert restarted.queued_after("12345:web:u1", queued[0]["id"]) == []
    # the browser resends the same message id when it reconnects: the stored answer, no second turn
    again = await restarted.handle(msg("路灯坏了", "k1", channel="web"))
    assert [r.text for r in answers(again)] == ["收到：路灯坏了"] and answers(again)[0].id == queued[0]["id"]
    assert len(rasa.sent) == 2
    assert await Gateway(db, rasa.client(), decide=no_risk).start_recovery() is None


async def test_recovery_still_answers_when_rasa_stays_down(db: Engine) -> None:
    Gateway(db, FakeRasa().client(), decide=no_risk).store.persist_inbound("12345", "web", "u1", "x1", "你好")
    gateway = Gateway(db, RasaClient("http://127.0.0.1:9", timeout=1), decide=no_risk)
    recovery = await gateway.start_recovery(wait_for_rasa=0.2)
    assert recovery is not None and await recovery == 1
    assert [m["text"] for m in without_notice(gateway.queued_after("12345:web:u1", 0))] == [
        messages.backend_down("12345")
    ]


async def test_handoff_asked_by_an_action_brings_in_staff_and_hand_back_resets_rasa(db: Engine) -> None:
    def reply(payload: dict[str, object]) -> list[dict[str, object]]:
        if payload["message"] == "转人工":
            return [{"text": "好的，马上为您转人工"}, {"custom": {"handoff": True, "reason": "asked"}}]
        return [{"text": "收到"}]

    rasa = FakeRasa(reply)
    gateway = Gateway(db, rasa.client(token="t"), decide=no_risk)
    await gateway.handle(msg("转人工", "h1"))
    conversation = gateway.conversation("12345:rest:u1")
    assert conversation is not None and (conversation.handoff, conversation.handoff_reason) == (True, "asked")
    assert (await gateway.handle(msg("在吗", "h2")))[0].text == messages.handed_to_staff("12345")
    gateway.set_handoff("12345:rest:u1", False)
    await gateway.handle(msg("谢谢", "h3"))
    assert rasa.slot_events == [
        (
            "12345:rest:u1",
            [
                {"event": "slot", "name": "handoff", "value": False},
                {"event": "slot", "name": "in_crisis", "value": False},
            ],
        )
    ]
    conversation = gateway.conversation("12345:rest:u1")
    assert conversation is not None and not conversation.handoff and not conversation.bot_reset_pending
    assert [p["message"] for p in rasa.sent] == ["转人工", "谢谢"]


async def test_with_the_action_server_down_rasa_is_not_asked(db: Engine) -> None:
    rasa = FakeRasa(lambda payload: [{"text": "抱歉，我没太明白。"}])  # what Rasa says without its actions
    gateway = Gateway(db, rasa.client(), decide=crisis_when("不想活"), action_server_url="http://127.0.0.1:9/webhook")
    assert [r.text for r in answers(await gateway.handle(msg("路灯坏了", "a1")))] == [messages.backend_down("12345")]
    crisis = (await gateway.handle(msg("我不想活了", "a2", user="u2")))[0].text
    assert "12356" in crisis and "110" in crisis
    assert rasa.sent == []
    await gateway.aclose()


class HealthServer:
    """A real HTTP server on loopback standing in for the action server's /health."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.gets = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(1024)
        if request.startswith(b"GET /health"):
            self.gets += 1
            writer.write(f"HTTP/1.1 {self.status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/webhook"

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_the_action_server_health_is_fetched_once_per_interval_but_a_stop_is_noticed_at_once(db: Engine) -> None:
    rasa = FakeRasa()
    health = HealthServer()
    async with health as url:
        gateway = Gateway(db, rasa.client(), decide=no_risk, action_server_url=url)
        for n in range(3):
            assert [r.text for r in answers(await gateway.handle(msg(f"路灯坏了{n}", f"h{n}")))] == [
                f"收到：路灯坏了{n}"
            ]
        assert health.gets == 1  # then only a TCP connect until the interval has passed
    down = await gateway.handle(msg("还在吗", "h9"))  # the server is gone: noticed on the very next message
    assert [r.text for r in down] == [messages.backend_down("12345")]
    assert len(rasa.sent) == 3
    await gateway.aclose()


async def test_an_action_server_health_error_counts_as_down(db: Engine) -> None:
    rasa = FakeRasa()
    async with HealthServer(status=503) as url:
        gateway = Gateway(db, rasa.client(), decide=no_risk, action_server_url=url)
        assert [r.text for r in answers(await gateway.handle(msg("路灯坏了", "e1")))] == [
            messages.backend_down("12345")
        ]
        await gateway.aclose()
    assert rasa.sent == []


async def test_crisis_alerts_the_staff_chat_once_and_hands_over(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=crisis_when("不想活"), staff_chat_id="-100")
    await gateway.handle(msg("我不想活了 我叫张三 电话13812345678", "c1", desk="12355"))
    await gateway.handle(msg("真的不想活了", "c2", desk="12355"))
    with Session(db) as session:
        alerts = session.scalars(select(OutboundMessage).where(OutboundMessage.source.in_(ALERT_SOURCES))).all()
        assert [(a.conversation_id, a.status, a.source) for a in alerts] == [
            ("12355:telegram_staff:-100", "pending", CRISIS_ALERT)
        ]
        # no personal content leaves the deployment (issue 19): not the words, not the conversation id
        assert (
            alerts[0].text == "【危机预警】12355服务台 新危机会话，已给出紧急求助电话，请值班人员立即到员工后台查看。"
        )
    conversation = gateway.conversation("12355:rest:u1")
    assert conversation is not None and (conversation.handoff, conversation.handoff_reason) == (True, "crisis")


async def test_without_a_staff_chat_the_alert_is_logged_masked(db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk)
    with caplog.at_level(logging.WARNING):
        assert await gateway.notify_staff("12345", "紧急：电话13812345678") is None
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text


async def test_personal_data_never_reaches_the_logs(db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    secret_texts = ["13812345678", "11010519491231002X", "张三丰"]
    text = "我叫张三丰，身份证11010519491231002X，电话13812345678，路灯坏了"
    with caplog.at_level(logging.DEBUG):
        await Gateway(db, FakeRasa().client(), decide=no_risk).handle(msg(text, "p1", user="13812345678"))
        down = Gateway(db, RasaClient("http://127.0.0.1:9", timeout=1), decide=crisis_when("路灯"))
        await down.handle(msg(text, "p2", user="13812345678"))
        await down.handle(msg(text, "p2", user="13812345678"))  # duplicate
    assert caplog.records
    for secret in secret_texts:
        assert secret not in caplog.text


async def test_a_crisis_ticket_from_an_action_makes_one_alert_with_its_number(db: Engine) -> None:
    def reply(payload: dict[str, object]) -> list[dict[str, object]]:
        return [
            {"text": "我在这里陪着你，请拨打12356。"},
            {"custom": {"handoff": True, "reason": "crisis", "urgent_ticket": "12355-20261123-0007"}},
        ]

    gateway = Gateway(db, FakeRasa(reply).client(), decide=crisis_when("不想活"), staff_chat_id="-100")
    await gateway.handle(msg("我不想活了", "t1", desk="12355"))
    with Session(db) as session:
        alerts = session.scalars(select(OutboundMessage.text).where(OutboundMessage.source.in_(ALERT_SOURCES))).all()
    assert len(alerts) == 1 and "危机" in alerts[0] and "工单 #12355-20261123-0007" in alerts[0]
    assert "不想活" not in alerts[0] and "rest:u1" not in alerts[0]
