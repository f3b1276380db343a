"""Staff handling of a ticket: status, assignment, transfer, category, notes, replies, safety feedback.

Everything a handler does to an open ticket is here, each change under the ticket lock and with its
event: the first handler stays accountable through transfers, a corrected category keeps the old one
for classifier review, and the first staff reply stops the first-response clock. A person's message
is here too, because it hands a waiting ticket back to staff.
"""

from __future__ import annotations

from datetime import timedelta

from bot.tickets.base import valid_enum, valid_text
from bot.tickets.errors import InvalidTransition
from bot.tickets.lifecycle import LifecycleBase
from bot.tickets.models import Event, EventKind, Message, SafetyVerdict, Sender, Status, Ticket
from bot.tickets.rules import IN_PROGRESS, NEW, RESOLVED, WAITING


class HandlingMixin(LifecycleBase):
    """The changes staff (and a replying person) make to a ticket while it is being handled."""

    def add_message(self, ticket_id: int, sender: Sender | str, text: str, *, staff_user: str | None = None) -> Message:
        """Append a message to the transcript, stored as sent.

        A person's message on a ticket waiting for them puts it back in progress: staff see at once
        that the ball is in their court again. Staff replies should go through `record_staff_reply`.
        """
        sender_value = valid_enum(Sender, sender, "sender")
        if sender_value == Sender.STAFF.value:
            staff_user = valid_text(staff_user, "staff_user")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            message = self._append_message(session, ticket, sender_value, text, staff_user)
            if sender_value == Sender.PERSON.value and ticket.status == WAITING:
                self._set_status(session, ticket, IN_PROGRESS, "person", "person replied")
        return message

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
        new = valid_enum(Status, status, "status")
        actor = valid_text(actor, "actor")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            self._set_status(session, ticket, new, actor, reason)
            if new == RESOLVED:
                hours = follow_up_after_hours if follow_up_after_hours is not None else self.follow_up_after_hours
                self._schedule(session, ticket, self._now() + timedelta(hours=hours), actor)
        return ticket

    def assign(self, ticket_id: int, *, assignee: str, actor: str, department: str | None = None) -> Ticket:
        """Give the ticket to a handler; the first one becomes `first_handler` and stays accountable."""
        assignee = valid_text(assignee, "assignee")
        actor = valid_text(actor, "actor")
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
        assignee = valid_text(assignee, "assignee")
        actor = valid_text(actor, "actor")
        reason = valid_text(reason, "reason", 1000)
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
        actor = valid_text(actor, "actor")
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
        actor = valid_text(actor, "actor")
        verdict = SafetyVerdict(verdict)
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            details = {"verdict": verdict.value, "route": ticket.route}
            return self._event(session, ticket.id, EventKind.SAFETY_FEEDBACK, actor, now, details)

    def add_note(self, ticket_id: int, *, actor: str, text: str) -> Event:
        """An internal note for staff (never sent to the person)."""
        actor = valid_text(actor, "actor")
        text = valid_text(text, "note", 5000)
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            ticket.updated_at = now
            return self._event(session, ticket.id, EventKind.NOTE, actor, now, {"text": text})

    def record_staff_reply(self, ticket_id: int, *, staff_user: str, text: str) -> Message:
        """Store a staff reply to the person; the first one sets `first_response_at` (SLA), once.

        A reply to a new ticket also takes it into progress.
        """
        staff_user = valid_text(staff_user, "staff_user")
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
