"""Return visits and the person's rating: what happens after staff resolve a ticket.

"Every matter followed up": resolving schedules a return visit, and its outcome closes the ticket or
reopens it for its handler. The rating sits beside it because both judge the same resolution, and
both may only concern tickets staff really handled (satisfaction must measure handling, not rules).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.privacy import mask
from bot.tickets.base import valid_aware, valid_enum, valid_text
from bot.tickets.errors import FollowUpError, RatingError, TicketNotFound
from bot.tickets.lifecycle import LifecycleBase
from bot.tickets.models import EventKind, FollowUp, FollowUpOutcome, FollowUpStatus, Rating, SlaAlert
from bot.tickets.rules import CLOSED, HANDLED_ROUTES, IN_PROGRESS, RESOLVED

MAX_COMMENT_CHARS = 1000


class FollowUpsMixin(LifecycleBase):
    """Scheduling and recording return visits, and recording and reading the rating."""

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
            return self._schedule(session, ticket, valid_aware(due_at, "due_at"), actor)

    def due_follow_ups(self, now: datetime | None = None, *, limit: int = 100) -> list[FollowUp]:
        """Pending return visits whose time has come, oldest first."""
        now = valid_aware(now, "now") if now is not None else self._now()
        with self._read() as session:
            stmt = (
                select(FollowUp)
                .where(FollowUp.status == FollowUpStatus.PENDING.value, FollowUp.due_at <= now)
                .order_by(FollowUp.due_at, FollowUp.id)
                .limit(limit)
            )
            return list(session.scalars(stmt))

    def claim_follow_up(self, visit: FollowUp, now: datetime, until: datetime) -> bool:
        """Take a due return visit before its question is sent: its `due_at` moves to `until`, on the
        condition that it is still due at `now` and nobody recorded an attempt since `visit` was read. Of two
        instances that try, one wins; the loser sends nothing. A send that fails leaves the visit to
        come due again at `until`."""
        until, now = valid_aware(until, "until"), valid_aware(now, "now")
        with self._tx() as session:
            claimed = session.execute(
                update(FollowUp)
                .where(
                    FollowUp.id == visit.id,
                    FollowUp.status == FollowUpStatus.PENDING.value,
                    FollowUp.attempts == visit.attempts,
                    FollowUp.due_at <= now,
                )
                .values(due_at=until)
            )
            return bool(getattr(claimed, "rowcount", 0))

    def unclaim_follow_up(self, visit: FollowUp, due_at: datetime) -> None:
        """Give a claimed visit back after a failed send: due again at `due_at` (the next run)."""
        due_at = valid_aware(due_at, "due_at")
        with self._tx() as session:
            session.execute(
                update(FollowUp)
                .where(
                    FollowUp.id == visit.id,
                    FollowUp.status == FollowUpStatus.PENDING.value,
                    FollowUp.attempts == visit.attempts,
                )
                .values(due_at=due_at)
            )

    def claim_sla_alert(self, ticket_id: int, deadline: str, now: datetime, every: timedelta) -> bool:
        """May staff be alerted about this missed deadline now (none sent within `every`, by any
        instance)? When so it is recorded as sent, in the same statement that checks."""
        now = valid_aware(now, "now")
        with self._tx() as session:
            renewed = session.execute(
                update(SlaAlert)
                .where(
                    SlaAlert.ticket_id == ticket_id, SlaAlert.deadline == deadline, SlaAlert.alerted_at <= now - every
                )
                .values(alerted_at=now)
            )
            if getattr(renewed, "rowcount", 0):
                return True
        try:
            with self._tx() as session:
                session.add(SlaAlert(ticket_id=ticket_id, deadline=deadline, alerted_at=now))
            return True
        except IntegrityError:  # alerted recently (the row exists and was not due)
            return False

    def forget_sla_alerts(self, keep: set[tuple[int, str]]) -> int:
        """Drop the memory of deadlines no longer missed (handled tickets leave the watch list)."""
        with self._tx() as session:
            rows = session.execute(select(SlaAlert.ticket_id, SlaAlert.deadline)).all()
            gone = [(t, d) for t, d in rows if (t, d) not in keep]
            for ticket_id, deadline in gone:
                session.execute(delete(SlaAlert).where(SlaAlert.ticket_id == ticket_id, SlaAlert.deadline == deadline))
            return len(gone)

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
        outcome_value = valid_enum(FollowUpOutcome, outcome, "outcome")
        actor = valid_text(actor, "actor")
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

    def follow_ups(self, ticket_id: int) -> list[FollowUp]:
        with self._read() as session:
            stmt = select(FollowUp).where(FollowUp.ticket_id == ticket_id).order_by(FollowUp.id)
            return list(session.scalars(stmt))

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

    def rating(self, ticket_id: int) -> Rating | None:
        with self._read() as session:
            return session.scalars(select(Rating).where(Rating.ticket_id == ticket_id)).one_or_none()
