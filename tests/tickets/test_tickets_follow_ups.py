"""Return visits: scheduled on resolve, due after N hours, outcomes close or reopen the ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.tickets.errors import FollowUpError
from bot.tickets.repository import TicketStore


def _resolved(store: TicketStore, new_ticket, **kwargs):
    ticket = new_ticket()
    store.change_status(ticket.id, "resolved", actor="staff:li", **kwargs)
    return ticket


def test_resolving_schedules_a_follow_up_after_n_hours(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket, follow_up_after_hours=48)
    [follow_up] = store.follow_ups(ticket.id)
    assert follow_up.status == "pending" and follow_up.attempts == 0
    assert follow_up.due_at == clock.now + timedelta(hours=48)
    assert store.due_follow_ups(clock.now + timedelta(hours=47)) == []
    assert [f.id for f in store.due_follow_ups(clock.now + timedelta(hours=48))] == [follow_up.id]


def test_store_default_follow_up_delay(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    assert store.follow_ups(ticket.id)[0].due_at == clock.now + timedelta(hours=24)


def test_due_follow_ups_are_oldest_first(store: TicketStore, new_ticket, clock) -> None:
    later = _resolved(store, new_ticket, follow_up_after_hours=10)
    earlier = _resolved(store, new_ticket, follow_up_after_hours=5)
    due = store.due_follow_ups(clock.now + timedelta(hours=11))
    assert [f.ticket_id for f in due] == [earlier.id, later.id]


def test_solved_closes_the_ticket(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    [follow_up] = store.due_follow_ups(clock.advance(hours=25))
    done = store.record_follow_up_outcome(follow_up.id, "solved", actor="visitor:zhou")
    assert (done.status, done.outcome, done.attempts, done.last_attempt_at) == ("done", "solved", 1, clock.now)
    assert store.get(ticket.id).status == "closed"
    assert store.due_follow_ups(clock.advance(hours=100)) == []
    with pytest.raises(FollowUpError):
        store.record_follow_up_outcome(follow_up.id, "solved", actor="visitor:zhou")


def test_not_solved_reopens_the_ticket(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    [follow_up] = store.due_follow_ups(clock.advance(hours=25))
    store.record_follow_up_outcome(follow_up.id, "not_solved", actor="visitor:zhou")
    reopened = store.get(ticket.id)
    assert reopened.status == "in_progress" and reopened.resolved_at is None


def test_not_solved_after_closure_reopens_too(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    store.change_status(ticket.id, "closed", actor="staff:li")  # closing keeps the pending visit
    [follow_up] = store.due_follow_ups(clock.advance(hours=25))
    store.record_follow_up_outcome(follow_up.id, "not_solved", actor="visitor:zhou")
    assert store.get(ticket.id).status == "in_progress"


def test_no_answer_is_retried_then_closes(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    [follow_up] = store.due_follow_ups(clock.advance(hours=25))
    retry = store.record_follow_up_outcome(follow_up.id, "no_answer", actor="visitor:zhou", retry_after_hours=4)
    assert (retry.status, retry.attempts, retry.due_at) == ("pending", 1, clock.now + timedelta(hours=4))
    assert store.due_follow_ups(clock.now + timedelta(hours=3)) == []
    store.record_follow_up_outcome(follow_up.id, "no_answer", actor="visitor:zhou", max_attempts=2)
    assert store.follow_ups(ticket.id)[0].status == "done"
    assert store.get(ticket.id).status == "closed"
    attempts = [e for e in store.events(ticket.id) if e.kind == "follow_up" and e.details["action"] == "attempt"]
    assert [e.details["attempts"] for e in attempts] == [1, 2]


def test_reopening_cancels_the_pending_visit(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    store.change_status(ticket.id, "in_progress", actor="staff:li", reason="person called back")
    assert [f.status for f in store.follow_ups(ticket.id)] == ["cancelled"]
    store.change_status(ticket.id, "resolved", actor="staff:li")
    assert [f.status for f in store.follow_ups(ticket.id)] == ["cancelled", "pending"]
    assert len(store.due_follow_ups(clock.now + timedelta(hours=30))) == 1


def test_manual_schedule_replaces_the_pending_visit(store: TicketStore, new_ticket, clock) -> None:
    ticket = _resolved(store, new_ticket)
    moved = store.schedule_follow_up(ticket.id, after_hours=72, actor="staff:li")
    assert moved.due_at == clock.now + timedelta(hours=72)
    assert [f.status for f in store.follow_ups(ticket.id)] == ["cancelled", "pending"]


def test_unresolved_tickets_get_no_follow_up(store: TicketStore, new_ticket) -> None:
    with pytest.raises(FollowUpError):
        store.schedule_follow_up(new_ticket().id)
    with pytest.raises(FollowUpError):
        store.schedule_follow_up(new_ticket(route="refer").id)
