"""The ticket store: every read and write of tickets goes through `TicketStore`.

Design rules, each for a reason stated in docs/mission-context.md:

* One escalation makes one ticket: `create_ticket` is idempotent on `idempotency_key` (unique
  constraint; a concurrent duplicate loses the insert and gets the winner's ticket back).
* "Every question replied, every matter followed up": status changes follow an explicit transition
  table, resolving schedules a return visit, and `overdue_tickets` feeds the SLA alerts.
* First-handler responsibility: `first_handler` is set by the first assignment and never changes.
* Accountability: every change writes an event; events are append-only (nothing here updates or
  deletes one, and database triggers reject it).
* Personal data: the summary is stored masked, contacts are stored apart and only with consent,
  and revealing one is audited.
* A person only ever sees the tickets of their own conversation.

Objects returned are detached snapshots: read their columns, change them through the store.
All times are aware UTC datetimes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.privacy import mask
from bot.tickets.db import READ_ONLY, make_engine, migrate, session_factory
from bot.tickets.models import (
    Channel,
    Contact,
    ContactKind,
    Event,
    EventKind,
    FollowUp,
    FollowUpOutcome,
    FollowUpStatus,
    Message,
    Priority,
    Rating,
    Route,
    SafetyVerdict,
    Sender,
    StaffAuditEntry,
    Status,
    Ticket,
    TicketNumberCounter,
    utcnow,
)

# China has had no daylight saving time since 1991: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
CRISIS_FIRST_RESPONSE_HOURS = 0.25
DEFAULT_FOLLOW_UP_HOURS = 24.0
MAX_CREATE_ATTEMPTS = 5
MAX_COMMENT_CHARS = 1000

NEW, IN_PROGRESS, WAITING = Status.NEW.value, Status.IN_PROGRESS.value, Status.WAITING_FOR_PERSON.value
RESOLVED, CLOSED = Status.RESOLVED.value, Status.CLOSED.value
DECLINED, REFERRED = Status.DECLINED.value, Status.REFERRED.value

OPEN_STATUSES = frozenset({NEW, IN_PROGRESS, WAITING})
HANDLED_ROUTES = frozenset({Route.TICKET.value, Route.CRISIS.value})

# Allowed status changes. Declined and referred matters are closed records from the start. A resolved
# or closed ticket may be reopened (back to in_progress) when the person says it is not solved; a
# closed one only if staff had resolved it (see `_set_status`).
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({IN_PROGRESS, WAITING, RESOLVED, CLOSED, DECLINED, REFERRED}),
    IN_PROGRESS: frozenset({WAITING, RESOLVED, CLOSED, DECLINED, REFERRED}),
    WAITING: frozenset({IN_PROGRESS, RESOLVED, CLOSED}),
    RESOLVED: frozenset({CLOSED, IN_PROGRESS}),
    CLOSED: frozenset({IN_PROGRESS}),
    DECLINED: frozenset(),
    REFERRED: frozenset(),
}

# Status a record starts in, by route: only crisis and in-scope tickets wait for staff.
INITIAL_STATUS: dict[str, str] = {
    Route.TICKET.value: NEW,
    Route.CRISIS.value: NEW,
    Route.REFER.value: REFERRED,
    Route.EMERGENCY.value: REFERRED,
    Route.DECLINE.value: DECLINED,
    Route.FAQ.value: CLOSED,
}

_PRIORITY_ORDER = {Priority.URGENT.value: 0, Priority.HIGH.value: 1, Priority.NORMAL.value: 2}
_DESK = re.compile(r"^[0-9A-Za-z_]{1,16}$")
_NUMBER = re.compile(r"^[0-9A-Za-z_]{1,16}-\d{8}-\d{4,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,22}$")

E = TypeVar("E", bound=enum.Enum)


class TicketError(Exception):
    """Base class of the store's refusals (callers may catch this one)."""


class TicketNotFound(TicketError, LookupError):
    pass


class InvalidTransition(TicketError):
    pass


class IdempotencyConflict(TicketError):
    """The idempotency key was already used by another conversation: a caller bug, never a lookup."""


class RatingError(TicketError, ValueError):
    pass


class ConsentRequired(TicketError):
    pass


class FollowUpError(TicketError):
    pass


@dataclass(frozen=True)
class TranscriptLine:
    """A message as shown to staff or exported: masked unless asked otherwise."""

    seq: int
    sender: str
    text: str
    created_at: datetime
    staff_user: str | None


