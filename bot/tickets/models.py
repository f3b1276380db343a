"""Tables of the ticket store (SQLAlchemy 2 typed declarative models).

The vocabulary (routes, statuses, priorities, channels) is fixed by docs/triage-spec.md; it is kept
as `str` enums so that callers may pass either the enum or its plain string, and the columns hold
plain strings (readable in SQL, in exports and in analytics). The schema itself is created only by
the Alembic migrations in `bot/db/migrations/`; a test checks that both agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class _Vocabulary(str, enum.Enum):
    """A word of the shared vocabulary: compares, prints and formats as its plain string."""

    def __str__(self) -> str:
        return str(self.value)


class Route(_Vocabulary):
    """What triage decided for the first message (the subset that is recorded as a ticket)."""

    TICKET = "ticket"
    CRISIS = "crisis"
    REFER = "refer"
    DECLINE = "decline"
    EMERGENCY = "emergency"
    FAQ = "faq"


class Status(_Vocabulary):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_PERSON = "waiting_for_person"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DECLINED = "declined"
    REFERRED = "referred"


class Priority(_Vocabulary):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class Channel(_Vocabulary):
    TELEGRAM = "telegram"
    WEB = "web"
    REST = "rest"
    TERMINAL = "terminal"


class Sender(_Vocabulary):
    PERSON = "person"
    BOT = "bot"
    STAFF = "staff"


class EventKind(_Vocabulary):
    """Kinds of audit events; new kinds need no migration (the column is free text on purpose)."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    TRANSFERRED = "transferred"
    NOTE = "note"
    REPLY_SENT = "reply_sent"
    CATEGORY_CHANGED = "category_changed"
    CONTACT_ADDED = "contact_added"
    CONTACT_REVEALED = "contact_revealed"
    FOLLOW_UP = "follow_up"
    RATED = "rated"
    SAFETY_FEEDBACK = "safety_feedback"


class SafetyVerdict(_Vocabulary):
    """What staff said of the safety screen's decision on a ticket (material for the screen's review)."""

    FALSE_ALARM = "false_alarm"
    """Routed as a crisis, but the person was not at risk."""
    MISSED_CRISIS = "missed_crisis"
    """Not routed as a crisis, but it was one."""


class FollowUpOutcome(_Vocabulary):
    SOLVED = "solved"
    NOT_SOLVED = "not_solved"
    NO_ANSWER = "no_answer"


class FollowUpStatus(_Vocabulary):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class ContactKind(_Vocabulary):
    PHONE = "phone"
    WECHAT = "wechat"
    EMAIL = "email"


def _in(column: str, values: type[enum.Enum]) -> str:
    """A CHECK expression limiting `column` to an enum's values (same text in model and migration)."""
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zone type and hands back naive values; PostgreSQL uses timestamptz. Naive
    input is refused because a naive "now" from the wrong clock silently shifts SLA deadlines by 8 h.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ticket store; pass an aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Metadata of the ticket store's tables only (the gateway keeps its own)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Ticket(Base):
    """One recorded request: in-scope tickets and the closed records of referred/declined matters."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("route", Route), name="route"),
        CheckConstraint(_in("status", Status), name="status"),
        CheckConstraint(_in("priority", Priority), name="priority"),
        CheckConstraint(_in("channel", Channel), name="channel"),
        Index("ix_tickets_status_priority", "status", "priority"),
        Index("ix_tickets_desk_created_at", "desk", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    desk: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(80))
    category_l1: Mapped[str | None] = mapped_column(String(80))
    priority: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    summary_redacted: Mapped[str] = mapped_column(Text)
    triage_signals: Mapped[dict[str, Any]]
    sla_first_response_due: Mapped[datetime | None]
    sla_resolution_due: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    channel: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    assignee: Mapped[str | None] = mapped_column(String(120))
    department: Mapped[str | None] = mapped_column(String(120))
    first_handler: Mapped[str | None] = mapped_column(String(120))
    # set when retention or an erasure request emptied the personal fields (migration 0009)
    anonymised_at: Mapped[datetime | None]


class Message(Base):
    """One line of the transcript, stored as sent (masked views are made on read)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq"),
        CheckConstraint(_in("sender", Sender), name="sender"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    staff_user: Mapped[str | None] = mapped_column(String(120))


class Event(Base):
    """Append-only audit trail of a ticket (database triggers reject UPDATE and DELETE)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]]


class EventText(Base):
    """Free text of an event (a note, a reason typed by staff), apart from the append-only event row.

    Deletable: erasure and retention remove it while the event itself (kind, actor, time) stays, so
    the audit chain is intact and holds no personal text (migration 0009).
    """

    __tablename__ = "ticket_event_texts"
    __table_args__ = (UniqueConstraint("event_id", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)


class RetentionLease(Base):
    """Who runs a periodic job now: one row per job, held until `expires_at` (the purge, the return-visit
    and SLA leader, each desk's Telegram poller: one of each in a cluster; bot/db/leases.py)."""

    __tablename__ = "retention_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]
    # when the holder last renewed it (bot/db/leases.py; leader leases are renewed on every run)
    renewed_at: Mapped[datetime | None]


class SlaAlert(Base):
    """When staff were last alerted about one missed deadline of a ticket (the SLA watch's memory,
    shared by every instance: a leader that takes over does not alert again at once)."""

    __tablename__ = "ticket_sla_alerts"

    ticket_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deadline: Mapped[str] = mapped_column(String(16), primary_key=True)
    alerted_at: Mapped[datetime]


class FollowUp(Base):
    """A return visit ("one matter, one reply"): ask the person whether the matter was solved."""

    __tablename__ = "ticket_follow_ups"
    __table_args__ = (
        CheckConstraint(_in("status", FollowUpStatus), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', FollowUpOutcome)}", name="outcome"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_ticket_follow_ups_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Rating(Base):
    """The person's evaluation of a handled ticket: at most one per ticket."""

    __tablename__ = "ticket_ratings"
    __table_args__ = (CheckConstraint("service_score BETWEEN 1 AND 5", name="service_score"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    solved: Mapped[bool] = mapped_column(Boolean)
    service_score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Contact(Base):
    """Contact details, kept apart from the ticket and stored only with the person's consent."""

    __tablename__ = "ticket_contacts"
    __table_args__ = (CheckConstraint(_in("kind", ContactKind), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(200))
    consent_at: Mapped[datetime]
    consent_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class StaffAuditEntry(Base):
    """What a staff member did and why (contact reveals today; console actions later). Append-only."""

    __tablename__ = "staff_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]]


class TicketNumberCounter(Base):
    """Last sequence number handed out per desk and (China) calendar day; bumped by an atomic upsert."""

    __tablename__ = "ticket_number_counters"

    desk: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


APPEND_ONLY_TABLES = (Event.__tablename__, StaffAuditEntry.__tablename__)


def utcnow() -> datetime:
    return datetime.now(UTC)
