"""The whole app with its 微信客服 (WeCom) channel, against the local fake WeCom (tools/fake_wechat.py).

Everything travels over real HTTP on 127.0.0.1: the fake posts signed, encrypted `kf_msg_or_event`
callbacks, the app pulls with `kf/sync_msg` and answers with `kf/send_msg` on the fake's API, the
database is a real SQLite file that survives a restart of the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette

from bot import privacy_notice
from bot.app import create_app
from bot.channels.wechat_kf import KfDesk
from bot.db.engine import make_engine
from bot.gateway.models import InboundMessage, OutboundMessage, WeChatKfCursor
from bot.settings import Settings
from tests.channels.test_wechat import WeChatRasa, wait_for
from tests.decisions import crisis_when, no_risk
from tests.support.servers import ThreadedServer, serve_in_thread
from tools.fake_wechat import FakeWeChat

DESK = "12355"  # a youth centre with 微信客服 and no Official Account
USER = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
NOTICE = privacy_notice.notice(DESK)
CID = f"{DESK}:wechat_kf:{USER}"


class Door:
    """The running app (uvicorn on 127.0.0.1) with desk 12355 on the fake WeCom."""

    def __init__(self, app: Starlette, server: ThreadedServer, engine: Engine) -> None:
        self.app, self.server, self.engine = app, server, engine

    @property
    def desk(self) -> KfDesk:
        desk: KfDesk = self.app.state.wechat_kf_desks[DESK]
        return desk

    def count(self, model: Any) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())

    def close(self) -> None:
        self.server.stop(timeout=10)
        self.engine.dispose()


@pytest.fixture
def rasa() -> Iterator[WeChatRasa]:
    fake = WeChatRasa()
    server = fake.serve()
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def wecom() -> Iterator[FakeWeChat]:
    fake = FakeWeChat()
    server = serve_in_thread(fake.app())
    fake.port = server.port
    yield fake
    server.stop(timeout=5)


@pytest.fixture
def door(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rasa: WeChatRasa, wecom: FakeWeChat
) -> Iterator[Callable[..., Door]]:
    doors: list[Door] = []

    def open_door(screen: Callable[..., Any] = no_risk) -> Door:
        monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("FRONTDOOR_RASA_URL", f"http://127.0.0.1:{rasa.port}")
        monkeypatch.delenv("FRONTDOOR_RASA_TOKEN", raising=False)
        monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=24h,12355=24h")
        monkeypatch.setenv("FRONTDOOR_WECHAT_KF_API_BASE", f"http://127.0.0.1:{wecom.port}")
        for part, value in {
            "CORPID": wecom.corp_id,
            "SECRET": wecom.kf_secret,
            "OPEN_KFID": wecom.open_kfid,
            "TOKEN": wecom.kf_token,
            "AES_KEY": wecom.kf_aes_key,
        }.items():
            monkeypatch.setenv(f"FRONTDOOR_WECHAT_KF_{DESK}_{part}", value)
        settings = Settings()
        app = create_app(settings, decide=screen)
        server = serve_in_thread(app)
        wecom.kf_callback_url = f"{server.url}/wechat-kf/{DESK}"
        opened = Door(app, server, make_engine(settings.database_url))
        doors.append(opened)
        return opened

    yield open_door
    for opened in doors:
        opened.close()


def settle(seconds: float = 1.0) -> None:
    """Anything sent twice would have arrived by now."""
    time.sleep(seconds)


# --- the callback ---------------------------------------------------------------------------------
def test_url_verification_answers_the_decrypted_echostr_only_when_signed(
    door: Callable[..., Door], wecom: FakeWeChat
) -> None:
    door()
    answer = wecom.verify_kf_url("echo-from-wecom-77")
    assert answer.status_code == 200 and answer.text == "echo-from-wecom-77"
    forged = wecom.verify_kf_url("echo-from-wecom-77", token="not-the-token")
    assert forged.status_code == 403 and "echo-from-wecom-77" not in forged.text


def test_a_callback_signed_with_another_token_is_refused_and_nothing_is_pulled(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    settle(0.5)  # the catch-up pull at start
    pulls = wecom.kf_syncs
    wecom.kf_token = "another-token"
    delivery = wecom.kf_send(USER, "你好")
    assert [a.status for a in delivery.attempts] == [403, 403, 403, 403]
    settle(0.5)
    assert wecom.kf_syncs == pulls and opened.count(InboundMessage) == 0 and rasa.received == []


# --- a conversation -------------------------------------------------------------------------------
def test_a_conversation_end_to_end_greeting_notice_and_a_ticket(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    delivery = wecom.kf_send(USER, "你好")
    assert [a.status for a in delivery.attempts] == [200] and delivery.attempts[0].body == "success"
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    assert wecom.kf_texts_to(USER) == [NOTICE, "回声：你好\n\n回复数字选择：\n1. 有帮助"]
    assert rasa.received[-1]["sender"] == CID and rasa.received[-1]["message"] == "你好"

    wecom.kf_send(USER, "1")  # the numbered option: its payload goes to Rasa
    wait_for(lambda: len(rasa.received) == 2)
    assert rasa.received[-1]["message"] == "/affirm"

    wecom.kf_send(USER, "紧急工单")  # Rasa's form files an urgent ticket: the person hears its number
    wait_for(lambda: any("12345-0001" in t for t in wecom.kf_texts_to(USER)))
    settle()
    texts = wecom.kf_texts_to(USER)
    assert texts.count(NOTICE) == 1 and sum("12345-0001" in t for t in texts) == 1
    assert opened.count(InboundMessage) == 3 and wecom.kf_refused == []
    with opened.engine.connect() as connection:
        rows = connection.execute(
            select(OutboundMessage.delivery, OutboundMessage.status).where(OutboundMessage.conversation_id == CID)
        ).all()
    assert rows and all(tuple(r) == ("queue", "sent") for r in rows)


def test_a_crisis_gets_the_desks_emergency_numbers_through_send_msg(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    door(screen=crisis_when("不想活"))
    rasa.silent = True  # even with Rasa giving nothing, the gateway's own crisis answer goes out
    started = time.monotonic()
    wecom.kf_send(USER, "我真的不想活了")
    wait_for(lambda: any("12356" in t for t in wecom.kf_texts_to(USER)))
    assert time.monotonic() - started < 5.0
    crisis = next(t for t in wecom.kf_texts_to(USER) if "12356" in t)
    assert "110" in crisis and "120" in crisis
    assert NOTICE not in wecom.kf_texts_to(USER)[:1]  # a crisis answer goes first, alone


def test_a_servicers_messages_and_pictures_are_not_the_persons_words(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    wecom.kf_servicer_says(USER, "您好，我是接待人员")
    wecom.kf_send(USER, "路灯坏了")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    settle(0.5)
    assert [r["message"] for r in rasa.received] == ["路灯坏了"] and opened.count(InboundMessage) == 1


# --- exactly once -----------------------------------------------------------------------------------
def test_duplicate_callbacks_create_no_second_answer(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    wecom.kf_send(USER, "路灯坏了")
    for _ in range(3):  # WeCom posts the event again (a retry, a second event for the same message)
        wecom.kf_callback()
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    settle(1.5)
    assert wecom.kf_texts_to(USER) == [NOTICE, "回声：路灯坏了\n\n回复数字选择：\n1. 有帮助"]
    assert len(rasa.received) == 1 and opened.count(InboundMessage) == 1


def test_the_cursor_survives_a_restart_and_no_message_is_answered_twice(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    first = door()
    wecom.kf_send(USER, "第一句")
    wecom.kf_send(USER, "第二句")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 3)
    settle()
    with first.engine.connect() as connection:
        assert connection.execute(select(WeChatKfCursor.cursor)).scalar_one() == "c2"
    first.close()

    wecom.kf_send(USER, "停机时写的")  # the app is down: WeCom's callback fails, the message waits in WeCom
    second = door()  # same database: the catch-up pull starts from the stored cursor
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 4)
    wecom.kf_send(USER, "第三句")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 5)
    settle()
    assert [r["message"] for r in rasa.received] == ["第一句", "第二句", "停机时写的", "第三句"]
    assert wecom.kf_texts_to(USER)[1:] == [
        f"回声：{m}\n\n回复数字选择：\n1. 有帮助" for m in ["第一句", "第二句", "停机时写的", "第三句"]
    ]
    assert second.count(InboundMessage) == 4


def test_a_cursor_from_before_a_crash_pulls_again_without_a_second_answer(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    """The process died after writing the messages but before storing the cursor: pulled again, answered once."""
    first = door()
    wecom.kf_send(USER, "第一句")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    settle()
    first.close()
    with first.engine.begin() as connection:  # as if the cursor had never been stored
        connection.execute(WeChatKfCursor.__table__.delete())
    second = door()
    wait_for(lambda: wecom.kf_syncs >= 2)
    settle(1.5)
    assert [r["message"] for r in rasa.received] == ["第一句"] and len(wecom.kf_texts_to(USER)) == 2
    assert second.count(InboundMessage) == 1


def test_a_pull_wecom_refuses_is_made_again_later_and_answered_once(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa
) -> None:
    opened = door()
    opened.desk.retry_pull = 0.3
    settle(0.5)  # the catch-up pull at start
    wecom.kf_busy = 2  # WeCom answers -1 twice: the pull is made again, later each time
    wecom.kf_send(USER, "路灯坏了")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    settle()
    assert wecom.kf_busy == 0 and len(rasa.received) == 1 and opened.count(InboundMessage) == 1


# --- the window and the token -----------------------------------------------------------------------
def test_a_staff_reply_after_48_hours_is_shown_as_undeliverable(door: Callable[..., Door], wecom: FakeWeChat) -> None:
    opened = door()
    wecom.kf_send(USER, "路灯坏了")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    wecom.kf_age_window(USER, hours=49)  # WeCom's clock says 49 h since the person wrote
    opened.app.state.gateway.staff_reply(CID, "您好，我们已派人去修。", "staff-1")
    wait_for(lambda: opened.app.state.gateway.store.undeliverable(CID))
    shown = opened.app.state.gateway.store.undeliverable(CID)
    assert [(m["text"], m["source"]) for m in shown] == [("您好，我们已派人去修。", "staff")]
    assert shown[0]["reason"].startswith("wechat_kf 95002")
    assert [r["errcode"] for r in wecom.kf_refused] == [95002]


def test_a_session_a_servicer_holds_is_95018_undeliverable(door: Callable[..., Door], wecom: FakeWeChat) -> None:
    opened = door()
    wecom.kf_send(USER, "路灯坏了")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    wecom.kf_servicer_holds.add(USER)
    opened.app.state.gateway.staff_reply(CID, "您好？", "staff-1")
    wait_for(lambda: opened.app.state.gateway.store.undeliverable(CID))
    assert opened.app.state.gateway.store.undeliverable(CID)[0]["reason"].startswith("wechat_kf 95018")


def test_the_sixth_message_after_the_persons_last_is_not_sent(door: Callable[..., Door], wecom: FakeWeChat) -> None:
    opened = door()
    wecom.kf_send(USER, "路灯坏了")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)  # the notice and the answer: 2 of 5
    for n in range(4):
        opened.app.state.gateway.staff_reply(CID, f"第{n + 1}条", "staff-1")
    wait_for(lambda: opened.app.state.gateway.store.undeliverable(CID))
    assert wecom.kf_texts_to(USER)[2:] == ["第1条", "第2条", "第3条"]
    assert "95001" in opened.app.state.gateway.store.undeliverable(CID)[0]["reason"]
    assert wecom.kf_refused == []  # our own count stopped it before WeCom had to


def test_one_access_token_from_gettoken_serves_every_call_and_an_expired_one_is_renewed(
    door: Callable[..., Door], wecom: FakeWeChat
) -> None:
    door()
    wecom.kf_send(USER, "路灯坏了")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 2)
    assert wecom.kf_token_fetches == 1
    wecom.expire_kf_tokens()  # WeCom says 42001 on the next call: the holder fetches a new one
    wecom.kf_send(USER, "还在吗")
    wait_for(lambda: len(wecom.kf_texts_to(USER)) >= 3)
    assert wecom.kf_token_fetches == 2 and wecom.kf_texts_to(USER)[-1].startswith("回声：还在吗")


def test_callbacks_are_not_refused_by_the_per_address_limit(
    door: Callable[..., Door], wecom: FakeWeChat, rasa: WeChatRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "2/60")
    door()
    deliveries = [wecom.kf_send(f"wm_burst_{n}", "路灯坏了") for n in range(5)]
    assert [[a.status for a in d.attempts] for d in deliveries] == [[200]] * 5
    wait_for(lambda: len(rasa.received) == 5)
