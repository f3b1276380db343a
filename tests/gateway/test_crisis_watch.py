"""While a crisis waits for staff who are off duty (bot/gateway/crisis_watch.py): company, and standing
down when the person takes back what only the learned score read as a crisis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.gateway import crisis_watch, messages
from bot.gateway.service import Decide, Gateway
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from tests.decisions import decided, no_risk
from tests.gateway.fakes import FakeRasa, answers, msg

NIGHT = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 China time


@pytest.fixture
def night(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff of both desks work 09:00-18:00 and it is 03:00: nobody comes before morning."""
    from bot.gateway import service

    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=09:00-18:00,12355=09:00-18:00")
    monkeypatch.setattr(service, "utcnow", lambda: NIGHT)


def crisis_on(first: str, signals: tuple[str, ...]) -> Decide:
    """`first` is a crisis with these screen signals; everything else is ordinary."""

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if text == first:
            return decided(Route.CRISIS, desk, channel="12356", signals=signals, priority="urgent")
        return no_risk(text, desk, history)

    return decide


LEARNED = ("embedding:0.94",)
IN_WORDS = ("lexicon:不想活了", "embedding:0.97")
CONVERSATION = "12355:rest:u1"


async def test_a_joke_the_learned_score_took_for_a_crisis_is_taken_back_and_the_bot_carries_on(
    db: Engine, night: None
) -> None:
    rasa = FakeRasa()
    first = "月考又考炸了 我妈知道了会打死我的哈哈哈"
    gateway = Gateway(db, rasa.client(), decide=crisis_on(first, LEARNED))
    await gateway.handle(msg(first, "c1", desk="12355"))
    assert gateway.conversation(CONVERSATION).handoff  # type: ignore[union-attr]

    replies = answers(await gateway.handle(msg("开玩笑的啦 我妈就是会念叨一晚上 不会真打", "c2", desk="12355")))

    assert [r.text for r in replies] == [crisis_watch.stood_down("12355", "zh-Hans", "今天09:00")]
    assert "12356" in replies[0].text and "今天09:00" in replies[0].text
    conversation = gateway.conversation(CONVERSATION)
    assert conversation is not None and not conversation.handoff
    sent = len(rasa.sent)
    await gateway.handle(msg("最近学不进去 有没有心理老师能聊聊", "c3", desk="12355"))
    assert len(rasa.sent) == sent + 1 and rasa.sent[-1]["message"] == "最近学不进去 有没有心理老师能聊聊"


async def test_taking_back_crisis_words_is_thanked_but_staff_keep_the_conversation(db: Engine, night: None) -> None:
    first = "我不想活了"
    gateway = Gateway(db, FakeRasa().client(), decide=crisis_on(first, IN_WORDS))
    await gateway.handle(msg(first, "w1", desk="12355"))

    replies = answers(await gateway.handle(msg("开玩笑的 我没事", "w2", desk="12355")))

    assert [r.text for r in replies] == [crisis_watch.company("12355", "zh-Hans", "今天09:00", retracted=True)]
    assert gateway.conversation(CONVERSATION).handoff  # type: ignore[union-attr]


@pytest.mark.parametrize(("desk", "you"), [("12355", "你"), ("12345", "您")])
async def test_are_you_there_gets_the_truth_and_the_24_hour_line(db: Engine, night: None, desk: str, you: str) -> None:
    first = "我不想活了"
    gateway = Gateway(db, FakeRasa().client(), decide=crisis_on(first, IN_WORDS))
    await gateway.handle(msg(first, "a1", desk=desk))

    replies = answers(await gateway.handle(msg("你会一直在吗", "a2", desk=desk)))

    text = replies[0].text
    assert text == crisis_watch.company(desk, "zh-Hans", "今天09:00")
    assert text.startswith("我在") and "12356" in text and "今天09:00" in text and you in text
    assert text != messages.handed_to_staff(desk, "zh-Hans", "今天09:00")


