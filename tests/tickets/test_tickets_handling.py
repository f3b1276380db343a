"""Handling: the status transition table, assignment with first-handler responsibility, replies, notes."""

from __future__ import annotations

import pytest

from bot.tickets.errors import InvalidTransition
from bot.tickets.repository import TicketStore
from bot.tickets.rules import TRANSITIONS

ALL_STATUSES = list(TRANSITIONS)


def _walk_to(store: TicketStore, ticket_id: int, status: str) -> None:
    paths = {
        "new": [],
        "in_progress": ["in_progress"],
        "waiting_for_person": ["waiting_for_person"],
        "resolved": ["in_progress", "resolved"],
        "closed": ["in_progress", "resolved", "closed"],
        "declined": ["declined"],
        "referred": ["referred"],
    }
    for step in paths[status]:
        store.change_status(ticket_id, step, actor="staff:li")


@pytest.mark.parametrize("old", ALL_STATUSES)
@pytest.mark.parametrize("new", ALL_STATUSES)
def test_transition_table(store: TicketStore, new_ticket, old: str, new: str) -> None:
    ticket = new_ticket()
    _walk_to(store, ticket.id, old)
    if new in TRANSITIONS[old]:
        changed = store.change_status(ticket.id, new, actor="staff:li", reason="test")
        assert changed.status == new
        event = [e for e in store.events(ticket.id) if e.kind == "status_changed"][-1]
        assert (event.actor, event.details["old"], event.details["new"]) == ("staff:li", old, new)
    else:
        with pytest.raises(InvalidTransition):
            store.change_status(ticket.id, new, actor="staff:li")
        assert store.get(ticket.id).status == old


def test_resolving_sets_and_reopening_clears_resolved_at(store: TicketStore, new_ticket, clock) -> None:
    ticket = new_ticket()
    resolved = store.change_status(ticket.id, "resolved", actor="staff:li")
    assert resolved.resolved_at == clock.now
    assert store.change_status(ticket.id, "in_progress", actor="staff:li").resolved_at is None


def test_unhandled_closed_records_cannot_be_reopened(store: TicketStore, new_ticket) -> None:
    auto_closed = new_ticket()
    store.change_status(auto_closed.id, "closed", actor="system", reason="person withdrew")
    with pytest.raises(InvalidTransition):
        store.change_status(auto_closed.id, "in_progress", actor="staff:li")
    faq = new_ticket(route="faq")
    with pytest.raises(InvalidTransition):
        store.change_status(faq.id, "in_progress", actor="staff:li")


def test_unknown_status_is_refused(store: TicketStore, new_ticket) -> None:
    with pytest.raises(ValueError):
        store.change_status(new_ticket().id, "done", actor="staff:li")


def test_first_handler_stays_accountable_through_transfers(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    store.assign(ticket.id, assignee="wang", department="城管局", actor="dispatcher")
    moved = store.transfer(ticket.id, assignee="zhao", department="住建局", actor="wang", reason="属于物业管理")
    assert (moved.assignee, moved.department, moved.first_handler) == ("zhao", "住建局", "wang")
    reassigned = store.assign(ticket.id, assignee="qian", actor="dispatcher")
    assert (reassigned.assignee, reassigned.department, reassigned.first_handler) == ("qian", "住建局", "wang")
    kinds = [event.kind for event in store.events(ticket.id)]
    assert kinds == ["created", "assigned", "transferred", "assigned"]
    transfer = store.events(ticket.id)[2]
    assert transfer.details["from_assignee"] == "wang" and transfer.details["reason"] == "属于物业管理"


def test_transfer_needs_an_assignment_and_a_reason(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    with pytest.raises(InvalidTransition):
        store.transfer(ticket.id, assignee="zhao", actor="wang", reason="x")
    store.assign(ticket.id, assignee="wang", actor="dispatcher")
    with pytest.raises(ValueError):
        store.transfer(ticket.id, assignee="zhao", actor="wang", reason=" ")


def test_closed_records_cannot_be_assigned(store: TicketStore, new_ticket) -> None:
    declined = new_ticket(route="decline")
    with pytest.raises(InvalidTransition):
        store.assign(declined.id, assignee="wang", actor="dispatcher")


def test_first_staff_reply_sets_first_response_once(store: TicketStore, new_ticket, clock) -> None:
    ticket = new_ticket()
    first_at = clock.advance(minutes=30)
    store.record_staff_reply(ticket.id, staff_user="li", text="您好，已派单")
    clock.advance(hours=2)
    message = store.record_staff_reply(ticket.id, staff_user="li", text="已处理")
    stored = store.get(ticket.id)
    assert stored.first_response_at == first_at
    assert stored.status == "in_progress"
    assert (message.sender, message.staff_user, message.seq) == ("staff", "li", 2)
    replies = [e for e in store.events(ticket.id) if e.kind == "reply_sent"]
    assert [e.details["first_response"] for e in replies] == [True, False]
    with pytest.raises(ValueError):
        store.record_staff_reply(ticket.id, staff_user="li", text="  ")


def test_notes_and_category_changes_are_events(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket(category="urban_management", category_l1="城乡建设")
    note = store.add_note(ticket.id, actor="li", text="已电话联系物业")
    assert (note.kind, note.details["text"]) == ("note", "已电话联系物业")
    changed = store.change_category(ticket.id, category="property", category_l1="城乡建设", actor="li")
    assert changed.category == "property"
    event = store.events(ticket.id)[-1]
    assert event.kind == "category_changed"
    assert event.details["old"]["category"] == "urban_management" and event.details["new"]["category"] == "property"
