"""What every part of the ticket store shares: sessions, transactions, the ticket lock, events, checks.

`TicketStore` is composed of one mixin per job (creation, handling, follow-ups, contacts, SLA, staff
audit); they all stand on `StoreBase`, so that a transaction, a lock and an event are taken and
written the same way everywhere, and the input checks refuse bad values with the same words.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import READ_ONLY, session_factory
from bot.tickets.errors import TicketNotFound
from bot.tickets.models import Event, EventKind, EventText, Ticket, utcnow
from bot.tickets.rules import CHINA_TZ, DEFAULT_FOLLOW_UP_HOURS

E = TypeVar("E", bound=enum.Enum)

PERSONAL_DETAIL_KEYS = ("text", "reason")
"""Keys of an event's details that may hold free text typed by staff or the person: stored in
`ticket_event_texts` (deletable), not in the append-only event row."""


def valid_enum(kind: type[E], value: E | str, what: str) -> str:
    """Validate against an enum and return the plain string (psycopg would dump an Enum by its name)."""
    try:
        return str(kind(value).value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise ValueError(f"invalid {what} {value!r}; expected one of: {allowed}") from None


def valid_text(value: str | None, what: str, max_chars: int = 120) -> str:
    """The stripped text; empty or longer than `max_chars` raises ValueError."""
    if value is None or not value.strip():
        raise ValueError(f"{what} must not be empty")
    value = value.strip()
    if len(value) > max_chars:
        raise ValueError(f"{what} is longer than {max_chars} characters")
    return value


def valid_hours(value: float | None, what: str) -> timedelta | None:
    """A positive number of hours as a timedelta (None stays None)."""
    if value is None:
        return None
    if value <= 0:
        raise ValueError(f"{what} must be a positive number of hours, got {value!r}")
    return timedelta(hours=value)


def valid_aware(value: datetime, what: str) -> datetime:
    """An aware datetime in UTC; a naive one raises ValueError."""
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


class StoreBase:
    """Sessions, clock and the shared plumbing of the store's parts.

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

    def _now(self) -> datetime:
        return valid_aware(self._clock(), "clock()")

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

    def reading(self) -> AbstractContextManager[Session]:
        """A read-only session on the store's database, for readers of the other tables kept there
        (a ticket's transcript is read from the gateway's record of the conversation)."""
        return self._read()

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
        """Append an event. There is deliberately no function that updates or deletes one.

        Free text in `details` (PERSONAL_DETAIL_KEYS) goes to `ticket_event_texts`, so erasing a
        person's data never needs to touch the event; the returned event shows the whole details.
        """
        texts = {k: details[k] for k in PERSONAL_DETAIL_KEYS if isinstance(details.get(k), str)}
        structure = {k: v for k, v in details.items() if k not in texts}
        event = Event(ticket_id=ticket_id, kind=kind.value, actor=actor, at=at, details=structure)
        session.add(event)
        if texts:
            session.flush()
            session.add_all(
                EventText(event_id=event.id, ticket_id=ticket_id, field=k, text=v) for k, v in texts.items()
            )
            session.flush()
            session.expunge(event)  # a detached snapshot: the merged details below are never written
            event.details = {**structure, **texts}
        return event
