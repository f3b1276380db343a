"""The gateway's promises: persist first, dedupe, order, crisis first, never silent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot import language, privacy_notice
from bot.gateway import check_in, messages
from bot.gateway.models import InboundMessage, OutboundMessage
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Decide, Gateway
from bot.triage.decision import Decision
from bot.triage.replies import crisis_reply
from bot.triage.vocabulary import Route
from tests.decisions import close_to_crisis, decided
from tests.gateway.fakes import FakeRasa, answers, crisis_when, msg, no_risk


async def test_message_is_persisted_and_answered(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    replies = await gateway.handle(msg("路灯坏了", "m1"))
    assert [r.text for r in answers(replies)] == ["收到：路灯坏了"]
    with Session(db) as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert (inbound.text, inbound.status) == ("路灯坏了", "answered")
        stored = session.scalars(select(OutboundMessage.text)).all()
        assert stored == [privacy_notice.notice("12345"), "收到：路灯坏了"]  # the notice comes first, once
    assert rasa.sent[0]["sender"] == "12345:rest:u1"
    assert rasa.sent[0]["metadata"]["desk"] == "12345"


async def test_duplicate_delivery_gets_the_same_replies_without_a_second_turn(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    first = await gateway.handle(msg("你好", "dup-1"))
    second = await gateway.handle(msg("你好", "dup-1"))
    assert [r.text for r in second] == [r.text for r in first]
    assert len(rasa.sent) == 1


async def test_messages_of_one_conversation_are_handled_in_order(db: Engine) -> None:
    rasa = FakeRasa(delay=0.05)
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    await asyncio.gather(*(gateway.handle(msg(f"第{i}条", f"o{i}")) for i in range(5)))
    assert [p["message"] for p in rasa.sent] == [f"第{i}条" for i in range(5)]


async def test_crisis_reaches_rasa_as_the_crisis_intent(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=crisis_when("不想活"))
    await gateway.handle(msg("我真的不想活了", "c1"))
    assert rasa.sent[0]["message"] == "/crisis"
    sent = Decision.from_dict(rasa.sent[0]["metadata"]["decision"])  # what the actions will act on
    assert sent.route.value == "crisis" and sent.signals == ("lexicon:不想活",)


async def test_every_message_carries_the_gateway_decision_to_rasa(db: Engine) -> None:
    """The gateway decides once; the decision travels with the message, with the history it used."""
    seen: list[tuple[str, list[str]]] = []

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        seen.append((text, list(history)))
        return decided("faq", desk, faq_id="opening_hours", reply="周一至周五 9:00-17:00")

    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg("你好", "d1"))
    await gateway.handle(msg("几点上班", "d2"))
    assert seen == [("你好", []), ("几点上班", ["你好"])]
    sent = Decision.from_dict(rasa.sent[1]["metadata"]["decision"])
    assert sent == decided("faq", "12345", faq_id="opening_hours", reply="周一至周五 9:00-17:00")


async def test_a_failed_decision_sends_none_and_records_the_error(db: Engine) -> None:
    def broken(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        raise RuntimeError("model missing")

    rasa = FakeRasa()
    await Gateway(db, rasa.client(), decide=broken).handle(msg("你好", "e1"))
    assert "decision" not in rasa.sent[0]["metadata"]
    with Session(db) as session:
        assert session.scalars(select(InboundMessage)).one().safety == {
            "route": None,
            "channel": None,
            "signals": ["screen_error"],
        }


async def test_crisis_gets_the_numbers_when_rasa_is_down(db: Engine) -> None:
    gateway = Gateway(db, RasaClient("http://127.0.0.1:9", timeout=1), decide=crisis_when("不想活"))
    replies = await gateway.handle(msg("我真的不想活了", "c2", desk="12355"))
    assert "12356" in replies[0].text and "110" in replies[0].text and "12355" in replies[0].text
    # and the conversation now belongs to a human
    later = await gateway.handle(msg("还在吗", "c3", desk="12355"))
    assert later[0].text == messages.handed_to_staff("12355")


async def test_empty_rasa_answer_becomes_an_apology_with_next_steps(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa(reply=lambda p: []).client(), decide=no_risk)
    replies = await gateway.handle(msg("路灯坏了", "e1"))
    assert answers(replies)[0].text == messages.backend_down("12345")


async def test_slow_rasa_times_out_into_the_apology(db: Engine) -> None:
    slow = FakeRasa(delay=3)
    gateway = Gateway(db, slow.client(), decide=no_risk)
    replies = await gateway.handle(msg("路灯坏了", "s1"))
    assert answers(replies)[0].text == messages.backend_down("12345")


@pytest.mark.parametrize("text", ["", "   ", None, "\x00\x01"])
async def test_empty_input_is_answered_without_rasa(db: Engine, text: str | None) -> None:
    rasa = FakeRasa()
    replies = await Gateway(db, rasa.client(), decide=no_risk).handle(msg(text))
    assert answers(replies)[0].text == messages.empty_message("12345")
    assert rasa.sent == []


async def test_huge_message_is_cut_and_the_person_told(db: Engine) -> None:
    rasa = FakeRasa()
    replies = await Gateway(db, rasa.client(), decide=no_risk, max_chars=100).handle(msg("长" * 10_000))
    assert "100" in replies[0].text
    assert len(str(rasa.sent[0]["message"])) == 100


async def test_handoff_sends_messages_to_staff_not_rasa(db: Engine) -> None:
    rasa = FakeRasa(
        reply=lambda p: [{"text": "好的，马上为您转人工"}, {"custom": {"handoff": True, "reason": "asked"}}]
    )
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    await gateway.handle(msg("转人工", "h1"))
    replies = await gateway.handle(msg("我等着", "h2"))
    assert replies[0].text == messages.handed_to_staff("12345")
    assert len(rasa.sent) == 1
    gateway.set_handoff("12345:rest:u1", False)
    await gateway.handle(msg("谢谢", "h3"))
    assert len(rasa.sent) == 2


async def test_a_broken_safety_screen_does_not_silence_the_bot(db: Engine) -> None:
    def broken(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        raise RuntimeError("model missing")

    replies = await Gateway(db, FakeRasa().client(), decide=broken).handle(msg("你好"))
    assert answers(replies)[0].text == "收到：你好"


async def test_flood_is_rate_limited_politely_and_not_stored(db: Engine) -> None:
    from bot.gateway.models import InboundMessage
    from bot.gateway.service import Limited
    from bot.security.limits import BucketLimiter, Rate

    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk, rate_limiter=BucketLimiter(Rate(2, 60)))
    for i in range(2):
        await gateway.handle(msg(f"m{i}", f"k{i}"))
    with pytest.raises(Limited) as limited:
        await gateway.handle(msg("m2", "k2"))
    assert limited.value.replies[0].text == messages.rate_limited("12345")
    assert limited.value.retry_after > 0
    assert len(rasa.sent) == 2
    with Session(db) as session:
        assert [r.text for r in session.scalars(select(InboundMessage)).all()] == ["m0", "m1"]


async def test_a_message_just_under_the_crisis_bar_gets_a_check_in_once_an_hour(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    first = await gateway.handle(msg("最近好累，什么都不想做", "k1", desk="12355"))
    assert [r.text for r in answers(first)] == ["收到：最近好累，什么都不想做", messages.check_in("12355")]
    assert "12356" in first[-1].text and "12355" in first[-1].text
    assert rasa.sent[0]["message"] == "最近好累，什么都不想做"  # Rasa still answers the message itself
    await gateway.handle(msg("路灯坏了", "k1b", desk="12355"))
    again = await gateway.handle(msg("真的好累", "k2", desk="12355"))
    assert [r.text for r in again] == ["收到：真的好累"]  # not twice within the hour
    other = await gateway.handle(msg("好累", "k3", user="u2", desk="12355"))
    assert other[-1].text == messages.check_in("12355")  # every conversation gets its own
    calm = await gateway.handle(msg("路灯坏了", "k4", user="u3"))
    assert [r.text for r in answers(calm)] == ["收到：路灯坏了"]


async def test_the_check_in_hour_is_kept_in_the_database_across_a_restart(db: Engine) -> None:
    first = Gateway(db, FakeRasa().client(), decide=close_to_crisis("好累"))
    assert (await first.handle(msg("好累", "r1", desk="12355")))[-1].text == messages.check_in("12355")
    await first.handle(msg("没有", "r2", desk="12355"))
    restarted = Gateway(db, FakeRasa().client(), decide=close_to_crisis("好累"))
    again = await restarted.handle(msg("还是好累", "r3", desk="12355"))
    assert messages.check_in("12355") not in [r.text for r in again]
    with Session(db) as session:
        sources = session.scalars(select(OutboundMessage.source).order_by(OutboundMessage.id)).all()
    assert sources.count(check_in.SOURCE) == 1


def backdate_check_ins(db: Engine, by: timedelta) -> None:
    """Make the stored check-ins older, as if time had passed."""
    with Session(db) as session:
        for row in session.scalars(select(OutboundMessage).where(OutboundMessage.source == check_in.SOURCE)):
            row.created_at = row.created_at - by
        session.commit()


async def test_after_an_hour_the_check_in_may_come_again(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("好累", "t1", desk="12355"))
    backdate_check_ins(db, check_in.EVERY)
    assert (await gateway.handle(msg("今天也好累", "t2", desk="12355")))[-1].text == messages.check_in("12355")


@pytest.mark.parametrize("answer", ["有", "有過…", "嗯嗯有", "其实有过吧", "yes", "想过😢"])
async def test_yes_to_the_check_in_hands_the_person_to_a_human(db: Engine, answer: str) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("最近好累，什么都不想做", "y1", desk="12355"))
    await gateway.handle(msg(answer, "y2", desk="12355"))
    assert rasa.sent[-1]["message"] == "/crisis"
    assert "check-in-answer:yes" in rasa.sent[-1]["metadata"]["decision"]["signals"]
    conversation = gateway.store.conversation("12355:rest:u1")
    assert conversation is not None and conversation.handoff
    later = await gateway.handle(msg("还在吗", "y3", desk="12355"))
    assert later[0].text == messages.handed_to_staff("12355")


async def test_a_yes_the_screen_already_made_a_crisis_by_context_still_records_the_yes(db: Engine) -> None:
    """The screen may read "有" with the message before it and call it a crisis itself (a score that
    sits on the bar can land either side of it); staff must still see that the person said yes."""
    rasa = FakeRasa()
    close = close_to_crisis("好累")

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if text == "有":
            return decided(Route.CRISIS, desk, channel="12356", signals=("history", "context:0.56"), priority="urgent")
        return close(text, desk, history, language)

    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg("最近好累，什么都不想做", "c1", desk="12355"))
    await gateway.handle(msg("有", "c2", desk="12355"))
    assert rasa.sent[-1]["message"] == "/crisis"
    assert rasa.sent[-1]["metadata"]["decision"]["signals"] == ["history", "context:0.56", "check-in-answer:yes"]


async def test_a_no_to_the_check_in_is_not_made_a_crisis_by_the_words_before_it(db: Engine) -> None:
    """Read with the earlier message, "没有" can score over the crisis bar; the person's answer decides."""
    rasa = FakeRasa()
    close = close_to_crisis("好累")

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if text == "没有" and history:
            return decided(Route.CRISIS, desk, channel="12356", signals=("history", "context:0.56"), priority="urgent")
        return close(text, desk, history, language)

    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg("最近好累，什么都不想做", "d1", desk="12355"))
    replies = await gateway.handle(msg("没有", "d2", desk="12355"))
    assert replies[0].text.startswith(messages.check_in_no("12355", resuming=False)[:6])
    assert all(r.text != crisis_reply("12355") for r in replies)
    conversation = gateway.store.conversation("12355:rest:u1")
    assert conversation is not None and not conversation.handoff