@dataclass(frozen=True)
class ContactView:
    """A contact as listed without revealing it (listing needs no audit)."""

    id: int
    ticket_id: int
    kind: str
    masked_value: str
    consent_at: datetime


@dataclass(frozen=True)
class Overdue:
    """One missed SLA deadline of an open ticket."""

    ticket: Ticket
    deadline: Literal["first_response", "resolution"]
    due_at: datetime
    overdue_by: timedelta


def _value(kind: type[E], value: E | str, what: str) -> str:
    """Validate against an enum and return the plain string (psycopg would dump an Enum by its name)."""
    try:
        return str(kind(value).value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise ValueError(f"invalid {what} {value!r}; expected one of: {allowed}") from None


def _text(value: str | None, what: str, max_chars: int = 120) -> str:
    if value is None or not value.strip():
        raise ValueError(f"{what} must not be empty")
    value = value.strip()
    if len(value) > max_chars:
        raise ValueError(f"{what} is longer than {max_chars} characters")
    return value


def _hours(value: float | None, what: str) -> timedelta | None:
    if value is None:
        return None
    if value <= 0:
        raise ValueError(f"{what} must be a positive number of hours, got {value!r}")
    return timedelta(hours=value)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


def mask_contact(kind: str, value: str) -> str:
    """What staff see before revealing a contact: enough to tell two apart, not enough to use one."""
    if kind == ContactKind.EMAIL.value and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) <= 6:
        return "*" * len(value)
    if kind == ContactKind.PHONE.value:
        return value[:3] + "****" + value[-4:]
    return value[:2] + "***" + value[-2:]


