"""The whole app with its WeChat channel, against the local fake WeChat (tools/fake_wechat.py) and a fake Rasa.

Everything travels over real HTTP on 127.0.0.1: the fake signs (and encrypts) callbacks and retries
like WeChat, the app's customer-service messages and token fetches go to the fake's API.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot import privacy_notice
from bot.app import create_app
from bot.channels.telegram import NOT_TEXT
from bot.channels.wechat import TEXT_LIMIT_BYTES, WeChatDesk
from bot.db.engine import make_engine
from bot.gateway.models import InboundMessage, OutboundMessage, WeChatWindow, utcnow
from bot.settings import Settings
from tests.channels.fake_rasa import FakeRasaServer
from tests.decisions import crisis_when, no_risk
from tests.support.servers import ThreadedServer, serve_in_thread
from tools.fake_wechat import FakeWeChat, random_aes_key

DESK = "12345"
USER = "o_user_aaaaaaaaaaaaaaaaaaaaaa"
LONG = "很长的回答。" * 500  # 3,000 characters, 9,000 UTF-8 bytes
CRISIS_SCRIPT = "你的安全最重要。请现在就拨打心理援助热线12356，或110、120。我已经通知工作人员。"
NOTICE = privacy_notice.notice(DESK)
"""A conversation's first answer starts with the privacy notice (bot/privacy_notice.py)."""


def after_notice(text: str | None) -> str | None:
    """A passive reply without the first contact's notice in front of it."""
    return text[len(NOTICE) :].lstrip("\n") if text is not None and text.startswith(NOTICE) else text


def sent_after_notice(texts: list[str]) -> list[str]:
    """Customer-service messages without the first contact's notice (sent as its own message)."""
    return [t for t in texts if t != NOTICE]


BUTTONS = [{"title": "查询进度", "payload": "/check_status"}, {"title": "我要反映", "payload": "/report"}]


class WeChatRasa(FakeRasaServer):
    """The shared fake Rasa plus: the crisis script, a 3,000-character answer, buttons, and a slow answer."""

    slow_seconds: float = 6.0

    async def webhook(self, request: Request) -> JSONResponse:
        payload = await request.json()
        message, sender = str(payload["message"]), payload["sender"]
        if message == "/crisis":
            self.received.append(payload)
            return JSONResponse([{"recipient_id": sender, "text": CRISIS_SCRIPT}])
        if message == "长答":
            self.received.append(payload)
            return JSONResponse([{"recipient_id": sender, "text": LONG}])
        if message == "选择":
            self.received.append(payload)
            return JSONResponse([{"recipient_id": sender, "text": "您想办理哪一项？", "buttons": BUTTONS}])
        if message.startswith("慢"):
            self.received.append(payload)
            await asyncio.sleep(self.slow_seconds)
            return JSONResponse([{"recipient_id": sender, "text": f"回声：{message}"}])
        return await super().webhook(request)


