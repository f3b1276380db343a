"""Status lookups are bound to the person's conversation: a number alone reveals nothing."""

from __future__ import annotations

from bot.tickets.repository import TicketStore


def test_tickets_for_conversation_lists_only_own_tickets_newest_first(store: TicketStore, clock, new_ticket) -> None:
    first = new_ticket(conversation_id="web:alice")
    clock.advance(minutes=5)
    second = new_ticket(conversation_id="web:alice", route="refer")
    new_ticket(conversation_id="web:bob")
    assert [t.id for t in store.tickets_for_conversation("web:alice")] == [second.id, first.id]
    assert store.tickets_for_conversation("web:carol") == []


def test_get_by_number_needs_the_owning_conversation(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket(conversation_id="telegram:1001")
    for typed in [ticket.number, f"  {ticket.number} "]:
        found = store.get_by_number(typed, "telegram:1001")
        assert found is not None and found.id == ticket.id
    assert store.get_by_number(ticket.number, "telegram:2002") is None  # same answer as an unknown number
    assert store.get_by_number("12345-20261123-9999", "telegram:1001") is None


def test_get_by_number_ignores_malformed_input(store: TicketStore, new_ticket) -> None:
    new_ticket(conversation_id="web:alice")
    for junk in ["", "12345", "%", "12345-2026-01", "' OR 1=1 --"]:
        assert store.get_by_number(junk, "web:alice") is None
