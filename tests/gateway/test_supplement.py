"""More about a matter just filed goes onto its ticket, not into a second form (bot/gateway/supplement.py).

A real SQLite database holds both the gateway's rows and the tickets; Rasa is the HTTP-level fake,
and "确认" files a real ticket the way the ticket form would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.gateway import supplement
from bot.gateway.models import utcnow
from bot.gateway.service import Gateway
from bot.tickets.models import Ticket
from bot.tickets.repository import TicketStore
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from tests.decisions import decided
from tests.gateway.fakes import FakeRasa, answers, msg

CONVERSATION = "12355:rest:u1"


def decide_by_words(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
    """保护费/推 -> bullying (sure); 公园 -> park facilities (sure); 家里人 -> a vague referral; else clarify."""
    if "保护费" in text or "推" in text:
        return decided(Route.TICKET, desk, category="rights_protection", confidence=0.7)
    if "公园" in text:
        return decided(Route.TICKET, desk, category="municipal", confidence=0.6)
    if "家里人" in text:
        return decided(Route.REFER, desk, entry_id="municipal", channel="12345", confidence=0.15)
    return decided(Route.CLARIFY, desk, confidence=0.1)


def file_ticket(tickets: TicketStore, conversation_id: str, category: str) -> Ticket:
    """A ticket as the form files it (route ticket, open), for this conversation."""
    return tickets.create_ticket(
        desk=conversation_id.split(":")[0],
        route="ticket",
        conversation_id=conversation_id,
        channel="rest",
        idempotency_key=f"{conversation_id}:form",
        summary="高年级同学收保护费",
        category=category,
    )


def filing_rasa(db: Engine) -> tuple[FakeRasa, TicketStore]:
    tickets = TicketStore(db)

    def reply(payload: dict[str, Any]) -> list[dict[str, Any]]:
        if payload["message"] == "确认":
            ticket = file_ticket(tickets, payload["sender"], "rights_protection")
            return [
                {"text": f"已经帮你登记好了，工单号是 {ticket.number}。"},
                {"custom": {"ticket_filed": ticket.number}},
            ]
        return [{"text": f"这件事发生在哪里呢？（{payload['message']}）"}]

    return FakeRasa(reply=reply), tickets


async def filed(gateway: Gateway) -> None:
    await gateway.handle(msg("高年级的人一直找我要保护费", "f1", desk="12355"))
    await gateway.handle(msg("确认", "f2", desk="12355"))


def person_lines(tickets: TicketStore) -> list[str]:
    ticket = tickets.get_by_number(tickets_numbers(tickets)[0], CONVERSATION)
    assert ticket is not None
    return [line.text for line in tickets.transcript(ticket.id, masked=False) if line.sender == "person"]


def tickets_numbers(tickets: TicketStore) -> list[str]:
    with tickets.reading() as session:
        return list(session.scalars(select(Ticket.number).order_by(Ticket.id)))


async def test_more_about_the_same_matter_goes_onto_the_ticket_and_rasa_never_hears_it(db: Engine) -> None:
    rasa, tickets = filing_rasa(db)
    gateway = Gateway(db, rasa.client(), decide=decide_by_words)
    await filed(gateway)
    sent = len(rasa.sent)

    replies = answers(await gateway.handle(msg("他们还推过我一次，撞到洗手台上", "s1", desk="12355")))

    number = tickets_numbers(tickets)[0]
    assert [r.source for r in replies] == [supplement.SOURCE] and number in replies[0].text
    assert "你" in replies[0].text and "您" not in replies[0].text  # the youth desk's voice
    assert replies[0].buttons == [{"title": "另一件事", "payload": "这是另一件事"}]
    assert len(rasa.sent) == sent and len(tickets_numbers(tickets)) == 1  # no second form, no second ticket
    assert "他们还推过我一次，撞到洗手台上" in person_lines(tickets)


async def test_vague_words_after_filing_are_added_and_a_second_one_too(db: Engine) -> None:
    rasa, tickets = filing_rasa(db)
    gateway = Gateway(db, rasa.client(), decide=decide_by_words)
    await filed(gateway)

    first = answers(await gateway.handle(msg("我不想搞得很大，家里人都不在这边", "v1", desk="12355")))
    second = answers(await gateway.handle(msg("他们每次都在厕所门口等我", "v2", desk="12355")))

    assert [r.source for r in first + second] == [supplement.SOURCE, supplement.SOURCE]
    lines = person_lines(tickets)
    assert "我不想搞得很大，家里人都不在这边" in lines and "他们每次都在厕所门口等我" in lines


async def test_another_matter_files_the_added_words_on_their_own(db: Engine) -> None:
    rasa, tickets = filing_rasa(db)
    gateway = Gateway(db, rasa.client(), decide=decide_by_words)
    await filed(gateway)
    await gateway.handle(msg("有个同学也被他们推过", "a1", desk="12355"))
    assert "有个同学也被他们推过" in person_lines(tickets)  # added first; the person then says otherwise

    await gateway.handle(msg("这是另一件事", "a2", desk="12355"))

    assert rasa.sent[-1]["message"] == "有个同学也被他们推过"  # Rasa hears the words as a request
    assert rasa.sent[-1]["metadata"]["decision"]["category"] == "rights_protection"
    assert gateway.store.pending_matters(CONVERSATION) is None


@pytest.mark.parametrize(
    "text",
    [
        "照片能当证据吗？",  # a question is answered, not filed away
        "学校旁边的公园路灯坏了",  # another category, said with confidence: a new matter
        "谢谢老师",  # too short to be a detail
        "算了，不要了",  # a cancel goes to the cancel flow
        "另外就是他们在厕所门口堵人",  # opens a new matter
    ],
)
async def test_questions_new_matters_thanks_and_cancels_go_to_rasa(db: Engine, text: str) -> None:
    rasa, tickets = filing_rasa(db)
    gateway = Gateway(db, rasa.client(), decide=decide_by_words)
    await filed(gateway)

    replies = answers(await gateway.handle(msg(text, "q1", desk="12355")))

    assert supplement.SOURCE not in [r.source for r in replies]
    assert rasa.sent[-1]["message"] == text and text not in person_lines(tickets)


async def test_nothing_is_added_once_the_bot_has_asked_something_else(db: Engine) -> None:
    """A new form's answer ("被推" is the same category) must not land on the earlier ticket."""
    rasa, tickets = filing_rasa(db)
    gateway = Gateway(db, rasa.client(), decide=decide_by_words)
    await filed(gateway)
    await gateway.handle(msg("学校旁边的公园路灯坏了", "n1", desk="12355"))  # Rasa asks "where?"

    await gateway.handle(msg("就在我被推的那个厕所旁边", "n2", desk="12355"))

    assert rasa.sent[-1]["message"] == "就在我被推的那个厕所旁边"
    assert "就在我被推的那个厕所旁边" not in person_lines(tickets)


def test_a_ticket_is_recent_only_within_the_window(db: Engine) -> None:
    ticket = file_ticket(TicketStore(db), "12345:rest:old", "municipal")
    now = utcnow()
    assert supplement.recent_ticket(db, "12345:rest:old", now) == supplement.FiledTicket(
        ticket.id, ticket.number, "municipal"
    )
    assert supplement.recent_ticket(db, "12345:rest:old", now + supplement.RECENT + timedelta(minutes=1)) is None
    assert supplement.recent_ticket(db, "12345:rest:other", now) is None


def test_the_english_reply_offers_the_same_way_out() -> None:
    text, buttons = supplement.added("12345", "12345-20261207-0001", "en")
    assert "12345-20261207-0001" in text and "staff" in text
    assert buttons[0]["title"] == "Another matter" and supplement.says_another_matter(buttons[0]["payload"])
    assert supplement.says_another_matter("這是另一件事") and not supplement.says_another_matter("他们又来了")