def _asks_since(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"text": "这个问题大概是从什么时候开始的？"}]


@pytest.mark.parametrize(
    ("signals", "crisis"),
    [
        (("history", "context:0.66"), False),  # only the joint reading: decided as said
        (("short-in-context:0.20->0.61", "embedding:0.61"), False),
        (("history", "history:embedding:0.88", "context:0.60"), True),  # an earlier crisis signal keeps it
        (("lexicon:不想活", "history", "context:0.70"), True),  # its own crisis word keeps it
    ],
)
async def test_an_answer_to_the_bots_question_is_a_crisis_only_on_evidence_beyond_the_joint_reading(
    db: Engine, signals: tuple[str, ...], crisis: bool
) -> None:
    """ "昨天晚上" answering "since when?" after a sad account: each earlier message was screened when it
    came; read with them, the answer only repeats their score and must not become a crisis."""
    rasa = FakeRasa(_asks_since)

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if text == "昨天晚上" and history:
            return decided(Route.CRISIS, desk, channel="12356", signals=signals, priority="urgent")
        return decided(Route.TICKET, desk, signals=("top:counselling:0.6",))

    gateway = Gateway(db, rasa.client(), decide=decide)
    await gateway.handle(msg("室友总是笑我的口音，我很难受", "j1", desk="12355"))
    replies = await gateway.handle(msg("昨天晚上", "j2", desk="12355"))
    conversation = gateway.store.conversation("12355:rest:u1")
    assert conversation is not None
    assert conversation.handoff is crisis
    assert (rasa.sent[-1]["message"] == "/crisis") is crisis
    if not crisis:
        assert all(r.text != crisis_reply("12355") for r in replies)


