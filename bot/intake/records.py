"""Opening tickets and recording answered requests in the ticket store, from the actions.

Every write is idempotent: the key is the conversation id plus the id of the person's message that
triggered it (and what it is for), so an action that Rasa retries, or a message the gateway replays
after a crash, finds the ticket it already made instead of making a second one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.intake.fields import RESOLUTION_HOURS, CategoryInfo, category_info
from bot.intake.hours import StaffHours, is_staffed, staff_hours
from bot.intake.transcripts import MAX_LINE_CHARS

if TYPE_CHECKING:
    from bot.tickets.models import Ticket
    from bot.tickets.repository import TicketStore

log = logging.getLogger(__name__)

CHANNELS = ("telegram", "web", "rest", "terminal")
CONCERN = "check_in"
"""Intake signal: the request that started the form was close to the crisis bar (its `check-in:`
signal). Its ticket is `high` priority: staff see it before the ordinary ones, because words just
under the bar are where masked distress hides (the person was also asked the check-in question,
unless it had been asked in the past hour)."""
UNDER_14_NOTE = (
    "【未满14周岁】依《个人信息保护法》第31条及未成年人保护法，跟进时请联系其监护人或学校；"
    "如侵害可能来自监护人，请联系学校、其他监护人或相关部门，不要先告知该监护人。"
)
"""Told to staff at the top of an under-14's ticket (the person is told in `utter_under_14`)."""
PERSON_ROUTES = ("ticket", "crisis")
"""Routes whose records are the person's tickets (numbers they are told and can ask about)."""

_store: TicketStore | None = None
_store_lock = threading.Lock()


def get_store() -> TicketStore:
    """The process's TicketStore on FRONTDOOR_DATABASE_URL, opened (and migrated) on first use."""
    global _store
    with _store_lock:
        if _store is None:
            from bot.settings import get_settings
            from bot.tickets.repository import TicketStore

            _store = TicketStore.from_url(get_settings().database_url)
        return _store


def channel_of(conversation_id: str) -> str:
    """The channel named by a conversation id "<desk>:<channel>:<user>" ("rest" when it names none)."""
    parts = (conversation_id or "").split(":")
    return parts[1] if len(parts) >= 3 and parts[1] in CHANNELS else "rest"


def idempotency_key(conversation_id: str, origin: str, purpose: str) -> str:
    """One record per (conversation, triggering message, purpose); at most 200 characters."""
    key = f"{purpose}:{origin}:{conversation_id}"
    if len(key) <= 200:
        return key
    import hashlib

    return f"{purpose}:{origin}:" + hashlib.sha256(conversation_id.encode()).hexdigest()


def message_origin(events: Sequence[Mapping[str, Any]]) -> str:
    """The id of the latest user message (Rasa's message_id, else its timestamp): the key's origin."""
    for event in reversed(events):
        if event.get("event") == "user":
            return str(event.get("message_id") or event.get("timestamp") or "0")
    return "0"


@dataclass
class Intake:
    """What the ticket form collected, ready to become a ticket."""

    desk: str
    conversation_id: str
    origin: str
    what: str
    category: str | None = None
    category_l1: str | None = None
    where: str | None = None
    since: str | None = None
    who: str | None = None
    contact: tuple[str, str] | None = None
    consent_text: str | None = None
    callback_time: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    age: str | None = None
    """The age the person gave on a youth desk ("15", or "未说明")."""
    under_14: bool = False
    """Under 14 (PIPL Art. 31): filed all the same, and staff are told to involve a guardian or the school."""
    sensitive_consent_text: str | None = None
    """A sensitive matter's separate consent, verbatim as asked, with the answer."""

    def summary(self) -> str:
        parts = [self.what.strip()]
        if self.under_14:
            parts.append(UNDER_14_NOTE)
        for label, value in (
            ("地点", self.where),
            ("开始时间", self.since),
            ("涉及", self.who),
            ("方便联系的时间", self.callback_time),
            ("年龄", self.age),
        ):
            if value:
                parts.append(f"{label}：{value}")
        return "\n".join(parts)


@dataclass(frozen=True)
class Opened:
    """A ticket the person is told about."""

    id: int
    number: str
    priority: str
    sla_hours: float
    staffed_now: bool
    hours: StaffHours | None
    category_name: str | None


