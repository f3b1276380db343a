"""What a person is told about their own tickets ("我的工单怎么样了").

Only tickets of the asking conversation are ever shown: without a number, the conversation's own
tickets; with a number, the store returns nothing for someone else's ticket, exactly as for an
unknown one, so a number guessed or overheard reveals nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.intake.fields import category_info
from bot.intake.hours import CHINA_TZ
from bot.intake.records import PERSON_ROUTES
from bot.voice import staff, you

if TYPE_CHECKING:
    from bot.tickets.models import Ticket
    from bot.tickets.repository import TicketStore

STATUS_WORDS = {
    "new": "已受理，等待{staff}处理",
    "in_progress": "处理中",
    "waiting_for_person": "等待{you}补充信息",
    "resolved": "已办结",
    "closed": "已办结",
}
MAX_LISTED = 3


def _status_words(status: str, desk: str) -> str:
    return STATUS_WORDS.get(status, status).format(you=you(desk), staff=staff(desk))


def _when(at: datetime) -> str:
    local = at.astimezone(CHINA_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def describe(store: TicketStore, ticket: Ticket, now: datetime) -> str:
    """One ticket in a few plain sentences: status, what happens next, the latest staff reply."""
    name = category_info(ticket.desk, ticket.category).name if ticket.category else None
    title = f"工单 {ticket.number}" + (f"（{name}）" if name else "")
    status = ticket.status
    person, staffer = you(ticket.desk), staff(ticket.desk)
    if ticket.route == "crisis" and status in ("new", "in_progress", "waiting_for_person"):
        return f"{title}：值班{staffer}正在跟进，请留在对话里，他们会尽快联系{person}。紧急情况请拨打110或120。"
    sentences = [f"{title}：{_status_words(status, ticket.desk)}。"]
    first_due = ticket.sla_first_response_due
    if status in ("new", "in_progress", "waiting_for_person"):
        if ticket.first_response_at is None and first_due is not None:
            if first_due > now:
                sentences.append(f"{staffer}会在 {_when(first_due)} 前回复{person}。")
            else:
                sentences.append(f"已经超过了承诺的回复时间，非常抱歉，我们已提醒{staffer}优先处理。")
        elif ticket.sla_resolution_due is not None and ticket.sla_resolution_due > now:
            sentences.append(f"预计 {_when(ticket.sla_resolution_due)} 前办结。")
        if status == "waiting_for_person":
            sentences.append(f"{staffer}需要{person}补充一些信息，请直接在这里回复。")
    elif status in ("resolved", "closed"):
        sentences.append(f"如果问题还没有解决，可以直接告诉我，我请{staffer}继续跟进。")
    staff_lines = [line for line in store.transcript(ticket.id) if line.sender == "staff"]
    if staff_lines:
        latest = staff_lines[-1].text.strip()
        sentences.append("最新回复：" + (latest[:120] + "…" if len(latest) > 120 else latest))
    return "".join(sentences)


def status_reply(
    store: TicketStore, conversation_id: str, number: str | None, now: datetime | None = None
) -> str | None:
    """The answer to a status question, or None when this conversation has no such ticket."""
    now = now or datetime.now(UTC)
    if number:
        ticket = store.get_by_number(number, conversation_id)
        if ticket is None or ticket.route not in PERSON_ROUTES:
            return None
        return describe(store, ticket, now)
    tickets = [t for t in store.tickets_for_conversation(conversation_id, limit=20) if t.route in PERSON_ROUTES]
    if not tickets:
        return None
    text = describe(store, tickets[0], now)
    others = tickets[1:MAX_LISTED]
    if others:
        text += "\n其他工单：" + "；".join(f"{t.number}（{_status_words(t.status, t.desk)}）" for t in others)
    return text