@pytest.mark.parametrize("answer", ["好的", "嗯", "我想问一下怎么投诉学校乱收费"])
async def test_another_topic_after_the_check_in_goes_on_as_usual(db: Engine, answer: str) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("最近好累，什么都不想做", "n1", desk="12355"))
    await gateway.handle(msg(answer, "n2", desk="12355"))
    assert rasa.sent[-1]["message"] == answer
    conversation = gateway.store.conversation("12355:rest:u1")
    assert conversation is not None and not conversation.handoff


SINCE = {"text": "大概从什么时候开始的？", "buttons": [{"title": "记不清了", "payload": "/dont_know"}]}


def form_question(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa starting the ticket form: an intro, then the form's first question with a button."""
    return [{"text": "谢谢你告诉我这些（心理咨询）。"}, SINCE]


@pytest.mark.parametrize("answer", ["没有", "沒有啦", "不会", "还好", "no"])
async def test_a_no_to_the_check_in_is_not_taken_as_the_answer_to_the_form(db: Engine, answer: str) -> None:
    """Two questions were open (the form's, then the check-in); the no answers the check-in. The gateway
    thanks the person and asks the form's question again, buttons and all; Rasa never hears the no."""
    rasa = FakeRasa(reply=form_question)
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    first = await gateway.handle(msg("最近好累，什么都不想做", "n1", desk="12355"))
    assert [r.text for r in first][-2:] == [SINCE["text"], messages.check_in("12355")]

    replies = await gateway.handle(msg(answer, "n2", desk="12355"))

    # "沒有啦" is Traditional: the conversation is Traditional from then on, and so are the replies
    reader = language.conversation_language(None, answer)
    expected = [messages.check_in_no("12355", resuming=True), SINCE["text"]]
    assert [r.text for r in replies] == [language.for_reader(t, reader) for t in expected]
    assert [b["payload"] for b in replies[-1].buttons] == [b["payload"] for b in SINCE["buttons"]]
    assert [p["message"] for p in rasa.sent] == ["最近好累，什么都不想做"]
    conversation = gateway.store.conversation("12355:rest:u1")
    assert conversation is not None and not conversation.handoff
    # the next message is the form's answer again, and goes to Rasa
    await gateway.handle(msg("上个学期开始的", "n3", desk="12355"))
    assert rasa.sent[-1]["message"] == "上个学期开始的"


async def test_a_no_to_the_check_in_after_a_plain_answer_is_thanked(db: Engine) -> None:
    rasa = FakeRasa()  # the bot's answer asked nothing ("收到：…")
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("最近好累", "p1", desk="12355"))
    replies = await gateway.handle(msg("没有", "p2", desk="12355"))
    assert [r.text for r in replies] == [messages.check_in_no("12355", resuming=False)]
    assert len(rasa.sent) == 1


