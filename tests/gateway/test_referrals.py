"""A referral stands when the person asks around it (bot/gateway/referrals.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.gateway import referrals
from bot.gateway.service import Gateway
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from tests.decisions import decided
from tests.gateway.fakes import FakeRasa, answers, msg

COURT = "去年的货款纠纷已经在法院立案了，拖了八个月没开庭，想请你们催一下法院"
FEEDBACK = [{"title": "有帮助", "payload": "/affirm"}, {"title": "还是想在这里反映", "payload": "/describe_problem"}]


def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
    """The court case is referred to 12368; 路灯 is a confident new matter; anything else unsure."""
    if text == COURT:
        return decided(Route.REFER, desk, channel="12368", entry_id="litigation", confidence=0.62)
    if "路灯" in text:
        return decided(Route.TICKET, desk, category="urban_management", confidence=0.55)
    if "电话" in text:
        return decided(Route.TICKET, desk, category="telecom_it", confidence=0.14)
    return decided(Route.CLARIFY, desk, confidence=0.2)


def rasa_answers(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A referral ends with the 'was that helpful?' buttons; inside a form the form's question comes back."""
    if payload["message"] == COURT:
        return [{"text": "这件事请联系12368诉讼服务热线。"}, {"text": "这样说清楚了吗？", "buttons": FEEDBACK}]
    return [{"text": "请问具体在什么地方？"}]


async def test_a_follow_up_question_after_a_referral_gets_the_referral_again_not_a_form(db: Engine) -> None:
    rasa = FakeRasa(reply=rasa_answers)
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg(COURT, "r1"))
    sent = len(rasa.sent)

    first = answers(await gateway.handle(msg("那我该找哪里？打给承办法官也没人接", "r2")))
    second = answers(await gateway.handle(msg("这个电话什么时间打得通？", "r3")))

    restated = referrals.restated("12345", "12368", "zh-Hans")
    assert [r.text for r in first + second] == [restated] * 2
    assert "12368诉讼服务热线" in restated and "您" in restated
    assert len(rasa.sent) == sent  # no generic "what would you like to ask?", no telecom ticket form
    assert gateway.store.previous_routes("12345:rest:u1", 1) == ["refer"]


async def test_a_confident_new_matter_after_a_referral_is_taken(db: Engine) -> None:
    rasa = FakeRasa(reply=rasa_answers)
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg(COURT, "n1"))
    await gateway.handle(msg("另外我家门口的路灯坏了一个星期了", "n2"))
    assert rasa.sent[-1]["message"] == "另外我家门口的路灯坏了一个星期了"


async def test_a_referral_answered_inside_a_form_leaves_the_next_answer_to_the_form(db: Engine) -> None:
    """The form asked "where?", the person asked about the court, the form's question came back: "不清楚"
    answers the form, it is not a follow-up to the referral."""

    def in_form(payload: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"text": "这件事请联系12368。"}, {"text": "请问具体在什么地方？"}]

    rasa = FakeRasa(reply=in_form)
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg(COURT, "f1"))
    await gateway.handle(msg("不清楚", "f2"))
    assert rasa.sent[-1]["message"] == "不清楚"


@pytest.mark.parametrize(
    ("desk", "language", "expected"),
    [
        ("12345", "zh-Hans", "12368诉讼服务热线"),
        ("12355", "zh-Hans", "12368诉讼服务热线"),
        ("12345", "en", "Court litigation services (12368)"),
        ("12355", "en", "Court litigation services (12368)"),
    ],
)
def test_the_restated_referral_names_the_channel_in_the_desks_voice(desk: str, language: str, expected: str) -> None:
    text = referrals.restated(desk, "12368", language)
    assert expected in text
    if language == "zh-Hans":
        assert ("您" in text) is (desk == "12345") and ("你" in text) is (desk == "12355")


def test_a_channel_without_a_number_is_named_as_it_is() -> None:
    assert referrals.channel_label("xinfang", "zh-Hans") == "信访部门"
    assert referrals.channel_label("local-9", "en") == "local-9"  # added by a deployment, not described