def open_ticket(
    store: TicketStore, intake: Intake, transcript: Sequence[tuple[str, str]], now: datetime | None = None
) -> Opened:
    """Create (or find, on a retry) the in-scope ticket of a completed form, with its transcript and contact."""
    info: CategoryInfo = category_info(intake.desk, intake.category)
    signals = {
        "category": intake.category,
        "where": intake.where,
        "since": intake.since,
        "who": intake.who,
        "callback_time": intake.callback_time,
        "contact_consent": intake.contact is not None,
        "age": intake.age,
        "under_14": True if intake.under_14 else None,
        "sensitive_consent": intake.sensitive_consent_text,
        **intake.signals,
    }
    priority = "urgent" if info.priority == "urgent" else "high" if intake.signals.get(CONCERN) else "normal"
    ticket = store.create_ticket(
        desk=intake.desk,
        route="ticket",
        conversation_id=intake.conversation_id,
        channel=channel_of(intake.conversation_id),
        idempotency_key=idempotency_key(intake.conversation_id, intake.origin, "ticket"),
        summary=intake.summary(),
        priority=priority,
        category=intake.category,
        category_l1=intake.category_l1 or info.category_l1,
        triage_signals={k: v for k, v in signals.items() if v is not None},
        sla_first_response_hours=info.sla_hours,
        sla_resolution_hours=max(info.sla_hours, RESOLUTION_HOURS),
        transcript=transcript,
    )
    if intake.contact is not None and intake.consent_text and not store.contacts(ticket.id):
        kind, value = intake.contact
        try:
            store.add_contact(ticket.id, kind=kind, value=value, consent_text=intake.consent_text)
        except ValueError:  # an odd number the person typed: the ticket stands, staff reply in the chat
            log.warning("contact of ticket %s refused by the store", ticket.number)
    return Opened(
        id=ticket.id,
        number=ticket.number,
        priority=ticket.priority,
        sla_hours=float(info.sla_hours),
        staffed_now=is_staffed(intake.desk, now or datetime.now(UTC)),
        hours=staff_hours(intake.desk),
        category_name=info.name,
    )


def open_crisis_ticket(
    store: TicketStore,
    *,
    desk: str,
    conversation_id: str,
    origin: str,
    text: str,
    transcript: Sequence[tuple[str, str]],
    signals: Mapping[str, Any] | None = None,
) -> Ticket:
    """The urgent ticket of a crisis (the store makes it urgent, first response within 15 minutes)."""
    return store.create_ticket(
        desk=desk,
        route="crisis",
        conversation_id=conversation_id,
        channel=channel_of(conversation_id),
        idempotency_key=idempotency_key(conversation_id, origin, "crisis"),
        summary=text or "（危机对话）",
        priority="urgent",
        triage_signals=dict(signals or {}),
        sla_first_response_hours=0.25,
        transcript=transcript,
    )


ANSWERED_ROUTES = ("refer", "decline", "faq")
"""Answers at the first gate: their records keep only what analytics need (route, reason code or FAQ
id, channel, masked text), never the person's words in a transcript (PIPL: no more than the purpose needs)."""


def record_answer(
    store: TicketStore,
    *,
    route: str,
    desk: str,
    conversation_id: str,
    origin: str,
    text: str,
    entry_id: str | None = None,
    channel: str | None = None,
    confidence: float | None = None,
    signals: Sequence[str] = (),
    reply: str | None = None,
) -> Ticket:
    """A closed record of a request answered at the first gate (refer / decline / faq / emergency).

    It counts as answered in analytics; declines keep their reason code (the catalogue entry id).
    A refer, decline or FAQ record keeps the request only masked (the store masks the summary) and
    no transcript: nobody follows it up, so the person's words are not kept with it. An emergency
    record keeps its transcript: it is a safety record staff may have to read.
    """
    details: dict[str, Any] = {"entry_id": entry_id, "channel": channel}
    if route == "decline":
        details["reason_code"] = entry_id
    if route == "faq":
        details["faq_id"] = entry_id
    if confidence is not None:
        details["confidence"] = round(float(confidence), 4)
    if signals:
        details["signals"] = [str(s) for s in signals][:20]
    transcript: list[tuple[str, str]] = []
    if route not in ANSWERED_ROUTES:
        transcript = [("person", text[:MAX_LINE_CHARS])] if text else []
        if reply:
            transcript.append(("bot", reply[:MAX_LINE_CHARS]))
    return store.create_ticket(
        desk=desk,
        route=route,
        conversation_id=conversation_id,
        channel=channel_of(conversation_id),
        idempotency_key=idempotency_key(conversation_id, origin, route),
        summary=text or f"（{route}）",
        triage_signals={k: v for k, v in details.items() if v is not None},
        transcript=transcript,
    )


def open_matter_ticket(store: TicketStore, conversation_id: str) -> Ticket | None:
    """The newest open ticket (or crisis) of this conversation, if any."""
    for ticket in store.tickets_for_conversation(conversation_id, limit=10):
        if ticket.route in PERSON_ROUTES and ticket.status in ("new", "in_progress", "waiting_for_person"):
            return ticket
    return None