class Door:
    """The running app (uvicorn on 127.0.0.1) with desk 12345 on the fake WeChat."""

    def __init__(self, app: Starlette, server: ThreadedServer, engine: Engine) -> None:
        self.app, self.server, self.engine = app, server, engine

    @property
    def desk(self) -> WeChatDesk:
        desk: WeChatDesk = self.app.state.wechat_desks[DESK]
        return desk

    def count(self, model: Any) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def rasa() -> Iterator[WeChatRasa]:
    fake = WeChatRasa()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    fake = FakeWeChat(aes_key=random_aes_key())
    server = serve_in_thread(fake.app())
    fake.port = server.port
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def door(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rasa: WeChatRasa, wechat: FakeWeChat
) -> Iterator[Callable[..., Door]]:
    servers: list[ThreadedServer] = []

    def open_door(screen: Callable[..., Any] = no_risk, safe: bool = True, previous_key: str | None = None) -> Door:
        monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("FRONTDOOR_RASA_URL", f"http://127.0.0.1:{rasa.port}")
        monkeypatch.delenv("FRONTDOOR_RASA_TOKEN", raising=False)
        monkeypatch.setenv("FRONTDOOR_WECHAT_API_BASE", f"http://127.0.0.1:{wechat.port}")
        monkeypatch.setenv(f"FRONTDOOR_WECHAT_{DESK}_APPID", wechat.app_id)
        monkeypatch.setenv(f"FRONTDOOR_WECHAT_{DESK}_SECRET", wechat.secret)
        monkeypatch.setenv(f"FRONTDOOR_WECHAT_{DESK}_TOKEN", wechat.token)
        if safe and wechat.aes_key:
            monkeypatch.setenv(f"FRONTDOOR_WECHAT_{DESK}_AES_KEY", wechat.aes_key)
        else:
            wechat.aes_key = None
        if previous_key:
            monkeypatch.setenv(f"FRONTDOOR_WECHAT_{DESK}_AES_KEY_PREVIOUS", previous_key)
        settings = Settings()
        app = create_app(settings, decide=screen)
        server = serve_in_thread(app)
        servers.append(server)
        wechat.callback_url = f"{server.url}/wechat/{DESK}"
        return Door(app, server, make_engine(settings.database_url))

    yield open_door
    for server in servers:
        server.stop(timeout=10)


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# --- the callback ---------------------------------------------------------------------------------
def test_url_verification_echoes_only_a_correctly_signed_check(door: Callable[..., Door], wechat: FakeWeChat) -> None:
    door()
    assert wechat.verify_url("echo-7788").text == "echo-7788"
    forged = httpx.get(
        wechat.callback_url, params={"signature": "0" * 40, "timestamp": "1", "nonce": "n", "echostr": "x"}
    )
    assert forged.status_code == 403 and "x" not in forged.text


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door(safe=False)
    wechat.token = "not-the-apps-token"  # the fake now signs with another Token
    delivery = wechat.text(USER, "路灯坏了")
    assert [a.status for a in delivery.attempts] == [403, 403, 403, 403]  # WeChat retries, all refused
    assert opened.count(InboundMessage) == 0 and rasa.received == []


