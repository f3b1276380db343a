"""Ratings: once per ticket, 1-5, only for tickets staff handled."""

from __future__ import annotations

import pytest

from bot.tickets.errors import RatingError, TicketNotFound
from bot.tickets.repository import TicketStore


def _handled(store: TicketStore, new_ticket, **kwargs):
    ticket = new_ticket(**kwargs)
    store.record_staff_reply(ticket.id, staff_user="li", text="已处理")
    store.change_status(ticket.id, "resolved", actor="li")
    return ticket


def test_rating_a_resolved_ticket(store: TicketStore, new_ticket) -> None:
    ticket = _handled(store, new_ticket)
    rating = store.record_rating(
        ticket.id, solved=True, service_score=5, comment="很快，谢谢！电话13812345678", conversation_id="web:alice"
    )
    assert (rating.solved, rating.service_score) == (True, 5)
    assert "13812345678" not in (rating.comment or "")
    assert store.rating(ticket.id) is not None
    assert store.events(ticket.id)[-1].kind == "rated"


def test_closed_after_resolution_is_rateable(store: TicketStore, new_ticket) -> None:
    ticket = _handled(store, new_ticket)
    store.change_status(ticket.id, "closed", actor="li")
    assert store.record_rating(ticket.id, solved=False, service_score=2).service_score == 2


def test_only_one_rating_per_ticket(store: TicketStore, new_ticket) -> None:
    ticket = _handled(store, new_ticket)
    store.record_rating(ticket.id, solved=True, service_score=4)
    with pytest.raises(RatingError, match="already rated"):
        store.record_rating(ticket.id, solved=True, service_score=5)


@pytest.mark.parametrize("route", ["decline", "refer", "emergency", "faq"])
def test_closed_records_are_not_rateable(store: TicketStore, new_ticket, route: str) -> None:
    with pytest.raises(RatingError):
        store.record_rating(new_ticket(route=route).id, solved=True, service_score=5)


def test_unhandled_tickets_are_not_rateable(store: TicketStore, new_ticket) -> None:
    waiting = new_ticket()
    with pytest.raises(RatingError):
        store.record_rating(waiting.id, solved=True, service_score=5)
    auto_closed = new_ticket()
    store.change_status(auto_closed.id, "closed", actor="system", reason="no reply for 7 days")
    with pytest.raises(RatingError):
        store.record_rating(auto_closed.id, solved=True, service_score=5)


@pytest.mark.parametrize("score", [0, 6, -1, True, 4.5, "5"])
def test_scores_must_be_1_to_5(store: TicketStore, new_ticket, score) -> None:
    ticket = _handled(store, new_ticket)
    with pytest.raises(RatingError):
        store.record_rating(ticket.id, solved=True, service_score=score)
    assert store.rating(ticket.id) is None


def test_solved_must_be_a_bool_and_comments_bounded(store: TicketStore, new_ticket) -> None:
    ticket = _handled(store, new_ticket)
    with pytest.raises(RatingError):
        store.record_rating(ticket.id, solved="yes", service_score=5)  # type: ignore[arg-type]
    with pytest.raises(RatingError):
        store.record_rating(ticket.id, solved=True, service_score=5, comment="x" * 5000)


def test_rating_from_another_conversation_is_refused(store: TicketStore, new_ticket) -> None:
    ticket = _handled(store, new_ticket, conversation_id="web:alice")
    with pytest.raises(TicketNotFound):
        store.record_rating(ticket.id, solved=True, service_score=1, conversation_id="web:mallory")
    assert store.rating(ticket.id) is None
