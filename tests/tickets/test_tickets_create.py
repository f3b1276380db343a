"""Creation: idempotency, readable numbers, closed records and SLA deadlines."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.tickets.errors import IdempotencyConflict
from bot.tickets.models import Message, Ticket
from bot.tickets.repository import TicketStore

if TYPE_CHECKING:
    from tests.support.clock import FakeClock

NUMBER = re.compile(r"^12345-\d{8}-\d{4}$")


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_create_stores_a_masked_summary_and_the_triage_facts(store: TicketStore, clock: FakeClock) -> None:
    ticket = store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id="telegram:42",
        channel="telegram",
        idempotency_key="esc-1",
        summary="我叫张三，电话13812345678，3号楼2单元楼道灯坏了",
        category="urban_management",
        category_l1="城乡建设",
        triage_signals={"classifier": "urban_management", "confidence": 0.91},
        sla_first_response_hours=4,
        sla_resolution_hours=72,
    )
    stored = store.get(ticket.id)
    assert NUMBER.match(stored.number)
    assert stored.status == "new" and stored.priority == "normal" and stored.route == "ticket"
    assert "13812345678" not in stored.summary_redacted and "张三" not in stored.summary_redacted
    assert stored.triage_signals == {"classifier": "urban_management", "confidence": 0.91}
    assert stored.sla_first_response_due == clock.now + timedelta(hours=4)
    assert stored.sla_resolution_due == clock.now + timedelta(hours=72)
    assert stored.first_handler is None and stored.first_response_at is None
    [created] = store.events(ticket.id)
    assert created.kind == "created" and created.details["number"] == stored.number


def test_same_idempotency_key_makes_one_ticket(
    store: TicketStore, engine: Engine, new_ticket: Callable[..., Ticket]
) -> None:
    first = new_ticket(idempotency_key="esc-42", transcript=[("person", "路灯坏了"), ("bot", "已登记")])
    again = new_ticket(idempotency_key="esc-42", transcript=[("person", "路灯坏了"), ("bot", "已登记")])
    assert again.id == first.id and again.number == first.number
    assert _count(engine, Ticket) == 1
    assert _count(engine, Message) == 2  # the retried escalation did not duplicate the transcript
    assert len(store.events(first.id)) == 1


def test_same_idempotency_key_from_parallel_threads_makes_one_ticket(
    store: TicketStore, engine: Engine, new_ticket: Callable[..., Ticket]
) -> None:
    threads_n = 6
    barrier = threading.Barrier(threads_n)
    results: list[Ticket] = []
    errors: list[BaseException] = []

    def escalate() -> None:
        try:
            barrier.wait()
            results.append(new_ticket(idempotency_key="esc-race", transcript=[("person", "hi")]))
        except BaseException as exc:  # surfaced below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=escalate) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({ticket.id for ticket in results}) == 1
    assert _count(engine, Ticket) == 1
    assert _count(engine, Message) == 1


def test_idempotency_key_of_another_conversation_is_refused(new_ticket: Callable[..., Ticket]) -> None:
    new_ticket(idempotency_key="esc-7", conversation_id="web:alice")
    with pytest.raises(IdempotencyConflict):
        new_ticket(idempotency_key="esc-7", conversation_id="web:bob")


def test_numbers_count_per_desk_and_china_day(store: TicketStore, clock: FakeClock, new_ticket) -> None:
    clock.now = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    a = new_ticket()
    b = new_ticket()
    youth = new_ticket(desk="12355")
    clock.now = datetime(2026, 11, 23, 16, 1, tzinfo=UTC)  # 00:01 on the 24th in Beijing
    c = new_ticket()
    assert [a.number, b.number, youth.number, c.number] == [
        "12345-20261123-0001",
        "12345-20261123-0002",
        "12355-20261123-0001",
        "12345-20261124-0001",
    ]


def test_numbers_stay_unique_and_gapless_under_concurrency(engine: Engine, new_ticket) -> None:
    per_thread, threads_n = 8, 6
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                numbers.append(new_ticket(idempotency_key=f"c-{t}-{i}", conversation_id=f"web:{t}").number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    total = per_thread * threads_n
    assert sorted(numbers) == [f"12345-20261123-{n:04d}" for n in range(1, total + 1)]


@pytest.mark.parametrize(
    ("route", "status"),
    [("refer", "referred"), ("emergency", "referred"), ("decline", "declined"), ("faq", "closed")],
)
def test_non_ticket_routes_are_recorded_as_closed_records(new_ticket, store: TicketStore, route, status) -> None:
    record = new_ticket(route=route, triage_signals={"channel": "12333", "reason_code": "not_public_service"})
    assert record.status == status
    assert record.sla_first_response_due is None and record.sla_resolution_due is None
    assert store.overdue_tickets(datetime(2030, 1, 1, tzinfo=UTC)) == []


def test_crisis_is_urgent_with_a_quarter_hour_first_response(new_ticket, clock: FakeClock) -> None:
    crisis = new_ticket(route="crisis", priority="normal", sla_first_response_hours=4, desk="12355")
    assert crisis.priority == "urgent"
    assert crisis.sla_first_response_due == clock.now + timedelta(minutes=15)


@pytest.mark.parametrize(
    "bad",
    [
        {"route": "smalltalk"},
        {"priority": "low"},
        {"channel": "fax"},
        {"desk": "12345-x"},
        {"conversation_id": " "},
        {"idempotency_key": ""},
        {"sla_resolution_hours": 0},
        {"transcript": [("robot", "hi")]},
    ],
)
def test_invalid_input_is_refused_before_touching_the_database(new_ticket, engine: Engine, bad) -> None:
    with pytest.raises(ValueError):
        new_ticket(**bad)
    assert _count(engine, Ticket) == 0