@pytest.mark.parametrize("still_crisis", [False, True])
async def test_a_person_who_cannot_call_is_told_how_to_text_the_police(
    db: Engine, night: None, still_crisis: bool
) -> None:
    """ "我爸又喝醉了在砸门 说要打死我妈 我和妹妹躲在厕所里" then "不敢打电话 他会听到": "call 110" again is no
    help; the 12110 text-message alarm is (whether or not the screen reads the second message as a
    crisis too)."""
    first = "我爸又喝醉了在砸门 说要打死我妈 我和妹妹躲在厕所里"
    hiding = "不敢打电话 他会听到"

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if text == first or (still_crisis and text == hiding):
            return decided(Route.CRISIS, desk, channel="12356", signals=IN_WORDS, priority="urgent")
        return no_risk(text, desk, history)

    gateway = Gateway(db, FakeRasa().client(), decide=decide)
    await gateway.handle(msg(first, "h1", desk="12355"))
    replies = answers(await gateway.handle(msg(hiding, "h2", desk="12355")))
    assert [r.text for r in replies] == [crisis_watch.silent_help("12355", "zh-Hans")]
    assert "12110" in replies[0].text and "地址" in replies[0].text
    assert gateway.conversation(CONVERSATION).handoff  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "cannot"),
    [
        ("不敢打电话 他会听到", True),
        ("我唔敢打電話 佢會聽到", True),
        ("I can't call, he'll hear me", True),
        ("我打电话问过了", False),
        ("他老是打电话骂我", False),
    ],
)
def test_what_says_a_call_is_impossible(text: str, cannot: bool) -> None:
    assert crisis_watch.cannot_call(text) is cannot


async def test_in_hours_staff_own_the_conversation_and_the_usual_line_stays(db: Engine) -> None:
    """The conftest's staff work around the clock: a person is there, the bot does not chat."""
    first = "好累 不想待在这个世界了"
    gateway = Gateway(db, FakeRasa().client(), decide=crisis_on(first, LEARNED))
    await gateway.handle(msg(first, "d1", desk="12355"))

    replies = answers(await gateway.handle(msg("开玩笑的", "d2", desk="12355")))

    assert [r.text for r in replies] == [messages.handed_to_staff("12355", "zh-Hans", None)]
    assert gateway.conversation(CONVERSATION).handoff  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "takes_back"),
    [
        ("哈哈說笑的啦，我不會怎樣，只是真的很累", True),
        ("我没有想不开 我就是想有人跟我说说话", True),
        ("lol I was kidding, I'm fine", True),
        ("放心啦，我冇事，只係好嬲啫", True),
        ("今晚吧 等他们都睡了以后", False),
        ("你会一直在吗", False),
    ],
)
def test_what_takes_a_crisis_back(text: str, takes_back: bool) -> None:
    assert crisis_watch.retracts(text) is takes_back


def test_learned_only_means_no_crisis_word_or_pattern() -> None:
    assert crisis_watch.learned_only(["embedding:0.84"])
    assert crisis_watch.learned_only(["history", "history:embedding:0.70", "context:0.61"])
    assert not crisis_watch.learned_only(["lexicon:不想活了", "embedding:0.97"])
    assert not crisis_watch.learned_only(["pattern:想\\s*si"])
    assert not crisis_watch.learned_only(["history", "history:lexicon:割腕"])
    assert not crisis_watch.learned_only([])


def test_the_silent_help_speaks_each_desks_voice_and_english() -> None:
    assert "您" in crisis_watch.silent_help("12345", "zh-Hans") and "你" in crisis_watch.silent_help("12355", "zh-Hans")
    english = crisis_watch.silent_help("12355", "en")
    assert "12110" in english and not any("\u4e00" <= c <= "\u9fff" for c in english)


def test_the_english_lines_are_english() -> None:
    for text in (
        crisis_watch.stood_down("12355", "en", "09:00 today"),
        crisis_watch.company("12345", "en", "09:00 today"),
        crisis_watch.company("12355", "en", "09:00 today", retracted=True),
    ):
        assert "12356" in text and "09:00 today" in text and not any("\u4e00" <= ch <= "\u9fff" for ch in text)
