"""Recording the person's answers to a return visit, and reading a typed score."""

from __future__ import annotations

import pytest

from bot.followups.answers import answer_rating, answer_solved, parse_score, rating_buttons
from bot.followups.scheduler import FollowUpScheduler
from tests.followups.conftest import resolved_ticket


@pytest.mark.parametrize(
    ("text", "entity", "score"),
    [
        ("", 5, 5),
        ("", "3", 3),
        ("5分", None, 5),
        ("给四颗星", None, 4),
        ("打个2分吧", None, 2),
        ("⭐⭐⭐", None, 3),
        ("满分", None, 5),
        ("10分", None, 5),
        ("非常满意", None, 5),
        ("挺满意的", None, 4),
        ("一般般吧", None, 3),
        ("不满意，拖太久了", None, 2),
        ("很不滿意", None, 1),
        ("差评", None, 1),
        ("very satisfied", None, 5),
        ("谢谢", None, None),
        ("", None, None),
    ],
)
def test_parse_score(text, entity, score):
    assert parse_score(text, entity) == score


def test_rating_buttons_fit_telegram():
    assert [b["title"][0] for b in rating_buttons(123456)] == ["5", "4", "3", "2", "1"]
    assert all(len(b["payload"].encode()) <= 64 for b in rating_buttons(123456))


async def asked(store, outbox, clock, **kwargs):
    ticket = resolved_ticket(store, **kwargs)
    clock.advance(hours=25)
    await FollowUpScheduler(store, outbox, clock=clock).run_once()
    return ticket


async def test_solved_closes_then_the_rating_is_stored(store, outbox, clock):
    ticket = await asked(store, outbox, clock)

    assert answer_solved(store, "12345:web:p1", str(ticket.id), True).kind == "solved"
    assert store.get(ticket.id).status == "closed"
    assert answer_rating(store, "12345:web:p1", str(ticket.id), 5).kind == "rated"
    rating = store.rating(ticket.id)
    assert (rating.solved, rating.service_score) == (True, 5)
    assert answer_rating(store, "12345:web:p1", str(ticket.id), 1).kind == "already_rated"


async def test_a_retried_solved_answer_is_harmless(store, outbox, clock):
    ticket = await asked(store, outbox, clock)
    for _ in range(2):
        assert answer_solved(store, "12345:web:p1", ticket.id, True).kind == "solved"
    assert store.get(ticket.id).status == "closed"


async def test_not_solved_reopens_for_the_handler_and_the_rating_waits(store, outbox, clock):
    ticket = await asked(store, outbox, clock)

    assert answer_solved(store, "12345:web:p1", ticket.id, False).kind == "not_solved"
    assert store.get(ticket.id).status == "in_progress"
    assert answer_rating(store, "12345:web:p1", ticket.id, 2).kind == "not_rateable"
    assert store.rating(ticket.id) is None
    assert any(e.kind == "note" and "2/5" in e.details["text"] for e in store.events(ticket.id))


async def test_someone_elses_ticket_is_unknown(store, outbox, clock):
    ticket = await asked(store, outbox, clock)
    assert answer_solved(store, "12345:web:intruder", ticket.id, True).kind == "unknown"
    assert answer_rating(store, "12345:web:intruder", ticket.id, 1).kind == "unknown"
    assert answer_solved(store, "12345:web:p1", "not-a-number", True).kind == "unknown"
    assert store.get(ticket.id).status == "resolved"


async def test_a_typed_rating_finds_the_ticket_but_asks_solved_first(store, outbox, clock):
    ticket = await asked(store, outbox, clock)
    answer = answer_rating(store, "12345:web:p1", None, 4)
    assert (answer.kind, answer.ticket.id) == ("need_solved", ticket.id)
    answer_solved(store, "12345:web:p1", ticket.id, True)
    assert answer_rating(store, "12345:web:p1", None, 4).kind == "rated"


async def test_declined_records_are_never_rated(store, clock):
    record = store.create_ticket(
        desk="12345",
        route="decline",
        conversation_id="12345:web:p1",
        channel="web",
        idempotency_key="d",
        summary="帮我找对象",
    )
    assert answer_rating(store, "12345:web:p1", record.id, 5).kind == "unknown"
    assert answer_rating(store, "12345:web:p1", None, 5).kind == "unknown"