class TicketStore:
    """Repository of tickets over one database.

    `bind` is an Engine or a sessionmaker; `clock` is injectable so that tests control time;
    `local_tz` decides the calendar day in ticket numbers (the hotline's day: China time).
    """

    def __init__(
        self,
        bind: Engine | sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
        local_tz: tzinfo = CHINA_TZ,
        follow_up_after_hours: float = DEFAULT_FOLLOW_UP_HOURS,
    ) -> None:
        self._sessions = session_factory(bind) if isinstance(bind, Engine) else bind
        self._clock = clock
        self._local_tz = local_tz
        self.follow_up_after_hours = follow_up_after_hours

    @classmethod
    def from_url(cls, url: str, *, run_migrations: bool = True, **kwargs: Any) -> TicketStore:
        """Open (and by default migrate) the store at `url`, e.g. `get_settings().database_url`."""
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        return cls(engine, **kwargs)

    # -- plumbing -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return _aware(self._clock(), "clock()")

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction (committed on success, rolled back on error)."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A read-only session: on SQLite it takes no write lock, so lookups never wait for writers."""
        with self._sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            yield session

    @staticmethod
    def _lock(session: Session, ticket_id: int) -> Ticket:
        """Load a ticket for change; on PostgreSQL the row lock serialises concurrent changes.

        Every writing method locks the ticket first, so locks are always taken in the same order.
        """
        ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
        if ticket is None:
            raise TicketNotFound(f"no ticket with id {ticket_id}")
        return ticket

    @staticmethod
    def _event(
        session: Session, ticket_id: int, kind: EventKind, actor: str, at: datetime, details: dict[str, Any]
    ) -> Event:
        """Append an event. There is deliberately no function that updates or deletes one."""
        event = Event(ticket_id=ticket_id, kind=kind.value, actor=actor, at=at, details=details)
        session.add(event)
        return event

    def _next_number(self, session: Session, desk: str, at: datetime) -> str:
        """Next readable number `<desk>-<YYYYMMDD>-<seq>` from an atomic per desk/day counter upsert.

        The counter is bumped inside the ticket's transaction, so a rolled-back creation gives its
        number back (no gaps to explain on the phone); on PostgreSQL the counter row lock makes
        concurrent creations of one desk queue for the length of a short transaction.
        """
        day = at.astimezone(self._local_tz).strftime("%Y%m%d")
        dialect = session.get_bind().dialect.name
        seq: int
        if dialect in ("postgresql", "sqlite"):
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = (
                insert(TicketNumberCounter)
                .values(desk=desk, day=day, last_seq=1)
                .on_conflict_do_update(
                    index_elements=[TicketNumberCounter.desk, TicketNumberCounter.day],
                    set_={"last_seq": TicketNumberCounter.last_seq + 1},
                )
                .returning(TicketNumberCounter.last_seq)
            )
            seq = session.execute(stmt).scalar_one()
        else:  # portable fallback: lock, then bump or insert (a racing insert fails and is retried)
            counter = session.get(TicketNumberCounter, (desk, day), with_for_update=True)
            if counter is None:
                counter = TicketNumberCounter(desk=desk, day=day, last_seq=0)
                session.add(counter)
            counter.last_seq += 1
            seq = counter.last_seq
        return f"{desk}-{day}-{seq:04d}"

    def _by_key(self, idempotency_key: str) -> Ticket | None:
        with self._read() as session:
            return session.scalars(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).one_or_none()

    # -- creation and person-side lookups ---------------------------------------------------------

    def create_ticket(
        self,
        *,
        desk: str,
        route: Route | str,
        conversation_id: str,
        channel: Channel | str,
        idempotency_key: str,
        summary: str,
        priority: Priority | str = Priority.NORMAL,
        category: str | None = None,
        category_l1: str | None = None,
        triage_signals: dict[str, Any] | None = None,
        sla_first_response_hours: float | None = None,
        sla_resolution_hours: float | None = None,
        transcript: Sequence[tuple[Sender | str, str]] = (),
        actor: str = "bot",
    ) -> Ticket:
        """Record a request and return its ticket; the same `idempotency_key` returns the same ticket.

        `summary` is masked before it is stored. Closed records (refer/emergency/decline/faq) start in
        their final status and carry no SLA. A crisis is always urgent and its first response is due
        within 15 minutes. `transcript` lines are stored in the same transaction as the ticket, so a
        retried escalation never duplicates them.
        """
        if not _DESK.match(desk):
            raise ValueError(f"invalid desk {desk!r}")
        route_value = _value(Route, route, "route")
        priority_value = _value(Priority, priority, "priority")
        channel_value = _value(Channel, channel, "channel")
        conversation_id = _text(conversation_id, "conversation_id", 200)
        idempotency_key = _text(idempotency_key, "idempotency_key", 200)
        lines = [(_value(Sender, sender, "sender"), text) for sender, text in transcript]
        first_response = _hours(sla_first_response_hours, "sla_first_response_hours")
        resolution = _hours(sla_resolution_hours, "sla_resolution_hours")
        status = INITIAL_STATUS[route_value]
        if route_value == Route.CRISIS.value:
            priority_value = Priority.URGENT.value
            crisis_limit = timedelta(hours=CRISIS_FIRST_RESPONSE_HOURS)
            first_response = min(first_response or crisis_limit, crisis_limit)
        if status not in OPEN_STATUSES:
            first_response = resolution = None

        for _attempt in range(MAX_CREATE_ATTEMPTS):
            existing = self._by_key(idempotency_key)
            if existing is not None:
                if existing.conversation_id != conversation_id:
                    raise IdempotencyConflict("idempotency key already used by another conversation")
                return existing
            try:
                with self._tx() as session:
                    now = self._now()
                    ticket = Ticket(
                        number=self._next_number(session, desk, now),
                        desk=desk,
                        route=route_value,
                        category=category,
                        category_l1=category_l1,
                        priority=priority_value,
                        status=status,
                        summary_redacted=mask(summary or ""),
                        triage_signals=dict(triage_signals or {}),
                        sla_first_response_due=now + first_response if first_response else None,
                        sla_resolution_due=now + resolution if resolution else None,
                        created_at=now,
                        updated_at=now,
                        channel=channel_value,
                        conversation_id=conversation_id,
                        idempotency_key=idempotency_key,
                    )
                    session.add(ticket)
                    session.flush()
                    for seq, (sender, text) in enumerate(lines, start=1):
                        session.add(Message(ticket_id=ticket.id, seq=seq, sender=sender, text=text, created_at=now))
                    details = {
                        "number": ticket.number,
                        "route": route_value,
                        "status": status,
                        "priority": priority_value,
                        "category": category,
                        "channel": channel_value,
                    }
                    self._event(session, ticket.id, EventKind.CREATED, actor, now, details)
                return ticket
            except IntegrityError:
                # Lost a race on the idempotency key: the re-select at the top returns the winner's ticket.
                # (A number collision, possible only if the counter table was edited, takes the next one.)
                continue
        raise TicketError(f"could not create a ticket for key {idempotency_key!r} in {MAX_CREATE_ATTEMPTS} tries")

    def tickets_for_conversation(self, conversation_id: str, *, limit: int = 20) -> list[Ticket]:
        """The person's own tickets, newest first: status lookups never cross conversations."""
        with self._read() as session:
            return list(
                session.scalars(
                    select(Ticket)
                    .where(Ticket.conversation_id == conversation_id)
                    .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                    .limit(limit)
                )
            )

    def get_by_number(self, number: str, conversation_id: str) -> Ticket | None:
        """A ticket by the number a person typed, only if it belongs to their conversation.

        Someone else's number yields None, exactly like an unknown one (no existence oracle).
        """
        number = (number or "").strip()
        if not _NUMBER.match(number):
            return None
        with self._read() as session:
            return session.scalars(
                select(Ticket).where(Ticket.number == number, Ticket.conversation_id == conversation_id)
            ).one_or_none()

    # -- staff-side reads ------------------------------------------------------------------------

    def get(self, ticket_id: int) -> Ticket:
        """A ticket by id, for staff tools (no identity check: the console authorises)."""
        with self._read() as session:
            ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"no ticket with id {ticket_id}")
        return ticket

    def transcript(self, ticket_id: int, *, masked: bool = True) -> list[TranscriptLine]:
        """The whole conversation in order; masked by default, as staff views are."""
        with self._read() as session:
            messages = session.scalars(
                select(Message).where(Message.ticket_id == ticket_id).order_by(Message.seq)
            ).all()
        return [
            TranscriptLine(m.seq, m.sender, mask(m.text) if masked else m.text, m.created_at, m.staff_user)
            for m in messages
        ]

    def events(self, ticket_id: int) -> list[Event]:
        """The audit trail of a ticket, oldest first."""
        with self._read() as session:
            return list(session.scalars(select(Event).where(Event.ticket_id == ticket_id).order_by(Event.id)))

    def follow_ups(self, ticket_id: int) -> list[FollowUp]:
        with self._read() as session:
            stmt = select(FollowUp).where(FollowUp.ticket_id == ticket_id).order_by(FollowUp.id)
            return list(session.scalars(stmt))

    def rating(self, ticket_id: int) -> Rating | None:
        with self._read() as session:
            return session.scalars(select(Rating).where(Rating.ticket_id == ticket_id)).one_or_none()

    def staff_audit_log(self, *, ticket_id: int | None = None, limit: int = 100) -> list[StaffAuditEntry]:
        """Newest entries first."""
        with self._read() as session:
            stmt = select(StaffAuditEntry).order_by(StaffAuditEntry.id.desc()).limit(limit)
            if ticket_id is not None:
                stmt = stmt.where(StaffAuditEntry.ticket_id == ticket_id)
            return list(session.scalars(stmt))

    # -- transcript ------------------------------------------------------------------------------

    def add_message(self, ticket_id: int, sender: Sender | str, text: str, *, staff_user: str | None = None) -> Message:
        """Append a message to the transcript, stored as sent.

        A person's message on a ticket waiting for them puts it back in progress: staff see at once
        that the ball is in their court again. Staff replies should go through `record_staff_reply`.
        """
        sender_value = _value(Sender, sender, "sender")
        if sender_value == Sender.STAFF.value:
            staff_user = _text(staff_user, "staff_user")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            message = self._append_message(session, ticket, sender_value, text, staff_user)
            if sender_value == Sender.PERSON.value and ticket.status == WAITING:
                self._set_status(session, ticket, IN_PROGRESS, "person", "person replied")
        return message

    def _append_message(
        self, session: Session, ticket: Ticket, sender: str, text: str, staff_user: str | None
    ) -> Message:
        """Next seq under the ticket lock; the (ticket_id, seq) unique constraint backs it up."""
        now = self._now()
        last = session.scalar(select(func.max(Message.seq)).where(Message.ticket_id == ticket.id))
        message = Message(
            ticket_id=ticket.id, seq=(last or 0) + 1, sender=sender, text=text, created_at=now, staff_user=staff_user
        )
        session.add(message)
        ticket.updated_at = now
        session.flush()
        return message

    # -- handling --------------------------------------------------------------------------------

    def _set_status(self, session: Session, ticket: Ticket, new: str, actor: str, reason: str | None) -> None:
        old = ticket.status
        if new not in TRANSITIONS[old]:
            raise InvalidTransition(f"ticket {ticket.number}: {old} -> {new} is not allowed")
        reopening = old in (RESOLVED, CLOSED) and new == IN_PROGRESS
        if old == CLOSED and (ticket.resolved_at is None or ticket.route not in HANDLED_ROUTES):
            raise InvalidTransition(f"ticket {ticket.number} was closed without being handled: cannot reopen")
        now = self._now()
        ticket.status = new
        ticket.updated_at = now
        if new == RESOLVED:
            ticket.resolved_at = now
        elif reopening:
            ticket.resolved_at = None  # the earlier resolution stays in the events
        self._event(
            session, ticket.id, EventKind.STATUS_CHANGED, actor, now, {"old": old, "new": new, "reason": reason}
        )
        if reopening or new in (DECLINED, REFERRED):
            self._cancel_follow_ups(session, ticket.id, actor, now, f"ticket {old} -> {new}")

    def change_status(
        self,
        ticket_id: int,
        status: Status | str,
        *,
        actor: str,
        reason: str | None = None,
        follow_up_after_hours: float | None = None,
    ) -> Ticket:
        """Move a ticket along the transition table (anything else raises InvalidTransition).

        Resolving schedules the return visit after `follow_up_after_hours` (default: the store's).
        Reopening cancels a pending visit; closing keeps it (the visit confirms the closure).
        """
        new = _value(Status, status, "status")
        actor = _text(actor, "actor")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            self._set_status(session, ticket, new, actor, reason)
            if new == RESOLVED:
                hours = follow_up_after_hours if follow_up_after_hours is not None else self.follow_up_after_hours
                self._schedule(session, ticket, self._now() + timedelta(hours=hours), actor)
        return ticket

    def assign(self, ticket_id: int, *, assignee: str, actor: str, department: str | None = None) -> Ticket:
        """Give the ticket to a handler; the first one becomes `first_handler` and stays accountable."""
        assignee = _text(assignee, "assignee")
        actor = _text(actor, "actor")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            self._require_handleable(ticket, "assign")
            now = self._now()
            previous = ticket.assignee
            ticket.assignee = assignee
            if department is not None:
                ticket.department = department
            if ticket.first_handler is None:
                ticket.first_handler = assignee
            ticket.updated_at = now
            details = {
                "assignee": assignee,
                "department": ticket.department,
                "previous": previous,
                "first_handler": ticket.first_handler,
            }
            self._event(session, ticket.id, EventKind.ASSIGNED, actor, now, details)
        return ticket

    def transfer(
        self, ticket_id: int, *, assignee: str, actor: str, reason: str, department: str | None = None
    ) -> Ticket:
        """Hand an assigned ticket to another handler or department; `first_handler` does not change."""
        assignee = _text(assignee, "assignee")
        actor = _text(actor, "actor")
        reason = _text(reason, "reason", 1000)
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            self._require_handleable(ticket, "transfer")
            if ticket.assignee is None:
                raise InvalidTransition(f"ticket {ticket.number} is not assigned yet: assign it first")
            now = self._now()
            details = {
                "from_assignee": ticket.assignee,
                "from_department": ticket.department,
                "to_assignee": assignee,
                "to_department": department if department is not None else ticket.department,
                "reason": reason,
                "first_handler": ticket.first_handler,
            }
            ticket.assignee = assignee
            ticket.department = details["to_department"]
            ticket.updated_at = now
            self._event(session, ticket.id, EventKind.TRANSFERRED, actor, now, details)
        return ticket

    def change_category(
        self, ticket_id: int, *, category: str | None, actor: str, category_l1: str | None = None
    ) -> Ticket:
        """Correct the triage category; the old one stays in the event (material for classifier review)."""
        actor = _text(actor, "actor")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            details = {
                "old": {"category": ticket.category, "category_l1": ticket.category_l1},
                "new": {"category": category, "category_l1": category_l1},
            }
            ticket.category = category
            ticket.category_l1 = category_l1
            ticket.updated_at = now
            self._event(session, ticket.id, EventKind.CATEGORY_CHANGED, actor, now, details)
        return ticket

    def record_safety_feedback(self, ticket_id: int, *, verdict: SafetyVerdict | str, actor: str) -> Event:
        """Staff say the safety screen was wrong on this ticket: a false alarm or a missed crisis.

        Only recorded (an admin decides whether the screen learns from it); the ticket itself does
        not change, and a missed crisis still needs staff to act on it.
        """
        actor = _text(actor, "actor")
        verdict = SafetyVerdict(verdict)
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            details = {"verdict": verdict.value, "route": ticket.route}
            return self._event(session, ticket.id, EventKind.SAFETY_FEEDBACK, actor, now, details)

    def add_note(self, ticket_id: int, *, actor: str, text: str) -> Event:
        """An internal note for staff (never sent to the person)."""
        actor = _text(actor, "actor")
        text = _text(text, "note", 5000)
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            ticket.updated_at = now
            return self._event(session, ticket.id, EventKind.NOTE, actor, now, {"text": text})

    def record_staff_reply(self, ticket_id: int, *, staff_user: str, text: str) -> Message:
        """Store a staff reply to the person; the first one sets `first_response_at` (SLA), once.

        A reply to a new ticket also takes it into progress.
        """
        staff_user = _text(staff_user, "staff_user")
        if not text or not text.strip():
            raise ValueError("reply must not be empty")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            message = self._append_message(session, ticket, Sender.STAFF.value, text, staff_user)
            first = ticket.first_response_at is None
            if first:
                ticket.first_response_at = message.created_at
            details = {"seq": message.seq, "first_response": first}
            self._event(session, ticket.id, EventKind.REPLY_SENT, staff_user, message.created_at, details)
            if ticket.status == NEW:
                self._set_status(session, ticket, IN_PROGRESS, staff_user, "first reply")
        return message

    @staticmethod
    def _require_handleable(ticket: Ticket, action: str) -> None:
        if ticket.status not in OPEN_STATUSES and ticket.status != RESOLVED:
            raise InvalidTransition(f"cannot {action} ticket {ticket.number}: it is {ticket.status}")

    # -- follow-ups (return visits) ----------------------------------------------------------------

    def _schedule(self, session: Session, ticket: Ticket, due_at: datetime, actor: str) -> FollowUp:
        now = self._now()
        self._cancel_follow_ups(session, ticket.id, actor, now, "rescheduled")
        follow_up = FollowUp(
            ticket_id=ticket.id, due_at=due_at, attempts=0, status=FollowUpStatus.PENDING.value, created_at=now
        )
        session.add(follow_up)
        session.flush()
        details = {"action": "scheduled", "follow_up_id": follow_up.id, "due_at": due_at.isoformat()}
        self._event(session, ticket.id, EventKind.FOLLOW_UP, actor, now, details)
        return follow_up

    def _cancel_follow_ups(self, session: Session, ticket_id: int, actor: str, now: datetime, why: str) -> None:
        pending = session.scalars(
            select(FollowUp).where(FollowUp.ticket_id == ticket_id, FollowUp.status == FollowUpStatus.PENDING.value)
        ).all()
        for follow_up in pending:
            follow_up.status = FollowUpStatus.CANCELLED.value
            details = {"action": "cancelled", "follow_up_id": follow_up.id, "reason": why}
            self._event(session, ticket_id, EventKind.FOLLOW_UP, actor, now, details)

    def schedule_follow_up(
        self,
        ticket_id: int,
        *,
        actor: str = "system",
        after_hours: float | None = None,
        due_at: datetime | None = None,
    ) -> FollowUp:
        """Schedule (or move) the return visit of a resolved ticket; replaces a pending one."""
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            if ticket.status not in (RESOLVED, CLOSED) or ticket.resolved_at is None:
                raise FollowUpError(f"ticket {ticket.number} was not resolved: nothing to follow up")
            if due_at is None:
                hours = after_hours if after_hours is not None else self.follow_up_after_hours
                due_at = self._now() + timedelta(hours=hours)
            return self._schedule(session, ticket, _aware(due_at, "due_at"), actor)

    def due_follow_ups(self, now: datetime | None = None, *, limit: int = 100) -> list[FollowUp]:
        """Pending return visits whose time has come, oldest first."""
        now = _aware(now, "now") if now is not None else self._now()
        with self._read() as session:
            stmt = (
                select(FollowUp)
                .where(FollowUp.status == FollowUpStatus.PENDING.value, FollowUp.due_at <= now)
                .order_by(FollowUp.due_at, FollowUp.id)
                .limit(limit)
            )
            return list(session.scalars(stmt))

    def record_follow_up_outcome(
        self,
        follow_up_id: int,
        outcome: FollowUpOutcome | str,
        *,
        actor: str,
        retry_after_hours: float = 4.0,
        max_attempts: int = 3,
    ) -> FollowUp:
        """Record one attempt of a return visit and act on it.

        solved: the ticket is closed. not_solved: the ticket is reopened (in progress) for its handler.
        no_answer: tried again after `retry_after_hours`, up to `max_attempts`; then the visit ends and a
        resolved ticket is closed, the reason kept in the events.
        """
        outcome_value = _value(FollowUpOutcome, outcome, "outcome")
        actor = _text(actor, "actor")
        with self._tx() as session:
            ticket_id = session.scalar(select(FollowUp.ticket_id).where(FollowUp.id == follow_up_id))
            if ticket_id is None:
                raise FollowUpError(f"no follow-up with id {follow_up_id}")
            ticket = self._lock(session, ticket_id)  # ticket first: the same lock order as everywhere else
            follow_up = session.scalars(select(FollowUp).where(FollowUp.id == follow_up_id).with_for_update()).one()
            if follow_up.status != FollowUpStatus.PENDING.value:
                raise FollowUpError(f"follow-up {follow_up_id} is {follow_up.status}, not pending")
            now = self._now()
            follow_up.attempts += 1
            follow_up.last_attempt_at = now
            follow_up.outcome = outcome_value
            retry = outcome_value == FollowUpOutcome.NO_ANSWER.value and follow_up.attempts < max_attempts
            if retry:
                follow_up.due_at = now + timedelta(hours=retry_after_hours)
            else:
                follow_up.status = FollowUpStatus.DONE.value
            details = {
                "action": "attempt",
                "follow_up_id": follow_up.id,
                "outcome": outcome_value,
                "attempts": follow_up.attempts,
                "retry_at": follow_up.due_at.isoformat() if retry else None,
            }
            self._event(session, ticket.id, EventKind.FOLLOW_UP, actor, now, details)
            if outcome_value == FollowUpOutcome.NOT_SOLVED.value and ticket.status in (RESOLVED, CLOSED):
                self._set_status(session, ticket, IN_PROGRESS, actor, "follow-up: not solved")
            elif not retry and ticket.status == RESOLVED:
                self._set_status(session, ticket, CLOSED, actor, f"follow-up: {outcome_value}")
        return follow_up

    # -- ratings ---------------------------------------------------------------------------------

    def record_rating(
        self,
        ticket_id: int,
        *,
        solved: bool,
        service_score: int,
        comment: str | None = None,
        conversation_id: str | None = None,
    ) -> Rating:
        """The person's evaluation: once per ticket, only for tickets staff actually handled.

        Declined, referred and auto-closed records are not rated: satisfaction figures must measure
        handling, not the rules ("the satisfaction trap"). Given `conversation_id`, the rating must come
        from the ticket's own conversation. The comment is stored masked.
        """
        if not isinstance(solved, bool):
            raise RatingError("solved must be true or false")
        if isinstance(service_score, bool) or not isinstance(service_score, int) or not 1 <= service_score <= 5:
            raise RatingError("service_score must be an integer from 1 to 5")
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise RatingError(f"comment is longer than {MAX_COMMENT_CHARS} characters")
        try:
            with self._tx() as session:
                ticket = self._lock(session, ticket_id)
                if conversation_id is not None and ticket.conversation_id != conversation_id:
                    raise TicketNotFound(f"no ticket with id {ticket_id}")
                if ticket.route not in HANDLED_ROUTES:
                    raise RatingError(f"ticket {ticket.number} is a {ticket.route} record: not rateable")
                if ticket.status not in (RESOLVED, CLOSED) or ticket.resolved_at is None:
                    raise RatingError(f"ticket {ticket.number} was not resolved by staff: not rateable")
                if session.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None:
                    raise RatingError(f"ticket {ticket.number} is already rated")
                now = self._now()
                rating = Rating(
                    ticket_id=ticket.id,
                    solved=solved,
                    service_score=service_score,
                    comment=mask(comment.strip()) if comment and comment.strip() else None,
                    created_at=now,
                )
                session.add(rating)
                session.flush()
                details = {"solved": solved, "service_score": service_score}
                self._event(session, ticket.id, EventKind.RATED, "person", now, details)
        except IntegrityError:  # a concurrent rating won the unique constraint
            raise RatingError(f"ticket {ticket_id} is already rated") from None
        return rating

    # -- SLA -------------------------------------------------------------------------------------

    def overdue_tickets(self, now: datetime | None = None, *, desk: str | None = None) -> list[Overdue]:
        """Open tickets past a deadline, most urgent first: what the on-duty alert lists.

        First response is overdue until a staff reply; resolution until the ticket is resolved.
        Waiting for the person does not stop the clock (the deadline is the desk's promise).
        """
        now = _aware(now, "now") if now is not None else self._now()
        first_late = and_(Ticket.first_response_at.is_(None), Ticket.sla_first_response_due < now)
        stmt = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), or_(first_late, Ticket.sla_resolution_due < now))
        if desk is not None:
            stmt = stmt.where(Ticket.desk == desk)
        with self._read() as session:
            tickets = session.scalars(stmt).all()
        result: list[Overdue] = []
        for ticket in tickets:
            first_due, resolution_due = ticket.sla_first_response_due, ticket.sla_resolution_due
            if ticket.first_response_at is None and first_due is not None and first_due < now:
                result.append(Overdue(ticket, "first_response", first_due, now - first_due))
            if resolution_due is not None and resolution_due < now:
                result.append(Overdue(ticket, "resolution", resolution_due, now - resolution_due))
        result.sort(key=lambda o: (_PRIORITY_ORDER[o.ticket.priority], o.due_at, o.ticket.id))
        return result

    # -- contacts (personal data) ----------------------------------------------------------------

    def add_contact(
        self,
        ticket_id: int,
        *,
        kind: ContactKind | str,
        value: str,
        consent_text: str,
        consent_at: datetime | None = None,
        actor: str = "bot",
    ) -> ContactView:
        """Store a contact the person agreed to give; `consent_text` is what they agreed to, verbatim.

        Without consent nothing is stored (ConsentRequired). The value never enters an event.
        """
        kind_value = _value(ContactKind, kind, "contact kind")
        if not consent_text or not consent_text.strip():
            raise ConsentRequired("a contact is stored only with the person's consent (consent_text)")
        value = _text(value, "contact value", 200)
        if kind_value == ContactKind.EMAIL.value and not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        if kind_value == ContactKind.PHONE.value and not _PHONE.match(value):
            raise ValueError("not a phone number")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            contact = Contact(
                ticket_id=ticket.id,
                kind=kind_value,
                value=value,
                consent_at=_aware(consent_at, "consent_at") if consent_at else now,
                consent_text=consent_text.strip(),
                created_at=now,
            )
            session.add(contact)
            session.flush()
            details = {"contact_id": contact.id, "kind": kind_value}
            self._event(session, ticket.id, EventKind.CONTACT_ADDED, actor, now, details)
        return self._contact_view(contact)

    @staticmethod
    def _contact_view(contact: Contact) -> ContactView:
        masked = mask_contact(contact.kind, contact.value)
        return ContactView(contact.id, contact.ticket_id, contact.kind, masked, contact.consent_at)

    def contacts(self, ticket_id: int) -> list[ContactView]:
        """A ticket's contacts, masked (listing them is not a reveal)."""
        with self._read() as session:
            rows = session.scalars(select(Contact).where(Contact.ticket_id == ticket_id).order_by(Contact.id)).all()
        return [self._contact_view(contact) for contact in rows]

    def reveal_contact(self, contact_id: int, *, staff_user: str, reason: str) -> str:
        """The clear value of a contact for one staff member, with a reason; audited twice.

        The ticket gets a `contact_revealed` event and the staff audit log an entry, in the same
        transaction as the read: no reveal without its record.
        """
        staff_user = _text(staff_user, "staff_user")
        reason = _text(reason, "reason", 1000)
        with self._tx() as session:
            ticket_id = session.scalar(select(Contact.ticket_id).where(Contact.id == contact_id))
            if ticket_id is None:
                raise TicketNotFound(f"no contact with id {contact_id}")
            self._lock(session, ticket_id)
            contact = session.get_one(Contact, contact_id)
            now = self._now()
            details = {"contact_id": contact.id, "kind": contact.kind, "reason": reason}
            self._event(session, ticket_id, EventKind.CONTACT_REVEALED, staff_user, now, details)
            session.add(
                StaffAuditEntry(
                    staff_user=staff_user,
                    action="contact_revealed",
                    ticket_id=ticket_id,
                    reason=reason,
                    at=now,
                    details={"contact_id": contact.id, "kind": contact.kind},
                )
            )
            return contact.value

    def log_staff_action(
        self,
        *,
        staff_user: str,
        action: str,
        ticket_id: int | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> StaffAuditEntry:
        """Append to the staff audit log (for the console: exports, searches, logins)."""
        entry = StaffAuditEntry(
            staff_user=_text(staff_user, "staff_user"),
            action=_text(action, "action", 64),
            ticket_id=ticket_id,
            reason=reason,
            at=self._now(),
            details=dict(details or {}),
        )
        with self._tx() as session:
            session.add(entry)
        return entry
