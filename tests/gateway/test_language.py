"""The conversation's language: computed by the gateway, stored, sent to Rasa, and applied on the way out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, migrate
from bot.gateway import messages
from bot.gateway.models import Conversation, OutboundMessage
from bot.gateway.outbound import for_person
from bot.gateway.service import Gateway
from bot.language import ENGLISH, METADATA_KEY, SIMPLIFIED, TRADITIONAL
from bot.triage.decision import Decision
from tests.decisions import decided
from tests.gateway.fakes import FakeRasa, answers, msg, no_risk

BUTTONS = [{"title": "查询工单进度", "payload": "/check_status"}, {"title": "转人工", "payload": "/ask_human"}]


def greeting(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"text": "您好，这里是12345政务服务便民热线的在线助手。", "buttons": BUTTONS}]


def stored_language(db: Engine, conversation_id: str = "12345:rest:u1") -> str:
    with Session(db) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.language


async def test_the_language_is_stored_and_sent_to_rasa_beside_the_decision(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    steps = [
        ("你好", SIMPLIFIED),
        ("My street light has been broken since last month", ENGLISH),
        ("ok", ENGLISH),  # not decisive: kept
        ("13812345678", ENGLISH),
        ("請問這個問題怎麼處理", TRADITIONAL),
        ("好的", TRADITIONAL),  # Chinese with no script marker keeps Traditional
        ("我们小区停水了", SIMPLIFIED),
    ]
    for i, (message, expected) in enumerate(steps):
        await gateway.handle(msg(message, f"m{i}"))
        assert stored_language(db) == expected, message
        assert rasa.sent[-1]["metadata"][METADATA_KEY] == expected
        assert "decision" in rasa.sent[-1]["metadata"]
    assert gateway.language("12345:rest:u1") == SIMPLIFIED
    assert gateway.language("12345:rest:nobody") == SIMPLIFIED


async def test_the_decision_is_made_in_the_conversations_language(db: Engine) -> None:
    seen: list[str] = []

    def decide(text: str, desk: str, history: Sequence[str], language: str = SIMPLIFIED) -> Decision:
        seen.append(language)
        return decided("ticket", desk)

    gateway = Gateway(db, FakeRasa().client(), decide=decide)
    await gateway.handle(msg("Hello, I need some help please", "e1"))
    await gateway.handle(msg("我想問一下", "e2"))
    assert seen == [ENGLISH, TRADITIONAL]


async def test_a_traditional_reader_gets_traditional_replies_and_button_titles(db: Engine) -> None:
    rasa = FakeRasa(reply=greeting)
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    replies = answers(await gateway.handle(msg("你好，我想問一下", "t1")))
    assert [r.text for r in replies] == ["您好，這裡是12345政務服務便民熱線的在線助手。"]
    assert replies[0].buttons == [
        {"title": "查詢工單進度", "payload": "/check_status"},
        {"title": "轉人工", "payload": "/ask_human"},
    ]
    with Session(db) as session:  # the row holds what was sent
        row = session.scalars(select(OutboundMessage).where(OutboundMessage.source != "notice")).one()
        assert row.text == replies[0].text and row.buttons == replies[0].buttons
    assert rasa.sent[0]["message"] == "你好，我想問一下"  # what the person wrote goes to Rasa as written


async def test_simplified_and_english_readers_get_the_text_as_written(db: Engine) -> None:
    rasa = FakeRasa(reply=greeting)
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    replies = answers(await gateway.handle(msg("你好，我想问一下", "s1")))
    assert replies[0].text == "您好，这里是12345政务服务便民热线的在线助手。"
    assert replies[0].buttons == BUTTONS
    english = answers(await gateway.handle(msg("Hello, I need some help", "s2", user="u2")))
    assert english[0].text == "您好，这里是12345政务服务便民热线的在线助手。"  # never machine-translated


async def test_the_gateways_own_messages_speak_the_conversations_language(db: Engine) -> None:
    class Down(FakeRasa):
        async def handler(self, request: Any) -> Any:
            import httpx

            raise httpx.ConnectError("down")

    gateway = Gateway(db, Down().client(), decide=no_risk)
    english = answers(await gateway.handle(msg("My landlord will not return my deposit", "d1")))
    assert [r.text for r in english] == [messages.backend_down("12345", ENGLISH)]
    assert "Your message has been saved" in english[0].text and "110" in english[0].text
    traditional = answers(await gateway.handle(msg("我的押金房東不退", "d2", user="u2")))
    assert (
        traditional[0].text
        == "抱歉，系統暫時有點忙，您的消息已經保存，沒有丟失。請稍後再發一次，或直接撥打12345熱線。緊急情況請撥打110/120。"
    )
    empty = await gateway.handle(msg("   ", "d3"))
    assert [r.text for r in empty] == [messages.empty_message("12345", ENGLISH)]


async def test_messages_during_a_handoff_speak_the_conversations_language(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk)
    await gateway.handle(msg("I would like to talk to a person please", "h1", desk="12355"))
    gateway.set_handoff("12355:rest:u1", True, "asked")
    replies = await gateway.handle(msg("ok", "h2", desk="12355"))
    assert [r.text for r in replies] == [messages.handed_to_staff("12355", ENGLISH)]


async def test_staff_replies_and_follow_ups_are_converted_for_a_traditional_reader(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk)
    await gateway.handle(msg("我想問一下", "q1"))
    cid = "12345:rest:u1"
    gateway.staff_reply(cid, "您好，这个问题已经转给负责的部门。", "alice")
    gateway.enqueue(cid, "请问问题解决了吗？", "followup", [{"title": "已解决", "payload": '/affirm{"x":"1"}'}])
    queued = gateway.queued_after(cid, 0)
    assert [(m["text"], m["buttons"]) for m in queued] == [
        ("您好，這個問題已經轉給負責的部門。", []),
        ("請問問題解決了嗎？", [{"title": "已解決", "payload": '/affirm{"x":"1"}'}]),
    ]


def test_staff_alerts_are_never_converted() -> None:
    assert for_person("【危机预警】会话", [], TRADITIONAL, "alert") == ("【危机预警】会话", [])
    assert for_person("这里", [{"title": "转人工", "payload": "/x"}], TRADITIONAL, "staff") == (
        "這裡",
        [{"title": "轉人工", "payload": "/x"}],
    )
    assert for_person("这里", None, ENGLISH) == ("这里", [])


def test_the_migration_adds_the_language_with_the_default_and_is_undone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lang.db'}"
    engine = make_engine(url)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004_lessons")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO gw_conversations (id, desk, channel, external_user, handoff, bot_reset_pending,"
                    " created_at, last_seen_at) VALUES ('12345:web:a', '12345', 'web', 'a', 0, 0,"
                    " '2026-01-01', '2026-01-01')"
                )
            )
        migrate(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT language FROM gw_conversations")).scalar() == SIMPLIFIED
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004_lessons")
        assert "language" not in {c["name"] for c in inspect(engine).get_columns("gw_conversations")}
        migrate(engine)
        assert "language" in {c["name"] for c in inspect(engine).get_columns("gw_conversations")}
    finally:
        engine.dispose()
