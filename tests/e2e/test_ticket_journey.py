"""A whole ticket journey through the RUNNING stack (app -> gateway -> Rasa -> action server -> store).

Describe a problem, answer the form, get a ticket number, ask for its status, staff reply, staff
resolve the ticket, the return visit is sent (the scheduler run once with a clock a day ahead),
the person answers it and rates the service. Then: one escalation sent twice makes one ticket,
someone else's ticket number reveals nothing, and killing the action server in the middle of a
form loses nothing the person already answered (a dedicated stack: it kills a process).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.db.engine import make_engine
from bot.followups.scheduler import FollowUpScheduler
from bot.gateway import messages
from bot.gateway.store import GatewayStore
from bot.launcher import Stack
from bot.tickets.repository import TicketStore
from tests.e2e.conftest import RunningStack, started_stack
from tests.support.console import staff_reply

pytestmark = pytest.mark.integration

NUMBER = re.compile(r"\d{5}-\d{8}-\d{4}")
STREETLIGHT = "我们小区门口的路灯坏了半个多月了，晚上黑漆漆的，老人出门很不安全"
PLACE = "光明街道向阳小区东门口"


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text") or "") for r in replies)


def answer_for(replies: list[dict[str, Any]], place: str = PLACE) -> str | None:
    """What a person would answer to the form's latest question (None: the form is done)."""
    last = replies[-1]
    text, payloads = str(last.get("text") or ""), [b["payload"] for b in last.get("buttons") or []]
    if "确认提交" in [b["title"] for b in last.get("buttons") or []]:
        return "/affirm"
    if "要记下来吗" in text or "需要记录下来吗" in text:  # a sensitive matter: consent to record it
        return "/affirm"
    if "多大" in text:  # the youth desk's age question
        return "15"
    if "什么地方" in text or "在哪里" in text:
        return place
    if "什么时候" in text:
        return "上个月中旬开始的"
    if "涉及" in text:
        return "/deny"
    if "联系方式" in text or "手机号" in text:
        return "/deny"
    if "方便" in text and "/affirm" in payloads:
        return "/affirm"
    return None


def fill_form(chat: Any, first: list[dict[str, Any]], place: str = PLACE, limit: int = 8) -> list[dict[str, Any]]:
    replies = first
    for _ in range(limit):
        reply = answer_for(replies, place)
        if reply is None:
            return replies
        replies = chat(reply)
    raise AssertionError(f"the form never ended: {texts(replies)}")


REPLY = "您好，已派维修人员明天上午到场更换灯具。"


def store_of(stack: Stack, **kwargs: Any) -> TicketStore:
    return TicketStore(make_engine(stack.settings.database_url), **kwargs)