def test_safe_mode_round_trip_with_an_encrypted_passive_reply(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    door()
    delivery = wechat.text(USER, "路灯坏了")
    assert len(delivery.attempts) == 1 and delivery.attempts[0].status == 200
    assert "<Encrypt>" in delivery.attempts[0].body and "回声" not in delivery.attempts[0].body  # encrypted
    assert delivery.reply is not None and after_notice(delivery.text) == "回声：路灯坏了\n\n回复数字选择：\n1. 有帮助"
    assert delivery.reply["ToUserName"] == USER and delivery.reply["MsgType"] == "text"
    assert rasa.received[-1]["sender"] == f"{DESK}:wechat:{USER}"


def test_after_a_key_rotation_the_previous_key_still_decrypts(door: Callable[..., Door], wechat: FakeWeChat) -> None:
    old, new = wechat.aes_key, random_aes_key()
    wechat.aes_key = new
    door(previous_key=old)
    wechat.aes_key, wechat.reply_key = old, new  # a message WeChat encrypted before the rotation
    assert wechat.text(USER, "你好").text is not None
    wechat.aes_key = new
    assert wechat.text(USER, "还在吗").text is not None


def test_voice_recognition_subscribe_and_menu_click_go_through_the_gateway(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    assert wechat.voice(USER, "我家楼下路灯坏了").text is not None
    assert wechat.event(USER, "subscribe", create_time=1_700_000_000).text is not None
    assert wechat.event(USER, "CLICK", key="查询进度").text is not None
    assert wechat.event(USER, "unsubscribe").text is None  # nothing to answer
    assert [r["message"] for r in rasa.received] == ["我家楼下路灯坏了", "你好", "查询进度"]
    # an event repeated with the same FromUserName + CreateTime is the same event
    wechat.event(USER, "subscribe", create_time=1_700_000_000)
    assert len(rasa.received) == 3 and opened.count(InboundMessage) == 3


# --- the 5-second rule ----------------------------------------------------------------------------
def test_a_slow_answer_goes_out_once_through_customer_service_and_retries_make_no_second(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    opened.desk.passive_budget = 3.0
    wechat.timeout = 0.5  # WeChat gives up on each attempt before the app answers: all 3 retries happen
    rasa.slow_seconds = 4.0
    delivery = wechat.text(USER, "慢慢说")
    assert [a.status for a in delivery.attempts] == [None, None, None, None] and delivery.reply is None
    wait_for(lambda: sent_after_notice(wechat.texts_to(USER)))
    time.sleep(1.5)  # anything doubled would have arrived by now
    assert wechat.texts_to(USER) == [NOTICE, "回声：慢慢说"]
    assert [r["message"] for r in rasa.received] == ["慢慢说"]
    assert opened.count(InboundMessage) == 1
    with opened.engine.connect() as connection:
        rows = connection.execute(select(OutboundMessage.delivery, OutboundMessage.status)).all()
    assert [tuple(r) for r in rows] == [("queue", "sent")] * 2  # the first contact's notice and the answer, once each


def test_a_slow_answer_within_wechats_patience_is_success_then_a_customer_service_message(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    opened.desk.passive_budget = 1.0
    rasa.slow_seconds = 2.0
    started = time.monotonic()
    delivery = wechat.text(USER, "慢一点")
    assert len(delivery.attempts) == 1 and delivery.attempts[0].body == "success"
    assert time.monotonic() - started < 2.0
    wait_for(lambda: sent_after_notice(wechat.texts_to(USER)) == ["回声：慢一点"])


def test_a_crisis_gets_its_numbers_in_the_passive_reply_within_5_seconds(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    door(screen=crisis_when("不想活"))
    started = time.monotonic()
    delivery = wechat.text(USER, "我真的不想活了")
    elapsed = time.monotonic() - started
    assert len(delivery.attempts) == 1 and elapsed < 5.0
    assert delivery.text == CRISIS_SCRIPT and "12356" in delivery.text
    assert rasa.received[-1]["message"] == "/crisis"  # the gateway's decision, safety first


# --- buttons, long answers ------------------------------------------------------------------------
def test_buttons_are_numbered_options_and_a_number_selects_one(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    door()
    assert (
        after_notice(wechat.text(USER, "选择").text) == "您想办理哪一项？\n\n回复数字选择：\n1. 查询进度\n2. 我要反映"
    )
    assert wechat.text(USER, "2").text is not None
    assert rasa.received[-1]["message"] == "/report"
    wechat.text(USER, "9")  # no such option: the words as they are
    assert rasa.received[-1]["message"] == "9"


def test_a_3000_character_answer_is_split_under_wechats_limit(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    door()
    delivery = wechat.text(USER, "长答")
    assert delivery.text is not None
    wait_for(lambda: len(sent_after_notice([delivery.text, *wechat.texts_to(USER)])) >= 5)
    time.sleep(0.5)
    parts = sent_after_notice([delivery.text, *wechat.texts_to(USER)])
    assert len(parts) == 5 and wechat.refused == []
    assert all(len(p.encode("utf-8")) <= TEXT_LIMIT_BYTES for p in parts)
    assert "".join(parts) == LONG


# --- staff replies and the customer-service window -------------------------------------------------
def _conversation() -> str:
    return f"{DESK}:wechat:{USER}"


def _failed_rows(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(OutboundMessage.status, OutboundMessage.last_error).where(OutboundMessage.source == "staff")
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_a_staff_reply_goes_out_through_customer_service(door: Callable[..., Door], wechat: FakeWeChat) -> None:
    opened = door()
    wechat.text(USER, "路灯坏了")
    opened.app.state.gateway.staff_reply(_conversation(), "您好，我们已派人去修。", "staff-1")
    wait_for(lambda: wechat.texts_to(USER) == ["您好，我们已派人去修。"])
    wait_for(lambda: _failed_rows(opened.engine) == [("sent", None)])


def test_45015_from_wechat_marks_the_staff_reply_undeliverable(door: Callable[..., Door], wechat: FakeWeChat) -> None:
    opened = door()
    wechat.text(USER, "路灯坏了")
    wechat.age_window(USER, hours=49)  # WeChat's own clock says 49 h since the person wrote
    opened.app.state.gateway.staff_reply(_conversation(), "您好，我们已派人去修。", "staff-1")
    wait_for(lambda: _failed_rows(opened.engine) and _failed_rows(opened.engine)[0][0] == "failed")
    _, error = _failed_rows(opened.engine)[0]
    assert error is not None and "45015" in error and "undeliverable" in error
    assert [r["errcode"] for r in wechat.refused] == [45015] and wechat.texts_to(USER) == []
    shown = opened.app.state.gateway.store.undeliverable(_conversation())
    assert [(m["text"], m["source"]) for m in shown] == [("您好，我们已派人去修。", "staff")]
    assert shown[0]["reason"].startswith("wechat 45015")


def test_after_48_hours_the_app_does_not_even_try(door: Callable[..., Door], wechat: FakeWeChat) -> None:
    opened = door()
    wechat.text(USER, "路灯坏了")
    with opened.engine.begin() as connection:
        connection.execute(update(WeChatWindow).values(last_inbound_at=utcnow() - timedelta(hours=49)))
    opened.app.state.gateway.staff_reply(_conversation(), "您好？", "staff-1")
    wait_for(lambda: _failed_rows(opened.engine) and _failed_rows(opened.engine)[0][0] == "failed")
    assert "45015" in (_failed_rows(opened.engine)[0][1] or "") and wechat.refused == []


def test_the_sixth_message_after_the_persons_last_is_45047(door: Callable[..., Door], wechat: FakeWeChat) -> None:
    opened = door()
    wechat.text(USER, "路灯坏了")
    for n in range(6):
        opened.app.state.gateway.staff_reply(_conversation(), f"第{n + 1}条", "staff-1")
    wait_for(lambda: [s for s, _ in _failed_rows(opened.engine)].count("failed") == 1)
    assert wechat.texts_to(USER) == [f"第{n}条" for n in range(1, 6)]
    assert "45047" in (_failed_rows(opened.engine)[-1][1] or "")


def test_success_is_said_only_once_the_message_is_written(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    """The database is busy past the first attempt: 503 (WeChat retries), then `success` and one answer."""
    opened = door()
    opened.desk.passive_budget, opened.desk.ack_limit = 1.0, 2.0
    locked = threading.Event()

    def hold_the_write_lock() -> None:  # another writer holds SQLite's write lock for 3 s
        connection = sqlite3.connect(str(opened.engine.url.database), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(3.0)
        connection.rollback()
        connection.close()

    blocker = threading.Thread(target=hold_the_write_lock)
    blocker.start()
    locked.wait(5)
    delivery = wechat.text(USER, "路灯坏了")
    blocker.join()
    assert [a.status for a in delivery.attempts][:1] == [503] and delivery.attempts[-1].status == 200
    assert delivery.reply is None and delivery.attempts[-1].body == "success"
    wait_for(lambda: wechat.texts_to(USER))
    time.sleep(1.0)
    assert sent_after_notice(wechat.texts_to(USER)) == ["回声：路灯坏了\n\n回复数字选择：\n1. 有帮助"]
    assert opened.count(InboundMessage) == 1 and len(rasa.received) == 1


def test_a_picture_gets_a_request_for_words_and_nothing_is_stored(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    image = {**wechat._base(USER, "image"), "PicUrl": "http://example.invalid/a.jpg", "MediaId": "m", "MsgId": 77}
    assert wechat.deliver(image).text == NOT_TEXT
    assert opened.count(InboundMessage) == 0 and rasa.received == []


def test_a_burst_from_wechats_one_address_is_not_refused_by_the_per_address_limit(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every person's message comes from Tencent's few servers: a per-address cap refused real people
    (429 four times, then WeChat gives up: the message is lost). Each person is limited per conversation."""
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "2/60")
    opened = door()
    deliveries = [wechat.text(f"o_burst_{n}", "路灯坏了") for n in range(5)]
    assert [[a.status for a in d.attempts] for d in deliveries] == [[200]] * 5
    assert all(d.text for d in deliveries) and opened.count(InboundMessage) == 5


def test_a_message_not_written_before_wechat_gives_up_is_still_answered(
    door: Callable[..., Door], wechat: FakeWeChat, rasa: WeChatRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite stays locked past WeChat's patience (4 attempts) and past several of the gateway's
    tries (busy timeout 1 s here): the message is tried again in the background, written once the
    lock goes, and answered as a customer-service message. Never lost, never twice."""
    monkeypatch.setattr("bot.db.engine.SQLITE_BUSY_TIMEOUT_MS", 1000)
    opened = door()
    opened.desk.passive_budget, opened.desk.ack_limit = 0.5, 0.8
    wechat.timeout = 1.0
    locked = threading.Event()

    def hold_the_write_lock() -> None:
        connection = sqlite3.connect(str(opened.engine.url.database), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(9.0)
        connection.rollback()
        connection.close()

    blocker = threading.Thread(target=hold_the_write_lock)
    blocker.start()
    locked.wait(5)
    delivery = wechat.text(USER, "路灯坏了")
    assert delivery.reply is None and all(a.status != 200 for a in delivery.attempts)  # WeChat gave up
    blocker.join()
    wait_for(lambda: sent_after_notice(wechat.texts_to(USER)), timeout=20.0)
    time.sleep(1.0)
    assert sent_after_notice(wechat.texts_to(USER)) == ["回声：路灯坏了\n\n回复数字选择：\n1. 有帮助"]
    assert opened.count(InboundMessage) == 1 and len(rasa.received) == 1
