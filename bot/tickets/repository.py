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

The store is composed of one part per job, each in its own module: `base` (sessions, locking,
events, input checks), `creation`, `handling`, `follow_ups` (and ratings), `contacts`, `sla` and
`audit`; `rules` holds the transition table, `errors` the refusals and `views` the read-only views.
The names callers imported from here before the split are still importable from here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.privacy import mask, mask_contact
from bot.tickets.audit import StaffAuditMixin
from bot.tickets.contacts import ContactsMixin
from bot.tickets.creation import MAX_CREATE_ATTEMPTS, CreationMixin
from bot.tickets.errors import (
    ConsentRequired,
    FollowUpError,
    IdempotencyConflict,
    InvalidTransition,
    RatingError,
    TicketError,
    TicketNotFound,
)
from bot.tickets.follow_ups import MAX_COMMENT_CHARS, FollowUpsMixin
from bot.tickets.handling import HandlingMixin
from bot.tickets.models import Event, EventText, Message, Ticket
from bot.tickets.rules import (
    CHINA_TZ,
    CLOSED,
    CRISIS_FIRST_RESPONSE_HOURS,
    DECLINED,
    DEFAULT_FOLLOW_UP_HOURS,
    HANDLED_ROUTES,
    IN_PROGRESS,
    INITIAL_STATUS,
    NEW,
    OPEN_STATUSES,
    REFERRED,
    RESOLVED,
    TRANSITIONS,
    WAITING,
)
from bot.tickets.sla import SlaMixin
from bot.tickets.views import ContactView, Overdue, TranscriptLine

__all__ = [
    "CHINA_TZ",
    "CLOSED",
    "CRISIS_FIRST_RESPONSE_HOURS",
    "DECLINED",
    "DEFAULT_FOLLOW_UP_HOURS",
    "HANDLED_ROUTES",
    "INITIAL_STATUS",
    "IN_PROGRESS",
    "MAX_COMMENT_CHARS",
    "MAX_CREATE_ATTEMPTS",
    "NEW",
    "OPEN_STATUSES",
    "REFERRED",
    "RESOLVED",
    "TRANSITIONS",
    "WAITING",
    "ConsentRequired",
    "ContactView",
    "FollowUpError",
    "IdempotencyConflict",
    "InvalidTransition",
    "Overdue",
    "RatingError",
    "TicketError",
    "TicketNotFound",
    "TicketStore",
    "TranscriptLine",
    "mask_contact",
]


class TicketStore(CreationMixin, HandlingMixin, FollowUpsMixin, ContactsMixin, SlaMixin, StaffAuditMixin):
    """Repository of tickets over one database.

    `bind` is an Engine or a sessionmaker; `clock` is injectable so that tests control time;
    `local_tz` decides the calendar day in ticket numbers (the hotline's day: China time).
    """

    @classmethod
    def from_url(cls, url: str, *, run_migrations: bool = True, **kwargs: Any) -> TicketStore:
        """Open (and by default migrate) the store at `url`, e.g. `get_settings().database_url`."""
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        return cls(engine, **kwargs)

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
        """The audit trail of a ticket, oldest first, with each event's free text (notes, reasons) put
        back into its details (they are stored apart, in `ticket_event_texts`, so they can be erased)."""
        with self._read() as session:
            events = list(session.scalars(select(Event).where(Event.ticket_id == ticket_id).order_by(Event.id)))
            texts: dict[int, dict[str, str]] = {}
            for row in session.scalars(select(EventText).where(EventText.ticket_id == ticket_id)):
                texts.setdefault(row.event_id, {})[row.field] = row.text
            session.expunge_all()
        for event in events:
            if event.id in texts:
                event.details = {**(event.details or {}), **texts[event.id]}
        return events