def updates(running: RunningStack, desk: str, sender: str, after: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{running.app_url}/api/chat/{desk}/updates",
        params={"sender": sender, "channel": "rest", "after": after},
        headers=running.headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


def wait_for_update(running: RunningStack, desk: str, sender: str, after: int, needle: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for message in updates(running, desk, sender, after):
            if needle in str(message["text"]):
                return message
        time.sleep(0.3)
    raise AssertionError(f"no update containing {needle!r}")


def test_ticket_journey_from_first_message_to_rating(running_stack: RunningStack) -> None:
    sender, desk = f"journey-{secrets.token_hex(3)}", "12345"
    conversation = running_stack.conversation(desk, sender)

    def chat(text: str) -> list[dict[str, Any]]:
        replies = running_stack.chat(desk, sender, text)
        assert messages.backend_down(desk) not in texts(replies), texts(replies)
        return replies

    # 1. the request starts the form; "since" is read from the message, "where" is asked
    first = chat(STREETLIGHT)
    assert "什么地方" in texts(first), texts(first)
    done = fill_form(chat, first)
    match = NUMBER.search(texts(done))
    assert match, texts(done)
    number = match.group(0)
    assert "内回复您" in texts(done)

    store = store_of(running_stack.stack)
    [ticket] = [t for t in store.tickets_for_conversation(conversation) if t.route == "ticket"]
    assert ticket.number == number and ticket.status == "new" and ticket.category
    assert PLACE in ticket.triage_signals["where"] and "半个多月" in ticket.triage_signals["since"]
    assert [line.sender for line in store.transcript(ticket.id)][:2] == ["person", "bot"]

    # 2. status: the person's own ticket
    status = texts(chat("我的工单怎么样了"))
    assert number in status and "已受理" in status

    # 3. staff reply from the console's ticket page, seen by the person
    with httpx.Client(base_url=running_stack.app_url, timeout=10) as console:
        staff_reply(console, running_stack.stack.settings.database_url, ticket.id, REPLY, username="wang")
    seen = wait_for_update(running_stack, desk, sender, 0, "维修人员")
    assert seen["from"] == "staff"

    # 4. staff resolve the ticket (as the console does): a return visit is scheduled
    assert any(e.kind == "reply_sent" and e.actor == "wang" for e in store.events(ticket.id))  # the console recorded it
    store.change_status(ticket.id, "resolved", actor="wang", reason="灯具已更换")

    # 5. the scheduler, run once with a clock a day ahead, sends the visit into the conversation
    future = datetime.now(UTC) + timedelta(hours=25)
    future_store = store_of(running_stack.stack, clock=lambda: future)
    gateway_store = GatewayStore(make_engine(running_stack.stack.settings.database_url))

    async def send(conversation_id: str, text: str, buttons: list[dict[str, str]]) -> None:
        gateway_store.enqueue(conversation_id, text, "followup", buttons)

    import asyncio

    report = asyncio.run(FollowUpScheduler(future_store, send, clock=lambda: future).run_once())
    # the stack is shared with other end-to-end tests, whose resolved tickets may be due too;
    # this conversation's own visit is checked just below
    assert report.asked >= 1 and not report.errors, report
    visit = wait_for_update(running_stack, desk, sender, int(seen["id"]), number)
    solved = next(b for b in visit["buttons"] if b["title"] == "已解决")

    # 6. the person answers with the buttons: solved, then 5 points
    rating_question = chat(solved["payload"])
    assert "打个分" in texts(rating_question), texts(rating_question)
    five = next(b for r in rating_question for b in r.get("buttons") or [] if b["title"].startswith("5"))
    thanks = chat(five["payload"])
    assert "谢谢您的评价" in texts(thanks)
    assert store.get(ticket.id).status == "closed"
    rating = store.rating(ticket.id)
    assert rating is not None and (rating.solved, rating.service_score) == (True, 5)

    # 7. someone else asking about this number learns nothing
    other = running_stack.chat(desk, f"stranger-{secrets.token_hex(3)}", f"帮我查一下工单{number}的进度")
    assert "路灯" not in texts(other) and "已办结" not in texts(other)


def test_the_same_escalation_sent_twice_makes_one_ticket(running_stack: RunningStack) -> None:
    sender, desk = f"twice-{secrets.token_hex(3)}", "12355"
    text = "我真的撑不下去了，今晚不想活了"
    first = running_stack.chat(desk, sender, text, message_id="esc-1")
    again = running_stack.chat(desk, sender, text, message_id="esc-1")  # a client retry: same message id
    assert "12356" in texts(first) and texts(again) == texts(first)
    running_stack.chat(desk, sender, text, message_id="esc-2")  # said again: staff have the conversation
    store = store_of(running_stack.stack)
    tickets = store.tickets_for_conversation(f"{desk}:rest:local:{sender}")
    assert [(t.route, t.priority) for t in tickets] == [("crisis", "urgent")]
    assert "撑不下去" in tickets[0].summary_redacted  # the person's words, not the gateway's "/crisis"


# -- the action server dies in the middle of a form --------------------------------------------------


@pytest.fixture
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # a short folder: the processes keep their TMPDIR in it, and multiprocessing's socket paths
    # under a long pytest folder (make unit puts TMPDIR in var/tmp) exceed the AF_UNIX limit
    with started_stack(tmp_path_factory.mktemp("kill"), {"FRONTDOOR_RASA_TIMEOUT": "30"}) as stack:
        yield stack


def test_killing_the_action_server_mid_form_loses_nothing_already_answered(own_stack: Stack) -> None:
    sender, desk = "kill-mid-form", "12345"
    url = f"http://127.0.0.1:{own_stack.app_port}/api/chat/{desk}"

    def chat(text: str) -> list[dict[str, Any]]:
        key = {"Authorization": f"Bearer {own_stack.rest_key}"}
        response = httpx.post(url, json={"sender": sender, "text": text}, headers=key, timeout=90)
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()["replies"]
        return replies

    first = chat("我们村口那条路上的路灯全坏了，已经一个多月了，晚上根本不敢出门")
    assert "什么地方" in texts(first), texts(first)
    after_place = chat("西岭村三组村口")  # answered and validated: in Rasa's SQL tracker store now
    assert "什么地方" not in texts(after_place) and messages.backend_down(desk) not in texts(after_place)

    own_stack.kill("action server")
    try:
        down = chat(answer_for(after_place) or "/affirm")
        assert texts(down) == messages.backend_down(desk)  # a clear apology, never silence
    finally:
        own_stack.restart("action server")

    again = chat(answer_for(after_place) or "/affirm")  # the person sends it again, as asked
    done = fill_form(chat, again, place="西岭村三组村口")
    summary_seen = texts(again) + texts(done)
    assert "西岭村三组村口" in summary_seen or NUMBER.search(summary_seen)
    match = NUMBER.search(texts(done))
    assert match, texts(done)
    store = TicketStore(make_engine(own_stack.settings.database_url))
    [ticket] = [t for t in store.tickets_for_conversation(f"{desk}:rest:local:{sender}") if t.route == "ticket"]
    assert ticket.number == match.group(0)
    assert ticket.triage_signals["where"] == "西岭村三组村口"


def test_a_different_request_in_the_middle_of_the_form_is_answered_and_the_form_goes_on(
    running_stack: RunningStack,
) -> None:
    sender, desk = f"digress-{secrets.token_hex(3)}", "12345"
    first = running_stack.chat(desk, sender, "我们小区门口那个井盖不见了，小孩差点掉下去")
    question = str(first[-1]["text"])
    assert "什么地方" in question, texts(first)

    digression = running_stack.chat(desk, sender, "对了，我那个离婚官司法院一直不开庭怎么办")

    assert str(digression[-1]["text"]) == question  # answered, then the same question again
    assert len(digression) >= 3 and "12368" in texts(digression)
    store = store_of(running_stack.stack)
    assert [t.route for t in store.tickets_for_conversation(f"{desk}:rest:local:{sender}")] == ["refer"]
    cancelled = running_stack.chat(desk, sender, "算了，不登记了")
    assert "取消" in texts(cancelled)
    assert [t.route for t in store.tickets_for_conversation(f"{desk}:rest:local:{sender}")] == ["refer"]


def test_words_close_to_the_crisis_bar_get_the_check_in_and_a_high_priority_ticket(
    running_stack: RunningStack,
) -> None:
    """The real engine puts this message between the check-in and crisis bars (check-in 0.41 on
    2026-12-06). The check-in comes after the form's first question; its no is thanked and that
    question asked again (not filed as the answer), and staff see the ticket before ordinary ones."""
    sender, desk = f"concern-{secrets.token_hex(3)}", "12355"
    first = running_stack.chat(desk, sender, "好累啊，感觉自己什么都做不好，同学也都不理我")
    assert str(first[-1]["text"]) == messages.check_in(desk), texts(first)
    question = first[-2]

    no = running_stack.chat(desk, sender, "没有")

    assert [str(r["text"]) for r in no] == [messages.check_in_no("12355", resuming=True), str(question["text"])]
    assert no[-1]["buttons"] == question["buttons"]
    done = fill_form(lambda text: running_stack.chat(desk, sender, text), no)
    assert NUMBER.search(texts(done)), texts(done)
    [ticket] = store_of(running_stack.stack).tickets_for_conversation(f"{desk}:rest:local:{sender}")
    assert (ticket.route, ticket.category, ticket.priority) == ("ticket", "counselling", "high")
    assert ticket.triage_signals["check_in"].startswith("check-in:")
    assert "上个月" in ticket.triage_signals["since"]  # the form's answer, not the no to the check-in


def test_the_gateway_and_the_actions_act_on_one_decision_when_the_crisis_depends_on_history(
    running_stack: RunningStack,
) -> None:
    """ "有" is a crisis only as the answer to the check-in question asked after the previous message.
    The gateway decides that once, from its own record; the action server opens the crisis ticket
    from the same decision (its signals are the ones the gateway stored for that message)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bot.gateway.models import InboundMessage

    sender, desk = f"history-{secrets.token_hex(3)}", "12355"
    first = running_stack.chat(desk, sender, "好累啊，感觉自己什么都做不好，同学也都不理我")
    assert str(first[-1]["text"]) == messages.check_in(desk), texts(first)

    yes = running_stack.chat(desk, sender, "有")

    assert "12356" in texts(yes)
    conversation = running_stack.conversation(desk, sender)
    with Session(make_engine(running_stack.stack.settings.database_url)) as session:
        row = session.scalars(
            select(InboundMessage).where(InboundMessage.conversation_id == conversation, InboundMessage.text == "有")
        ).one()
    assert row.safety is not None and row.safety["route"] == "crisis"
    assert "check-in-answer:yes" in row.safety["signals"]
    crisis = [t for t in store_of(running_stack.stack).tickets_for_conversation(conversation) if t.route == "crisis"]
    assert len(crisis) == 1 and crisis[0].priority == "urgent"
    assert crisis[0].triage_signals["screen"] == row.safety["signals"]
