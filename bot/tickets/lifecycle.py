"""The internal steps that more than one part of the store takes: status changes, return visits, messages.

Handling (staff change a status) and follow-ups (a return visit reopens or closes a ticket) both move
a ticket along the transition table, and both schedule or cancel return visits; a person's message
and a staff reply both append to the transcript. These steps are kept here, under the lock the caller
already holds, so that each rule is written once and every path writes the same events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.tickets.base import StoreBase
from bot.tickets.errors import InvalidTransition
from bot.tickets.models import EventKind, FollowUp, FollowUpStatus, Message, Ticket
from bot.tickets.rules import (
    CLOSED,
    DECLINED,
    HANDLED_ROUTES,
    IN_PROGRESS,
    OPEN_STATUSES,
    REFERRED,
    RESOLVED,
    TRANSITIONS,
)


class LifecycleBase(StoreBase):
    """Status transitions, return-visit scheduling and transcript appends, inside a caller's transaction."""

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

    @staticmethod
    def _require_handleable(ticket: Ticket, action: str) -> None:
        if ticket.status not in OPEN_STATUSES and ticket.status != RESOLVED:
            raise InvalidTransition(f"cannot {action} ticket {ticket.number}: it is {ticket.status}")

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
