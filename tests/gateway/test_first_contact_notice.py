"""The privacy notice at first contact (bot/privacy_notice.py): first in the first answer of every
conversation, once; never with a crisis or emergency answer, which goes out alone and unchanged."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from bot import privacy_notice
from bot.gateway import messages
from bot.gateway.service import Gateway, Inbound
from bot.language import ENGLISH, TRADITIONAL, to_traditional
from bot.triage.vocabulary import Route
from tests.decisions import decided, no_risk
from tests.gateway.fakes import FakeRasa, crisis_when, msg


async def test_the_first_answer_starts_with_the_notice_and_later_ones_do_not(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk)
    first = await gateway.handle(msg("你好", "m1", desk="12355"))
    assert [(r.text, r.source) for r in first] == [
        (privacy_notice.notice("12355"), privacy_notice.SOURCE),
        ("收到：你好", "bot"),
    ]
    second = await gateway.handle(msg("学习压力好大", "m2", desk="12355"))
    assert [r.text for r in second] == ["收到：学习压力好大"]
    restarted = Gateway(db, FakeRasa().client(), decide=no_risk)  # remembered in the database, not in memory
    assert [r.text for r in await restarted.handle(msg("还有", "m3", desk="12355"))] == ["收到：还有"]
    other = await gateway.handle(msg("你好", "m4", user="u2", desk="12355", channel="web"))
    assert other[0].text == privacy_notice.notice("12355")  # each conversation gets its own


async def test_the_notice_speaks_the_conversations_language_and_desk_voice(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk)
    english = await gateway.handle(msg("Hello, my landlord keeps my deposit", "e1"))
    assert english[0].text == privacy_notice.notice("12345", ENGLISH)
    traditional = await gateway.handle(msg("你好，我想問一下押金的事", "t1", user="u2", desk="12355"))
    assert traditional[0].text == to_traditional(privacy_notice.notice("12355", TRADITIONAL))


async def test_a_crisis_first_message_gets_help_alone_without_the_notice(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=crisis_when("不想活"))
    replies = await gateway.handle(msg("我不想活了", "c1", desk="12355"))
    assert privacy_notice.notice("12355") not in [r.text for r in replies]
    assert replies[0].text == "收到：/crisis"  # the crisis answer comes first and unchanged
    assert rasa.sent[0]["message"] == "/crisis"  # no delay: Rasa heard the crisis on the first message


async def test_an_emergency_answer_carries_no_notice_and_the_next_ordinary_answer_does(db: Engine) -> None:
    def decide(text: str, desk: str, history: object, language: str = "zh-Hans") -> object:
        if "着火" in text:
            return decided(Route.EMERGENCY, desk, channel="119")
        return no_risk(text, desk, [])

    gateway = Gateway(db, FakeRasa().client(), decide=decide)  # type: ignore[arg-type]
    emergency = await gateway.handle(msg("楼下着火了", "f1"))
    assert [r.text for r in emergency] == ["收到：/emergency" + json.dumps({"channel": "119"})]
    later = await gateway.handle(msg("谢谢，火灭了，想问下怎么申请补贴", "f2"))
    assert [r.source for r in later] == [privacy_notice.SOURCE, "bot"]


async def test_when_rasa_is_down_the_crisis_fallback_goes_alone_too(db: Engine) -> None:
    class Down(FakeRasa):
        async def handler(self, request: object) -> object:
            import httpx

            raise httpx.ConnectError("down")

    gateway = Gateway(db, Down().client(), decide=crisis_when("不想活"))
    replies = await gateway.handle(msg("我不想活了", "d1", desk="12355"))
    assert all(r.source != privacy_notice.SOURCE for r in replies)
    ordinary = await Gateway(db, Down().client(), decide=no_risk).handle(msg("路灯坏了", "d2", user="u9"))
    assert [r.text for r in ordinary] == [privacy_notice.notice("12345"), messages.backend_down("12345")]


async def test_telegram_start_shows_the_notice_again(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk)
    await gateway.handle(Inbound("12355", "telegram", "7", "你好", "s1"))
    again = await gateway.handle(Inbound("12355", "telegram", "7", "你好", "s2", notice=True))
    assert [r.source for r in again] == [privacy_notice.SOURCE, "bot"]
