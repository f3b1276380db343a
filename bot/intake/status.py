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
from bot.language import DEFAULT, is_english
from bot.voice import is_youth, staff, you

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
STATUS_WORDS_EN = {
    "new": "received, waiting for {staff}",
    "in_progress": "being handled",
    "waiting_for_person": "waiting for more information from you",
    "resolved": "completed",
    "closed": "completed",
}
MAX_LISTED = 3


def _staff_en(desk: str) -> str:
    return "a counsellor" if is_youth(desk) else "staff"


def _status_words(status: str, desk: str, language: str = DEFAULT) -> str:
    if is_english(language):
        return STATUS_WORDS_EN.get(status, status).format(staff=_staff_en(desk))
    return STATUS_WORDS.get(status, status).format(you=you(desk), staff=staff(desk))


def _when(at: datetime, language: str = DEFAULT) -> str:
    local = at.astimezone(CHINA_TZ)
    if is_english(language):
        return f"{local:%d %b %H:%M}".lstrip("0")
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def describe_en(store: TicketStore, ticket: Ticket, now: datetime) -> str:
    """`describe` in English (the category's English name when the catalogue has one)."""
    info = category_info(ticket.desk, ticket.category) if ticket.category else None
    name = info.name_en if info is not None and info.name_en else None
    title = f"Ticket {ticket.number}" + (f" ({name})" if name else "")
    status, staffer = ticket.status, _staff_en(ticket.desk)
    if ticket.route == "crisis" and status in ("new", "in_progress", "waiting_for_person"):
        return (
            f"{title}: the {'counsellor' if is_youth(ticket.desk) else 'staff'} on duty are following it up. "
            "Please stay in this chat; they will contact you as soon as possible. "
            "In an emergency, call 110 (police) or 120 (ambulance)."
        )
    sentences = [f"{title}: {_status_words(status, ticket.desk, 'en')}."]
    first_due = ticket.sla_first_response_due
    if status in ("new", "in_progress", "waiting_for_person"):
        if ticket.first_response_at is None and first_due is not None:
            if first_due > now:
                sentences.append(f"{staffer.capitalize()} will reply to you by {_when(first_due, 'en')}.")
            else:
                sentences.append(
                    "We are sorry: the promised reply time has passed, and we have asked "
                    f"{staffer} to deal with it first."
                )
        elif ticket.sla_resolution_due is not None and ticket.sla_resolution_due > now:
            sentences.append(f"Expected to be completed by {_when(ticket.sla_resolution_due, 'en')}.")
        if status == "waiting_for_person":
            sentences.append(f"{staffer.capitalize()} need some more information from you: please reply right here.")
    elif status in ("resolved", "closed"):
        sentences.append(f"If the problem has not been solved, just tell me and I will ask {staffer} to follow it up.")
    staff_lines = [line for line in store.transcript(ticket.id) if line.sender == "staff"]
    if staff_lines:
        latest = staff_lines[-1].text.strip()
        sentences.append("Latest reply: " + (latest[:120] + "…" if len(latest) > 120 else latest))
    return " ".join(sentences)


def describe(store: TicketStore, ticket: Ticket, now: datetime, language: str = DEFAULT) -> str:
    """One ticket in a few plain sentences: status, what happens next, the latest staff reply."""
    if is_english(language):
        return describe_en(store, ticket, now)
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
    store: TicketStore,
    conversation_id: str,
    number: str | None,
    now: datetime | None = None,
    language: str = DEFAULT,
) -> str | None:
    """The answer to a status question (in `language`), or None when this conversation has no such ticket."""
    now = now or datetime.now(UTC)
    if number:
        ticket = store.get_by_number(number, conversation_id)
        if ticket is None or ticket.route not in PERSON_ROUTES:
            return None
        return describe(store, ticket, now, language)
    tickets = [t for t in store.tickets_for_conversation(conversation_id, limit=20) if t.route in PERSON_ROUTES]
    if not tickets:
        return None
    text = describe(store, tickets[0], now, language)
    others = tickets[1:MAX_LISTED]
    if others and is_english(language):
        text += "\nYour other tickets: " + "; ".join(
            f"{t.number} ({_status_words(t.status, t.desk, language)})" for t in others
        )
    elif others:
        text += "\n其他工单：" + "；".join(f"{t.number}（{_status_words(t.status, t.desk)}）" for t in others)
    return text
