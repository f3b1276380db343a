"""SLA alerts: open tickets past their first-response or resolution deadline, most urgent first."""

from __future__ import annotations

from datetime import timedelta

from bot.tickets.repository import TicketStore


def test_crisis_first_response_overdue_after_15_minutes(store: TicketStore, new_ticket, clock) -> None:
    crisis = new_ticket(route="crisis", desk="12355", sla_resolution_hours=24)
    assert store.overdue_tickets(clock.now + timedelta(minutes=14)) == []
    [late] = store.overdue_tickets(clock.now + timedelta(minutes=16))
    assert (late.ticket.id, late.deadline) == (crisis.id, "first_response")
    assert late.overdue_by == timedelta(minutes=1)


def test_staff_reply_stops_the_first_response_clock(store: TicketStore, new_ticket, clock) -> None:
    ticket = new_ticket(sla_first_response_hours=1, sla_resolution_hours=8)
    clock.advance(minutes=30)
    store.record_staff_reply(ticket.id, staff_user="li", text="收到")
    assert store.overdue_tickets(clock.now + timedelta(hours=2)) == []
    [late] = store.overdue_tickets(clock.now + timedelta(hours=9))
    assert late.deadline == "resolution"


def test_resolved_tickets_are_not_overdue(store: TicketStore, new_ticket, clock) -> None:
    ticket = new_ticket(sla_first_response_hours=1, sla_resolution_hours=2)
    store.change_status(ticket.id, "resolved", actor="li")
    assert store.overdue_tickets(clock.now + timedelta(hours=10)) == []


def test_waiting_for_person_still_counts(store: TicketStore, new_ticket, clock) -> None:
    ticket = new_ticket(sla_first_response_hours=1, sla_resolution_hours=2)
    store.change_status(ticket.id, "waiting_for_person", actor="li")
    deadlines = {o.deadline for o in store.overdue_tickets(clock.now + timedelta(hours=3))}
    assert deadlines == {"first_response", "resolution"}


def test_overdue_is_ordered_by_priority_then_deadline(store: TicketStore, new_ticket, clock) -> None:
    normal = new_ticket(priority="normal", sla_first_response_hours=1, sla_resolution_hours=None)
    high = new_ticket(priority="high", sla_first_response_hours=2, sla_resolution_hours=None)
    crisis = new_ticket(route="crisis", sla_resolution_hours=None)
    youth = new_ticket(desk="12355", sla_first_response_hours=1, sla_resolution_hours=None)
    order = [o.ticket.id for o in store.overdue_tickets(clock.now + timedelta(hours=5))]
    assert order == [crisis.id, high.id, normal.id, youth.id]
    assert [o.ticket.id for o in store.overdue_tickets(clock.now + timedelta(hours=5), desk="12355")] == [youth.id]


def test_no_sla_means_never_overdue(store: TicketStore, new_ticket, clock) -> None:
    new_ticket(sla_first_response_hours=None, sla_resolution_hours=None)
    assert store.overdue_tickets(clock.now + timedelta(days=365)) == []