async def test_a_second_message_close_to_the_bar_after_the_check_in_is_a_crisis(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("最近好累", "d1", desk="12355"))
    await gateway.handle(msg("就是好累，说不上来", "d2", desk="12355"))
    assert rasa.sent[-1]["message"] == "/crisis"
    assert "check-in-answer:close-again" in rasa.sent[-1]["metadata"]["decision"]["signals"]


async def test_a_faint_second_message_after_the_check_in_goes_on_as_usual(db: Engine) -> None:
    """Only a second message at the engine's after-history bar escalates; the faint end of the band does not."""
    from bot.triage.tuning import DEFAULT_TUNING

    faint = DEFAULT_TUNING.check_in_threshold + 0.01
    assert faint < DEFAULT_TUNING.crisis_threshold_after_history
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累", faint))
    await gateway.handle(msg("最近好累", "f1", desk="12355"))
    await gateway.handle(msg("从初二开始就一直好累", "f2", desk="12355"))
    assert rasa.sent[-1]["message"] == "从初二开始就一直好累"


async def test_only_the_next_message_and_only_soon_counts_as_the_answer(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("最近好累", "w1", desk="12355"))
    await gateway.handle(msg("路灯坏了", "w2", desk="12355"))
    await gateway.handle(msg("有", "w3", desk="12355"))  # two messages later: an ordinary "有"
    assert rasa.sent[-1]["message"] == "有"
    await gateway.handle(msg("好累", "w4", user="u2", desk="12355"))
    backdate_check_ins(db, check_in.ANSWER_WINDOW + timedelta(minutes=1))
    await gateway.handle(msg("有", "w5", user="u2", desk="12355"))  # hours later: not the answer
    assert rasa.sent[-1]["message"] == "有"


