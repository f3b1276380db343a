"""The whole app with its real python-telegram-bot client, against a local fake Bot API and a fake Rasa."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from bot import privacy_notice
from bot.app import create_app
from bot.channels.telegram import (
    NOT_TEXT,
    TELEGRAM_MAX_CHARS,
    YOUTH_NOT_TEXT,
    PacedRateLimiter,
    split_message,
)
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.models import OutboundMessage, TelegramUpdate
from bot.settings import Settings
from bot.tickets.repository import TicketStore
from bot.triage.decision import Decision
from tests.channels.fake_rasa import FakeRasaServer
from tests.channels.fake_telegram import FakeTelegram
from tests.decisions import crisis_when, no_risk
from tests.support.console import staff_reply

TOKEN = "123:TEST"
SECRET = "webhook-secret_1"
STAFF_CHAT = -100777
DoorOpener = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def rasa() -> Iterator[FakeRasaServer]:
    fake = FakeRasaServer()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def door(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, telegram: FakeTelegram, rasa: FakeRasaServer) -> DoorOpener:
    """Opens the app (as a context manager) with the Telegram bot of desk 12345 wired to the fakes."""
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", "telegram-test-secret-key-0123456789")
    monkeypatch.setenv("FRONTDOOR_RASA_URL", f"http://127.0.0.1:{rasa.port}")
    monkeypatch.setenv("FRONTDOOR_TELEGRAM_TOKEN_12345", TOKEN)
    monkeypatch.setenv("FRONTDOOR_TELEGRAM_BASE_URL", f"http://127.0.0.1:{telegram.port}")
    monkeypatch.setenv("FRONTDOOR_TELEGRAM_STAFF_CHAT_ID", str(STAFF_CHAT))
    monkeypatch.delenv("FRONTDOOR_RASA_TOKEN", raising=False)

    @contextmanager
    def open_door(webhook: bool = False, screen: Callable[..., Decision] = no_risk) -> Iterator[TestClient]:
        if webhook:
            monkeypatch.setenv("FRONTDOOR_TELEGRAM_WEBHOOK_URL", "https://frontdoor.example.org")
            monkeypatch.setenv("FRONTDOOR_TELEGRAM_WEBHOOK_SECRET", SECRET)
        with TestClient(create_app(Settings(), decide=screen)) as client:
            yield client

    return open_door


def wait(fake: FakeTelegram, condition: Callable[[], object], timeout: float = 20.0) -> None:
    fake.wait_for(condition, timeout)


def rows(tmp_path: Path, model: type[Any]) -> list[Any]:
    engine = make_engine(f"sqlite:///{tmp_path / 'frontdoor.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(model).order_by(model.id)))
    finally:
        engine.dispose()


# --- polling -----------------------------------------------------------------------------------
def test_text_message_is_answered_with_an_inline_keyboard(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends(7, "路灯坏了")
        wait(telegram, lambda: telegram.texts_to(7))
    assert telegram.texts_to(7) == ["回声：路灯坏了"]
    [answer] = [m for m in telegram.sent if m["text"] == "回声：路灯坏了"]
    assert answer["reply_markup"]["inline_keyboard"][0][0] == {"text": "有帮助", "callback_data": "/affirm"}
    assert telegram.notices_to(7) == [privacy_notice.notice("12345")]  # before the first answer, once


def test_button_press_is_acknowledged_and_handled(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends(8, "你好")  # the fake Rasa's answer offers the button /affirm
        wait(telegram, lambda: telegram.texts_to(8))
        telegram.user_presses(8, "/affirm")
        wait(telegram, lambda: len(telegram.texts_to(8)) == 2)
    assert telegram.answered_callbacks
    assert telegram.texts_to(8) == ["回声：你好", "回声：/affirm"]


def test_start_greets_through_the_bot_and_help_is_local(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends(9, "/start")
        telegram.user_sends(9, "/help")
        wait(telegram, lambda: len(telegram.texts_to(9)) == 2)
    assert "回声：你好" in telegram.texts_to(9)
    assert any("/cancel" in t for t in telegram.texts_to(9))
    texts = telegram.all_texts_to(9)  # /help is answered locally, at any moment; /start's notice before its greeting
    assert texts.index(privacy_notice.notice("12345")) < texts.index("回声：你好")


def test_start_shows_the_privacy_notice_every_time_and_other_messages_once(
    door: DoorOpener, telegram: FakeTelegram
) -> None:
    with door():
        telegram.user_sends(19, "路灯坏了")
        wait(telegram, lambda: telegram.texts_to(19))
        telegram.user_sends(19, "还有一件事")
        wait(telegram, lambda: len(telegram.texts_to(19)) == 2)
        telegram.user_sends(19, "/start")
        wait(telegram, lambda: len(telegram.texts_to(19)) == 3)
    assert telegram.texts_to(19) == ["回声：路灯坏了", "回声：还有一件事", "回声：你好"]
    all_texts = telegram.all_texts_to(19)
    assert telegram.notices_to(19) == [privacy_notice.notice("12345")] * 2
    assert all_texts.index("回声：你好") == all_texts.index("回声：还有一件事") + 2  # the notice right before it


def test_sticker_gets_a_polite_request_for_text(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends_sticker(10)
        wait(telegram, lambda: telegram.texts_to(10))
    assert telegram.texts_to(10) == [NOT_TEXT]


def test_the_youth_desk_bot_answers_help_and_stickers_as_ni(
    door: DoorOpener, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_TELEGRAM_TOKEN_12345")
    monkeypatch.setenv("FRONTDOOR_TELEGRAM_TOKEN_12355", TOKEN)  # the same fake server, now 12355's bot
    with door():
        telegram.user_sends_sticker(11)
        telegram.user_sends(11, "/help")
        wait(telegram, lambda: len(telegram.texts_to(11)) == 2)
    texts = telegram.texts_to(11)
    [help_text] = [t for t in texts if "/cancel" in t]
    assert YOUTH_NOT_TEXT in texts and "老师" in help_text
    assert not any("您" in t for t in texts)


def test_long_reply_is_split_under_the_limit(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends(11, "长")
        wait(telegram, lambda: len(telegram.texts_to(11)) >= 2)
    assert all(len(t) <= TELEGRAM_MAX_CHARS for t in telegram.texts_to(11))
    assert "".join(telegram.texts_to(11)) == "很长的回答。" * 1000


def test_flood_control_429_is_retried_after_retry_after(door: DoorOpener, telegram: FakeTelegram) -> None:
    telegram.fail_next_sends_with_429 = 1
    with door():
        telegram.user_sends(12, "你好")
        wait(telegram, lambda: telegram.texts_to(12), timeout=30)
    assert telegram.texts_to(12) == ["回声：你好"]


def test_duplicate_update_is_answered_once(door: DoorOpener, telegram: FakeTelegram, rasa: FakeRasaServer) -> None:
    with door():
        update_id = telegram.user_sends(13, "第一条")
        wait(telegram, lambda: telegram.texts_to(13))
        telegram.redeliver(update_id)
        telegram.user_sends(13, "第二条")  # a later update proves the redelivered one was fetched and dropped
        wait(telegram, lambda: len(telegram.texts_to(13)) >= 2)
        time.sleep(0.3)
    assert telegram.texts_to(13) == ["回声：第一条", "回声：第二条"]
    assert [p["message"] for p in rasa.received] == ["第一条", "第二条"]


def test_failed_send_is_retried_from_the_outbound_queue(
    door: DoorOpener, telegram: FakeTelegram, tmp_path: Path
) -> None:
    telegram.fail_next_sends_with_500 = 2  # a Telegram outage: PTB raises NetworkError
    with door():
        telegram.user_sends(14, "你好")
        wait(telegram, lambda: telegram.texts_to(14), timeout=30)
        time.sleep(0.3)
    assert telegram.texts_to(14) == ["回声：你好"]
    sent = [r for r in rows(tmp_path, OutboundMessage) if r.conversation_id == "12345:telegram:14"]
    # the privacy notice goes first and met the outage; the answer waited behind it, in order
    assert [(r.source, r.status, r.attempts, r.delivery) for r in sent] == [
        ("notice", "sent", 2, "queue"),
        ("bot", "sent", 0, "queue"),
    ]


def test_queued_messages_and_journalled_updates_survive_a_restart(
    door: DoorOpener, telegram: FakeTelegram, tmp_path: Path
) -> None:
    with door():
        telegram.user_sends(15, "你好")
        wait(telegram, lambda: telegram.texts_to(15))
    # while the app is down: a staff reply is queued and an update was journalled but never handled
    engine = make_engine(f"sqlite:///{tmp_path / 'frontdoor.db'}")
    migrate(engine)
    with Session(engine) as session:
        session.add(
            OutboundMessage(
                conversation_id="12345:telegram:15",
                text="工作人员：已派单",
                source="staff",
                delivery="queue",
                status="pending",
            )
        )
        unhandled = telegram.user_sends(15, "还在吗", update_id=99_999)
        session.add(TelegramUpdate(desk="12345", update_id=unhandled, payload=telegram.update(unhandled)))
        session.commit()
    engine.dispose()
    telegram.updates.clear()  # Telegram itself no longer has it
    with door():
        wait(telegram, lambda: len(telegram.texts_to(15)) == 3)
    assert telegram.texts_to(15) == ["回声：你好", "工作人员：已派单", "回声：还在吗"]


# --- staff -------------------------------------------------------------------------------------
def test_staff_reply_is_pushed_to_the_telegram_chat(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door() as client:
        telegram.user_sends(16, "转人工")
        wait(telegram, lambda: telegram.texts_to(16))
        url = Settings().database_url
        engine = make_engine(url)
        ticket = TicketStore(engine).create_ticket(
            desk="12345",
            route="ticket",
            conversation_id="12345:telegram:16",
            channel="telegram",
            idempotency_key="telegram-16",
            summary="转人工",
            sla_first_response_hours=4,
            sla_resolution_hours=72,
        )
        engine.dispose()
        staff_reply(client, url, ticket.id, "您好，我是小李", desks=("12345",))  # from the console's ticket page
        wait(telegram, lambda: len(telegram.texts_to(16)) == 2)
    assert telegram.texts_to(16)[-1] == "您好，我是小李"


def test_crisis_posts_an_alert_without_personal_content_to_the_staff_chat(
    door: DoorOpener, telegram: FakeTelegram
) -> None:
    with door(screen=crisis_when("不想活")):
        telegram.user_sends(17, "我不想活了，我电话13812345678")
        wait(telegram, lambda: telegram.texts_to(STAFF_CHAT) and telegram.texts_to(17))
        telegram.user_sends(17, "真的不想活了")  # a second alert within minutes would be noise
        wait(telegram, lambda: len(telegram.texts_to(17)) == 2)
        time.sleep(0.3)
    alerts = telegram.texts_to(STAFF_CHAT)
    assert len(alerts) == 1
    assert alerts[0].startswith("【危机预警】12345服务台 新危机会话") and "员工后台" in alerts[0]
    for personal in ("17", "telegram", "不想活", "138"):  # no chat id, conversation id, words or masked number
        assert personal not in alerts[0]


def test_urgent_ticket_from_an_action_alerts_the_staff_chat(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door():
        telegram.user_sends(18, "紧急工单")
        wait(telegram, lambda: telegram.texts_to(STAFF_CHAT))
    assert "12345-0001" in telegram.texts_to(STAFF_CHAT)[0]


def test_messages_in_the_staff_chat_are_not_sent_to_the_bot(
    door: DoorOpener, telegram: FakeTelegram, rasa: FakeRasaServer
) -> None:
    with door():
        telegram.user_sends(STAFF_CHAT, "我来处理17号")
        telegram.user_sends(19, "你好")
        wait(telegram, lambda: telegram.texts_to(19))
    assert [p["message"] for p in rasa.received] == ["你好"]


# --- webhook -----------------------------------------------------------------------------------
def test_webhook_needs_the_secret_token(door: DoorOpener, telegram: FakeTelegram) -> None:
    with door(webhook=True) as client:
        assert telegram.webhooks[0]["url"] == "https://frontdoor.example.org/telegram/12345"
        assert telegram.webhooks[0]["secret_token"] == SECRET
        update = telegram.update(telegram.user_sends(20, "你好"))
        assert client.post("/telegram/12345", json=update).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert client.post("/telegram/12345", json=update, headers=wrong).status_code == 403
        time.sleep(0.3)
    assert telegram.texts_to(20) == []


def test_webhook_update_is_journalled_before_200_and_answered_once(
    door: DoorOpener, telegram: FakeTelegram, rasa: FakeRasaServer, tmp_path: Path
) -> None:
    rasa.delay = 1.0
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    with door(webhook=True) as client:
        update = telegram.update(telegram.user_sends(21, "你好"))
        assert client.post("/telegram/12345", json=update, headers=headers).status_code == 200
        journal = rows(tmp_path, TelegramUpdate)
        assert [(j.update_id, j.status) for j in journal] == [(update["update_id"], "received")]
        assert telegram.texts_to(21) == []  # acknowledged long before the answer
        assert client.post("/telegram/12345", json=update, headers=headers).status_code == 200  # redelivered
        wait(telegram, lambda: telegram.texts_to(21))
        assert client.post("/telegram/12345", content=b"{not json", headers=headers).status_code == 400
        assert client.post("/telegram/99999", json=update, headers=headers).status_code == 404
        time.sleep(1.5)
    assert telegram.texts_to(21) == ["回声：你好"]
    assert len(rasa.received) == 1
    journal = rows(tmp_path, TelegramUpdate)
    assert [(j.status, j.payload) for j in journal] == [("handled", None)]  # the text is not kept twice


def test_webhook_is_404_when_not_configured(door: DoorOpener) -> None:
    with door() as client:
        assert client.post("/telegram/12345", json={"update_id": 1}).status_code == 404


# --- pieces ------------------------------------------------------------------------------------
async def test_sends_to_one_chat_are_paced_but_other_chats_are_not() -> None:
    limiter = PacedRateLimiter(chat_rate=10.0, chat_burst=2)  # 10/s after a burst of 2 (Telegram: about 1/s)
    stamps: dict[int, list[float]] = {1: [], 2: []}

    async def send(chat_id: int) -> bool:
        stamps[chat_id].append(time.monotonic())
        return True

    started = time.monotonic()
    await asyncio.gather(
        *(limiter.process_request(send, (chat,), {}, "sendMessage", {"chat_id": chat}, None) for chat in [1] * 6 + [2])
    )
    assert stamps[2][0] - started < 0.05
    assert stamps[1][-1] - started >= 0.35  # 6 messages: 2 at once, then 4 at 10/s


def test_split_prefers_sentence_ends() -> None:
    parts = split_message("句子。" * 3000, limit=100)
    assert all(len(p) <= 100 and p.endswith("。") for p in parts)
