"""A decline stands when the person pushes back (bot/gateway/declines.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine

from bot.gateway import declines
from bot.gateway.service import Gateway
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from tests.decisions import decided
from tests.gateway.fakes import FakeRasa, answers, msg

MATCHMAKING = "我儿子三十五了还没对象，你们政府能不能给介绍一个"


def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
    """The matchmaking request is declined; 路灯 is a confident new matter; anything else an unsure ticket guess."""
    if text == MATCHMAKING:
        return decided(Route.DECLINE, desk, entry_id="wishing_well", confidence=0.7)
    if "路灯" in text:
        return decided(Route.TICKET, desk, category="urban_management", confidence=0.55)
    return decided(Route.TICKET, desk, category="market_consumer", confidence=0.16)


async def test_push_back_after_a_decline_gets_the_decline_again_and_no_form(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg(MATCHMAKING, "p1"))
    sent = len(rasa.sent)

    first = answers(await gateway.handle(msg("你们不是为人民服务吗？我这是实际困难", "p2")))
    second = answers(await gateway.handle(msg("那你说上哪儿找靠谱的？外面婚介所老骗钱", "p3")))

    assert [r.text for r in first + second] == [declines.restated("12345", "zh-Hans")] * 2
    assert len(rasa.sent) == sent  # Rasa never started the ticket form
    assert gateway.store.previous_routes("12345:rest:u1", 1) == ["decline"]


async def test_a_confident_new_matter_after_a_decline_is_taken(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg(MATCHMAKING, "n1"))

    await gateway.handle(msg("另外我家门口的路灯坏了一个星期了", "n2"))

    assert rasa.sent[-1]["message"] == "另外我家门口的路灯坏了一个星期了"


async def test_an_unsure_ticket_guess_without_a_decline_before_goes_on_as_usual(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg("外面婚介所老骗钱", "u1"))
    assert rasa.sent[-1]["message"] == "外面婚介所老骗钱"


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (["decline"], True),
        (["faq", "clarify", "decline"], True),
        (["faq", "clarify", "smalltalk", "decline"], False),  # longer ago than the window
        (["ticket", "decline"], False),  # a form began since: this may be its answer
        ([], False),
    ],
)
def test_the_window_and_a_form_begun_since(previous: list[str], expected: bool) -> None:
    unsure = decided(Route.TICKET, "12345", category="civil_affairs", confidence=0.15)
    assert declines.stands(unsure, previous) is expected
    sure = decided(Route.TICKET, "12345", category="civil_affairs", confidence=0.6)
    assert not declines.stands(sure, previous)


@pytest.mark.parametrize("desk", ["12345", "12355"])
def test_the_restated_decline_speaks_the_desks_voice_and_language(desk: str) -> None:
    you, other = ("您", "你") if desk == "12345" else ("你", "您")
    text = declines.restated(desk, "zh-Hans")
    assert you in text and other not in text and "登记" in text
    english = declines.restated(desk, "en")
    assert desk in english and not any("\u4e00" <= ch <= "\u9fff" for ch in english)