async def test_a_short_answer_to_the_bots_question_never_gets_the_check_in(db: Engine) -> None:
    """ "上个月" after "大概从什么时候开始的？" answers the form: its crisis score is noise on a fragment."""
    rasa = FakeRasa(reply=form_question)
    fragments = ("上个月", "since last month")

    def decide(text: str, desk: str, history: Sequence[str]) -> Decision:
        if text in fragments:
            return decided(Route.TICKET, desk, signals=("top:counselling:0.40", "check-in:0.31"))
        return no_risk(text, desk, history)

    gateway = Gateway(db, rasa.client(), decide=decide)
    first = await gateway.handle(msg("楼上装修", "s1"))
    assert [r.text for r in answers(first)] == [r["text"] for r in form_question({})]
    for n, answer in enumerate(fragments):
        replies = await gateway.handle(msg(answer, f"s{n + 2}"))
        assert check_in.SOURCE not in [r.source for r in replies]


async def test_a_long_message_after_a_question_may_still_get_the_check_in(db: Engine) -> None:
    rasa = FakeRasa(reply=form_question)
    gateway = Gateway(db, rasa.client(), decide=close_to_crisis("好累"))
    await gateway.handle(msg("你好", "l1", desk="12355"))
    long = "上个学期开始的，每天都好累，什么都不想做，也不想跟任何人说话"
    replies = await gateway.handle(msg(long, "l2", desk="12355"))
    assert replies[-1].source == check_in.SOURCE


