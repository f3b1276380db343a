"""Who is coming, truthfully (bot/gateway/handoff_watch.py, bot/gateway/alerts.py): the on-call roster out of
hours, and a handoff in staff hours that no staff member acknowledges changes what the person is told."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.gateway import handoff_watch
from bot.gateway.handoff_watch import HandoffWatch
from bot.gateway.models import ALERT_SOURCES, Conversation, OutboundMessage
from bot.gateway.service import Gateway
from bot.tickets.repository import TicketStore
from tests.decisions import crisis_when
from tests.gateway.fakes import FakeRasa, answers, msg

DAY = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 China time: staff on duty
NIGHT = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 China time: nobody before 09:00
STAFF, ONCALL = "-100", "-200"
CONVERSATION = "12345:rest:u1"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Staff of both desks work 09:00-18:00 China time; the gateway reads the time from `clock`."""
    from bot.gateway import service

    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=09:00-18:00,12355=09:00-18:00")
    moment = Clock(DAY)
    monkeypatch.setattr(service, "utcnow", moment)
    return moment


def handing_over(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa as the actions answer: 转人工 hands over, the crisis intent opens ticket 12345-0001."""
    if payload["message"] == "转人工":
        return [
            {"text": "好的，正在为您转接人工服务，工作人员会尽快接入这段对话，请稍候。"},
            {"custom": {"handoff": True}},
        ]
    if payload["message"] == "/crisis":
        return [{"text": "我在这里陪着您，已通知工作人员。"}, {"custom": {"handoff": True, "reason": "crisis"}}]
    return [{"text": f"收到：{payload['message']}"}]


screen = crisis_when("不想活")


def gateway(db: Engine, oncall: str | None = ONCALL) -> Gateway:
    return Gateway(db, FakeRasa(handing_over).client(), decide=screen, staff_chat_id=STAFF, oncall_chat_id=oncall)


def rows(db: Engine, *sources: str) -> list[OutboundMessage]:
    with Session(db) as session:
        query = select(OutboundMessage).where(OutboundMessage.source.in_(sources)).order_by(OutboundMessage.id)
        return list(session.scalars(query))


def alerts_to(db: Engine, chat: str) -> list[str]:
    return [r.text for r in rows(db, *ALERT_SOURCES) if r.conversation_id == f"12345:telegram_staff:{chat}"]


# --- the on-call roster ---------------------------------------------------------------------------
async def test_out_of_hours_a_crisis_alert_also_goes_to_the_on_call_chat(db: Engine, clock: Clock) -> None:
    clock.now = NIGHT
    await gateway(db).handle(msg("我不想活了", "n1"))
    assert len(alerts_to(db, STAFF)) == 1 and alerts_to(db, STAFF)[0].startswith("【危机预警】12345服务台")
    assert alerts_to(db, ONCALL) == alerts_to(db, STAFF)


async def test_in_hours_the_on_call_chat_gets_no_crisis_alert(db: Engine, clock: Clock) -> None:
    await gateway(db).handle(msg("我不想活了", "d1"))
    assert len(alerts_to(db, STAFF)) == 1
    assert alerts_to(db, ONCALL) == []


async def test_urgent_ticket_lines_stay_in_the_staff_chat_out_of_hours(db: Engine, clock: Clock) -> None:
    clock.now = NIGHT
    door = gateway(db)
    await door.alerts.ticket("12345", "12345-0009")
    assert alerts_to(db, STAFF) == ["【紧急工单】12345服务台 工单 #12345-0009，请值班人员尽快到员工后台处理。"]
    assert alerts_to(db, ONCALL) == []


# --- an unacknowledged crisis ---------------------------------------------------------------------
async def test_an_unacknowledged_crisis_gets_exactly_one_follow_up_and_is_escalated(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    first = answers(await door.handle(msg("我不想活了", "c1")))
    watch = HandoffWatch(db, door)

    assert (await watch.run_once(DAY + timedelta(minutes=4, seconds=59))).followed_up == 0
    assert rows(db, handoff_watch.SOURCE) == []

    report = await watch.run_once(DAY + timedelta(minutes=5))
    again = await watch.run_once(DAY + timedelta(minutes=30))

    assert (report.followed_up, report.escalated, again.followed_up) == (1, 1, 0)
    [follow_up] = rows(db, handoff_watch.SOURCE)
    assert follow_up.conversation_id == CONVERSATION and follow_up.delivery == "queue"
    assert follow_up.text == handoff_watch.crisis_unanswered("12345", "zh-Hans")
    assert follow_up.text not in [r.text for r in first]
    assert "还没能接入" in follow_up.text and "12356" in follow_up.text and "110" in follow_up.text
    escalation = "【危机未响应】12345服务台 危机预警已过5分钟仍无人接手，请值班人员立即到员工后台查看。"
    assert alerts_to(db, ONCALL) == [escalation]
    assert alerts_to(db, STAFF)[-1] == escalation and len(alerts_to(db, STAFF)) == 2


async def test_the_escalation_names_the_crisis_ticket(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("我不想活了", "c1"))
    crisis_ticket(db, DAY)
    await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=6))
    number = TicketStore(db).tickets_for_conversation(CONVERSATION)[0].number
    assert alerts_to(db, ONCALL) == [
        f"【危机未响应】12345服务台 工单 #{number} 危机预警已过6分钟仍无人接手，请值班人员立即到员工后台查看。"
    ]


def crisis_ticket(db: Engine, at: datetime) -> int:
    store = TicketStore(db, clock=lambda: at)
    ticket = store.create_ticket(
        desk="12345",
        route="crisis",
        conversation_id=CONVERSATION,
        channel="rest",
        idempotency_key="crisis-1",
        summary="（危机对话）",
    )
    return ticket.id


async def test_a_claimed_crisis_gets_no_follow_up(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("我不想活了", "c1"))
    ticket_id = crisis_ticket(db, DAY)
    TicketStore(db, clock=lambda: DAY + timedelta(minutes=2)).assign(ticket_id, assignee="li", actor="li")

    report = await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=5))

    assert (report.followed_up, report.acknowledged, report.escalated) == (0, 1, 0)
    assert rows(db, handoff_watch.SOURCE) == [] and alerts_to(db, ONCALL) == []


async def test_a_claim_made_before_this_handoff_does_not_count(db: Engine, clock: Clock) -> None:
    ticket_id = crisis_ticket(db, DAY - timedelta(days=1))
    TicketStore(db, clock=lambda: DAY - timedelta(hours=20)).assign(ticket_id, assignee="li", actor="li")
    door = gateway(db)
    await door.handle(msg("我不想活了", "c1"))
    assert (await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=5))).followed_up == 1


async def test_a_staff_reply_acknowledges_the_crisis(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("我不想活了", "c1"))
    clock.now = DAY + timedelta(minutes=1)
    door.staff_reply(CONVERSATION, "我是值班的小李，我在。", "li")
    assert (await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=5))).followed_up == 0
    assert rows(db, handoff_watch.SOURCE) == []


async def test_a_take_over_tells_the_person_someone_joined_and_ends_the_watch(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("我不想活了", "c1"))
    door.set_handoff(CONVERSATION, True, "staff")
    door.set_handoff(CONVERSATION, True, "staff")  # pressed twice: announced once

    assert [r.text for r in rows(db, handoff_watch.JOINED_SOURCE)] == ["工作人员已接入对话，接下来由工作人员为您服务。"]
    assert door.queued_after(CONVERSATION, 0)[-1]["text"] == "工作人员已接入对话，接下来由工作人员为您服务。"
    assert (await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=5))).followed_up == 0


async def test_out_of_hours_no_person_is_promised_and_no_follow_up_is_sent(db: Engine, clock: Clock) -> None:
    clock.now = NIGHT
    door = gateway(db)
    await door.handle(msg("我不想活了", "n1"))
    with Session(db) as session:
        conversation = session.get(Conversation, CONVERSATION)
        assert conversation is not None and conversation.handoff and conversation.watch_due_at is None
    assert (await HandoffWatch(db, door).run_once(NIGHT + timedelta(hours=2))).followed_up == 0


def test_the_follow_up_after_staff_went_off_duty_says_when_they_are_back() -> None:
    text = handoff_watch.crisis_unanswered("12355", "zh-Hans", "明天09:00")
    assert "明天09:00上班后" in text and "12356" in text and "一有人空下来" not in text


async def test_two_instances_send_the_follow_up_once(db: Engine, clock: Clock) -> None:
    door, other = gateway(db), gateway(db)
    await door.handle(msg("我不想活了", "c1"))
    later = DAY + timedelta(minutes=5)
    reports = await asyncio.gather(HandoffWatch(db, door).run_once(later), HandoffWatch(db, other).run_once(later))
    assert sum(r.followed_up for r in reports) == 1
    assert len(rows(db, handoff_watch.SOURCE)) == 1


# --- an unacknowledged 转人工 ----------------------------------------------------------------------
async def test_an_unanswered_handoff_offers_a_ticket_once(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    first = answers(await door.handle(msg("转人工", "h1")))
    watch = HandoffWatch(db, door)

    assert (await watch.run_once(DAY + timedelta(minutes=9))).followed_up == 0
    assert (await watch.run_once(DAY + timedelta(minutes=10))).followed_up == 1
    assert (await watch.run_once(DAY + timedelta(minutes=40))).followed_up == 0

    [follow_up] = rows(db, handoff_watch.SOURCE)
    text, buttons = handoff_watch.handoff_unanswered("12345", "zh-Hans")
    assert follow_up.text == text and follow_up.buttons == buttons
    assert follow_up.text not in [r.text for r in first] and "回电" in follow_up.text
    assert alerts_to(db, ONCALL) == []  # only crises go to the on-call roster
    assert alerts_to(db, STAFF) == [
        "【转人工未接入】12345服务台 群众等待人工已超过10分钟，请值班人员尽快到员工后台查看。"
    ]


async def test_leaving_it_as_a_ticket_gives_the_conversation_back_to_the_bot(db: Engine, clock: Clock) -> None:
    rasa = FakeRasa(handing_over)
    door = Gateway(db, rasa.client(), decide=screen, staff_chat_id=STAFF)
    await door.handle(msg("转人工", "h1"))
    await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=10))

    replies = answers(await door.handle(msg(handoff_watch.LEAVE_TICKET, "h2")))

    assert [r.text for r in replies] == [handoff_watch.leave_ticket_prompt("12345", "zh-Hans")]
    assert not door.conversation(CONVERSATION).handoff  # type: ignore[union-attr]
    await door.handle(msg("小区路灯坏了 下午三点后方便回电", "h3"))
    assert rasa.sent[-1]["message"] == "小区路灯坏了 下午三点后方便回电"


async def test_keeping_waiting_stays_with_staff(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("转人工", "h1"))
    await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=10))
    replies = answers(await door.handle(msg(handoff_watch.KEEP_WAITING, "h2")))
    assert [r.text for r in replies] == [handoff_watch.keep_waiting("12345", "zh-Hans")]
    assert door.conversation(CONVERSATION).handoff  # type: ignore[union-attr]


async def test_the_buttons_count_only_when_offered(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("转人工", "h1"))
    await door.handle(msg(handoff_watch.LEAVE_TICKET, "h2"))  # typed before any offer: words for staff
    assert door.conversation(CONVERSATION).handoff  # type: ignore[union-attr]


async def test_a_crisis_during_a_handoff_makes_it_a_crisis_watch(db: Engine, clock: Clock) -> None:
    door = gateway(db)
    await door.handle(msg("转人工", "h1"))
    clock.now = DAY + timedelta(minutes=2)
    await door.handle(msg("我真的不想活了", "h2"))
    report = await HandoffWatch(db, door).run_once(DAY + timedelta(minutes=7))
    assert (report.followed_up, report.escalated) == (1, 1)
    assert rows(db, handoff_watch.SOURCE)[0].text == handoff_watch.crisis_unanswered("12345", "zh-Hans")
