"""Several matters in one message: split, ask which first, file one, offer the next (bot/gateway/matters.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.gateway import matters
from bot.gateway.service import Decide, Gateway
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from tests.decisions import decided
from tests.gateway.fakes import FakeRasa, answers, msg

TWO = "我要反映两个问题：一是小区电梯经常坏，二是物业乱收停车费"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (TWO, ["小区电梯经常坏", "物业乱收停车费"]),
        ("1. 路灯坏了半个月 2. 垃圾没人清运", ["路灯坏了半个月", "垃圾没人清运"]),
        (
            "Two issues: the street light outside building 3 is broken, and also the landlord keeps my deposit",
            ["the street light outside building 3 is broken", "the landlord keeps my deposit"],
        ),
        ("电梯坏了，还有人被困过", ["电梯坏了，还有人被困过"]),  # one matter, two sentences
        (  # 第三 of a school's name is no enumeration
            "两个事：一是玉山镇第三小学乱收材料费，没有收据；二是楼下培训班没挂牌子，消防通道都堵了",
            ["玉山镇第三小学乱收材料费，没有收据", "楼下培训班没挂牌子，消防通道都堵了"],
        ),
    ],
)
def test_a_message_is_split_at_its_enumeration_words(text: str, parts: list[str]) -> None:
    assert matters.split(text) == parts


def test_several_needs_a_category_for_every_part_and_says_so_or_differs() -> None:
    assert matters.several(["电梯坏", "停车费乱收"], ["housing", "housing"], TWO)  # the person said "两个问题"
    assert not matters.several(["电梯坏", "有人被困"], ["housing", "housing"], "电梯坏，还有人被困")
    assert matters.several(["室友偷东西", "房东扣押金"], ["theft", "deposit"], "室友偷东西，另外房东扣押金")
    assert not matters.several(["室友偷东西", "谢谢"], ["theft", None], "室友偷东西，还有谢谢")


@pytest.mark.parametrize(
    ("answer", "index"),
    [("先说电梯吧", 0), ("第二个", 1), ("2", 1), ("停车费", 1), ("都行", 0), ("second", 1), ("先說電梯", 0)],
)
def test_the_choice_is_read_from_numbers_ordinals_and_the_matters_words(answer: str, index: int) -> None:
    assert matters.read_choice(answer, ["小区电梯经常坏", "物业乱收停车费"]) == index


def test_an_answer_that_picks_nothing_is_not_a_choice() -> None:
    assert matters.read_choice("你们几点下班", ["小区电梯经常坏", "物业乱收停车费"]) is None


@pytest.mark.parametrize("desk", ["12345", "12355"])
def test_the_questions_speak_in_the_desks_voice_and_language(desk: str) -> None:
    you, other = ("您", "你") if desk == "12345" else ("你", "您")
    text, buttons = matters.ask_which(desk, ["小区电梯经常坏", "物业乱收停车费"], "zh-Hans")
    assert you in text and other not in text and "1. 小区电梯经常坏" in text and len(buttons) == 2
    offer, _ = matters.offer_next(desk, "物业乱收停车费", "zh-Hans")
    assert you in offer and other not in offer and "物业乱收停车费" in offer
    english, titles = matters.ask_which(desk, ["the light", "the deposit"], "en")
    assert english.startswith("You mentioned 2 matters") and titles[1]["title"] == "Start with 2"


def categorised(**categories: str) -> Decide:
    """A ticket in the category named by the first keyword found in the text."""

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        category = next((c for word, c in categories.items() if word in text), None)
        return decided(Route.TICKET, desk, category=category) if category else decided(Route.CLARIFY, desk)

    return decide


def filing(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa as the form would answer: a question, or - for "确认" - the ticket with its number."""
    if payload["message"] == "确认":
        return [{"text": "已为您登记，工单号：12345-1。"}, {"custom": {"ticket_filed": "12345-1"}}]
    return [{"text": f"请问具体在什么地方？（{payload['message']}）"}]


async def test_two_matters_are_taken_one_at_a_time_and_the_second_is_offered(db: Engine) -> None:
    rasa = FakeRasa(reply=filing)
    gateway = Gateway(db, rasa.client(), decide=categorised(电梯="housing", 停车="parking"))

    asked = answers(await gateway.handle(msg(TWO, "m1")))
    assert [r.source for r in asked] == [matters.SOURCE_CHOICE] and rasa.sent == []
    assert "1. 小区电梯经常坏" in asked[0].text and "2. 物业乱收停车费" in asked[0].text

    await gateway.handle(msg("先说电梯吧", "m2"))
    assert rasa.sent[-1]["message"] == "小区电梯经常坏"  # Rasa hears the chosen matter alone
    assert rasa.sent[-1]["metadata"]["decision"]["category"] == "housing"

    filed = await gateway.handle(msg("确认", "m3"))
    assert filed[-1].source == matters.SOURCE_OFFER and "物业乱收停车费" in filed[-1].text

    await gateway.handle(msg("好的", "m4"))
    assert rasa.sent[-1]["message"] == "物业乱收停车费"
    assert rasa.sent[-1]["metadata"]["decision"]["category"] == "parking"
    assert gateway.store.pending_matters("12345:rest:u1") is None


async def test_no_to_the_offer_is_thanked_and_nothing_more_is_asked(db: Engine) -> None:
    rasa = FakeRasa(reply=filing)
    gateway = Gateway(db, rasa.client(), decide=categorised(电梯="housing", 停车="parking"))
    await gateway.handle(msg(TWO, "n1"))
    await gateway.handle(msg("第一个", "n2"))
    await gateway.handle(msg("确认", "n3"))
    sent = len(rasa.sent)
    replies = await gateway.handle(msg("先不用", "n4"))
    assert [r.text for r in replies] == [matters.declined("12345", "zh-Hans")] and len(rasa.sent) == sent


async def test_one_matter_in_two_sentences_goes_to_rasa_as_it_is(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=categorised(电梯="housing"))
    await gateway.handle(msg("电梯坏了，还有人被困过", "o1"))
    assert rasa.sent[-1]["message"] == "电梯坏了，还有人被困过"


@pytest.mark.parametrize(
    ("signals", "filed_as_ticket"),
    [(("embedding:0.76",), True), (("lexicon:被困", "embedding:0.76"), False)],
)
async def test_the_chosen_matter_read_alone_is_an_emergency_only_on_its_own_words(
    db: Engine, signals: tuple[str, ...], filed_as_ticket: bool
) -> None:
    """The whole message passed the screen; "电梯又坏了…我妈82了天天在家出不去" alone scored 119 at 0.76
    in a fresh round. A learned score alone keeps the filing; a word of its own ("被困") is heeded."""
    text = "两个事：一是电梯又坏了我妈82了天天在家出不去，二是垃圾站好几天没人清"
    lift = "电梯又坏了我妈82了天天在家出不去"

    def decide(message: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if message == lift:  # the part, read alone
            return decided(Route.EMERGENCY, desk, channel="119", signals=signals, priority="urgent")
        if message == text:
            return decided(Route.TICKET, desk, category="urban_management")
        return decided(Route.TICKET, desk, category="urban_management" if "垃圾" in message else None)

    rasa = FakeRasa(reply=filing)
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg(text, "e1"))
    await gateway.handle(msg("先说电梯吧", "e2"))
    sent = rasa.sent[-1]
    if filed_as_ticket:
        assert sent["message"] == lift and sent["metadata"]["decision"]["route"] == "ticket"
    else:
        assert sent["message"].startswith("/emergency")