async def test_a_citizen_talking_inside_the_12345_form_is_not_asked_about_self_harm(db: Engine) -> None:
    """12345, a noise report being taken down: "倷帮我问问城管 能勿能管管伊 我八十岁了 吃勿消" at the
    contact question is about the matter; close to the bar or not, no self-harm question. The same
    words on 12355 may still get it (a counsellor would ask)."""
    long = "倷帮我问问城管 能勿能管管伊 我八十岁了 吃勿消 夜里一点钟还在划拳"
    for desk, asked in (("12345", False), ("12355", True)):
        rasa = FakeRasa(reply=form_question)
        gateway = Gateway(db, rasa.client(), decide=close_to_crisis(long))
        await gateway.handle(msg("楼下烧烤店每天夜里吵", f"c{desk}1", user=f"u{desk}", desk=desk))
        replies = await gateway.handle(msg(long, f"c{desk}2", user=f"u{desk}", desk=desk))
        assert (check_in.SOURCE in [r.source for r in replies]) is asked, desk


async def test_a_message_that_says_it_is_not_about_self_harm_gets_no_check_in(db: Engine) -> None:
    """ "我唔係想點，只係想搵人講吓點樣同佢哋傾" close to the bar: the person already said it is not that."""
    text = "我唔係想點，只係想搵人講吓點樣同佢哋傾，一講就嗌交"
    gateway = Gateway(db, FakeRasa().client(), decide=close_to_crisis(text))
    replies = await gateway.handle(msg(text, "r1", desk="12355"))
    assert check_in.SOURCE not in [r.source for r in replies]
    other = Gateway(db, FakeRasa().client(), decide=close_to_crisis("好累 跟家里一讲就吵"))
    replies = await other.handle(msg("好累 跟家里一讲就吵", "r2", user="u2", desk="12355"))
    assert replies[-1].source == check_in.SOURCE  # the same closeness without the reassurance is asked


