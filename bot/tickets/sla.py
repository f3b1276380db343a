"""The SLA view of the store: which open tickets missed a deadline, most urgent first.

The follow-up scheduler reads it for the on-duty alert (`bot/followups/scheduler.py`). It only reads:
the deadlines are set when a ticket is created, and the first staff reply and the resolution stop them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from bot.tickets.base import StoreBase, valid_aware
from bot.tickets.models import Ticket
from bot.tickets.rules import OPEN_STATUSES, PRIORITY_ORDER
from bot.tickets.views import Overdue


class SlaMixin(StoreBase):
    """Missed first-response and resolution deadlines of open tickets."""

    def overdue_tickets(self, now: datetime | None = None, *, desk: str | None = None) -> list[Overdue]:
        """Open tickets past a deadline, most urgent first: what the on-duty alert lists.

        First response is overdue until a staff reply; resolution until the ticket is resolved.
        Waiting for the person does not stop the clock (the deadline is the desk's promise).
        """
        now = valid_aware(now, "now") if now is not None else self._now()
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
        result.sort(key=lambda o: (PRIORITY_ORDER[o.ticket.priority], o.due_at, o.ticket.id))
        return result