@pytest.mark.parametrize("desk", ["12345", "12355"])
async def test_out_of_hours_the_check_in_promises_no_person(
    db: Engine, desk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 03:00 China time with staff on 09:00-18:00 nobody can come: the check-in says so, names when
    staff are back and puts the 24-hour line first; in hours it promises a person."""
    from bot.gateway import service

    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", f"{desk}=09:00-18:00")
    night = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 China time
    monkeypatch.setattr(service, "utcnow", lambda: night)
    gateway = Gateway(db, FakeRasa().client(), decide=close_to_crisis("好累"))
    replies = await gateway.handle(msg("最近好累，什么都不想做", "h1", desk=desk))
    text = replies[-1].text
    assert replies[-1].source == check_in.SOURCE
    assert text == messages.check_in(desk, back_at="今天09:00")
    assert "不在线" in text and "今天09:00" in text and "12356" in text
    assert "马上请" not in text


def test_the_check_in_speaks_in_the_desks_voice() -> None:
    assert "您" in messages.check_in("12345") and "你" not in messages.check_in("12345")
    assert "你" in messages.check_in("12355") and "您" not in messages.check_in("12355")
    for resuming in (True, False):
        assert "您" in messages.check_in_no("12345", resuming) and "你" not in messages.check_in_no("12345", resuming)
        assert "你" in messages.check_in_no("12355", resuming) and "您" not in messages.check_in_no("12355", resuming)
    english = messages.check_in("12345", language="en")
    assert "12356" in english and not any("\u4e00" <= ch <= "\u9fff" for ch in english)


def learned_crisis_on(*fragments: str) -> Decide:
    """The learned score alone puts these messages over the crisis bar (no crisis word)."""

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if text in fragments:
            return decided(Route.CRISIS, desk, signals=("embedding:0.93",), priority="urgent")
        return no_risk(text, desk, history)

    return decide


async def test_a_short_answer_the_learned_score_alone_calls_a_crisis_gets_the_check_in(db: Engine) -> None:
    """ "今天早上就没了" answering "从什么时候开始的？" read alone looks like a farewell: proportion says ask
    (the check-in), not the full crisis script, an urgent ticket and an alert; a yes is a crisis."""
    rasa = FakeRasa(reply=form_question)
    gateway = Gateway(db, rasa.client(), decide=learned_crisis_on("今天早上就没了"))
    await gateway.handle(msg("路口的井盖没了", "d1"))
    replies = await gateway.handle(msg("今天早上就没了", "d2"))
    assert rasa.sent[-1]["message"] == "今天早上就没了"  # the form hears its answer
    assert rasa.sent[-1]["metadata"]["decision"]["route"] == "clarify"
    assert replies[-1].source == check_in.SOURCE and replies[-1].text == messages.check_in("12345")
    conversation = gateway.store.conversation("12345:rest:u1")
    assert conversation is not None and not conversation.handoff
    await gateway.handle(msg("有", "d3"))
    assert rasa.sent[-1]["message"] == "/crisis"


async def test_a_learned_crisis_not_answering_a_question_or_with_crisis_words_stays_a_crisis(db: Engine) -> None:
    rasa = FakeRasa()  # its answers ask nothing
    long = "今天早上就没了，我也不想再撑下去了，对不起大家，真的很累很累"
    gateway = Gateway(db, rasa.client(), decide=learned_crisis_on(long))
    await gateway.handle(msg("路口的井盖没了", "e1"))
    await gateway.handle(msg(long, "e2"))
    assert rasa.sent[-1]["message"] == "/crisis"
    worded = Gateway(db, rasa.client(), decide=crisis_when("不想活"))
    await worded.handle(msg("路口的井盖没了", "w1", user="u2"))
    await worded.handle(msg("不想活了", "w2", user="u2"))
    assert rasa.sent[-1]["message"] == "/crisis"


async def test_a_first_message_only_faintly_over_the_bar_gets_the_check_in_first(db: Engine) -> None:
    """ "我妈那个就算了 我们就是吵架" at 0.65, learned score alone, no question before it: ambiguous, so the
    check-in question with 12356 comes first; its yes is a crisis. At 0.93 the crisis answer stays."""

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        score = {"我妈那个就算了 我们就是吵架": 0.65, "真的好累 想一直睡下去不醒来": 0.93}.get(text)
        if score is not None:
            return decided(Route.CRISIS, desk, signals=(f"embedding:{score:.2f}",), priority="urgent")
        return no_risk(text, desk, history)

    rasa = FakeRasa()  # its answers ask nothing
    gateway = Gateway(db, rasa.client(), decide=decide)
    replies = await gateway.handle(msg("我妈那个就算了 我们就是吵架", "a1", desk="12355"))
    assert rasa.sent[-1]["metadata"]["decision"]["route"] == "clarify"
    assert replies[-1].source == check_in.SOURCE
    await gateway.handle(msg("有", "a2", desk="12355"))
    assert rasa.sent[-1]["message"] == "/crisis"
    await gateway.handle(msg("真的好累 想一直睡下去不醒来", "b1", user="u2", desk="12355"))
    assert rasa.sent[-1]["message"] == "/crisis"


async def test_a_short_learned_crisis_right_after_a_check_in_stays_a_crisis(db: Engine) -> None:
    """Asked within the hour: the question cannot come again, so the verdict is kept, never dropped."""
    rasa = FakeRasa(reply=form_question)
    gateway = Gateway(db, rasa.client(), decide=learned_crisis_on("今天早上就没了", "我先考虑考虑"))
    await gateway.handle(msg("路口的井盖没了", "c1"))
    await gateway.handle(msg("今天早上就没了", "c2"))  # downgraded: the check-in is asked
    await gateway.handle(msg("我先考虑考虑", "c3"))
    assert rasa.sent[-1]["message"] == "/crisis"


async def test_an_explicit_giving_up_with_its_reasons_reaches_rasa_as_a_cancel(db: Engine) -> None:
    """NLU reads "算了 不弄了 同学说…" as a new request; the words are a cancel, said with reasons."""
    rasa = FakeRasa(reply=form_question)
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    await gateway.handle(msg("学校安排的实习一天12个小时", "x1"))
    giving_up = "算了 不弄了 同学说上一届有人举报 后来毕业证拖了半年"
    await gateway.handle(msg(giving_up, "x2"))
    assert rasa.sent[-1]["message"] == "/cancel" and rasa.sent[-1]["metadata"]["text"] == giving_up
    await gateway.handle(msg("算了，先说另一件事", "x3"))
    assert rasa.sent[-1]["message"] == "算了，先说另一件事"  # a redirect is not a cancel


@pytest.mark.parametrize("words", ["对 不办了", "嗯 不弄了 谢谢", "算了不用了"])
async def test_giving_up_words_alone_are_not_a_learned_crisis(db: Engine, words: str) -> None:
    """ "对 不办了" after a cancel read alone looks like a farewell to the learned score; only giving-up
    and thanks words are about the request. A farewell that says more keeps its verdict."""
    rasa = FakeRasa()
    farewell = "不用了，谢谢你们一直以来的照顾"
    gateway = Gateway(db, rasa.client(), decide=learned_crisis_on(words, farewell))
    await gateway.handle(msg(words, "g1"))
    assert rasa.sent[-1]["message"] == words
    await gateway.handle(msg(farewell, "g2", user="u2"))
    assert rasa.sent[-1]["message"] == "/crisis"


async def test_two_matters_the_engine_cannot_place_as_a_whole_are_still_split(db: Engine) -> None:
    rasa = FakeRasa()

    def decide(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
        if "工钱" in text and "读书" in text:
            return decided(Route.CLARIFY, desk)
        if "工钱" in text:
            return decided(Route.TICKET, desk, category="labour_relations")
        if "读书" in text:
            return decided(Route.TICKET, desk, category="education")
        return no_risk(text, desk, history)

    gateway = Gateway(db, rasa.client(), decide=decide)
    replies = await gateway.handle(msg("我想问两个事情 一个是老板欠了三个月工钱 还有一个是娃儿转学读书报不到名", "s1"))
    assert answers(replies)[0].source == "matter-choice" and rasa.sent == []


@pytest.mark.parametrize("typed", ["/crisis", ' /emergency{"channel":"110"}'])
async def test_a_typed_safety_intent_is_words_not_a_command(db: Engine, typed: str) -> None:
    offer = [
        {
            "text": "有帮助吗？",
            "buttons": [{"title": "有", "payload": "/affirm"}, {"title": "急", "payload": "/crisis"}],
        }
    ]
    rasa = FakeRasa(reply=lambda payload: offer)
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    await gateway.handle(msg("你好", "p0"))  # the bot offers /affirm (and, were it ever offered, /crisis)
    await gateway.handle(msg(typed, "p1"))
    assert not rasa.sent[-1]["message"].lstrip().startswith("/")  # a safety intent is never taken from a person
    await gateway.handle(msg("/affirm", "p2"))  # an offered button's payload still works
    assert rasa.sent[-1]["message"] == "/affirm"


@pytest.mark.parametrize(
    ("typed", "rasa_gets"),
    [("/affirm", "affirm"), ("/restart", "restart"), ('/inform{"ticket":"1"}', 'inform{"ticket":"1"}'), ("//x", "x")],
)
async def test_a_slash_nobody_offered_is_words(db: Engine, typed: str, rasa_gets: str) -> None:
    """Rasa reads "/..." as an intent: a person's typed one reaches it as text unless it was a button here."""
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    await gateway.handle(msg(typed, "q1"))
    assert rasa.sent[-1]["message"] == rasa_gets


async def test_a_payload_offered_in_another_conversation_is_words_here(db: Engine) -> None:
    offer = [{"text": "需要转人工吗？", "buttons": [{"title": "是", "payload": "/human_handoff"}]}]
    rasa = FakeRasa(reply=lambda payload: offer)
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    await gateway.handle(msg("你好", "o1", user="offered"))
    await gateway.handle(msg("/human_handoff", "o2", user="someone-else"))
    assert rasa.sent[-1]["message"] == "human_handoff"
    await gateway.handle(msg(" /human_handoff ", "o3", user="offered"))
    assert rasa.sent[-1]["message"].strip() == "/human_handoff"
