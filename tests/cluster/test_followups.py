"""Return visits with two app instances on one PostgreSQL database: only the leader asks, each visit
is claimed before its question is sent (never twice, not even by two schedulers racing), the SLA
alert memory is shared, and when the leader is killed the other instance takes over
(bot/followups/, bot/tickets/follow_ups.py, bot/db/leases.py)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.leases import holder
from bot.followups.runtime import LEADER_LEASE
from bot.followups.scheduler import FollowUpScheduler
from bot.gateway.models import OutboundMessage
from bot.gateway.store import GatewayStore
from bot.tickets.models import FollowUp
from bot.tickets.repository import TicketStore
from tests.cluster.conftest import LEASE_SECONDS, wait_until

pytestmark = pytest.mark.integration  # starts app processes on a real PostgreSQL


def due_visits(engine: Engine, count: int, start: int = 0) -> list[str]:
    """`count` resolved tickets whose return visit is due now; their conversations (web chat)."""
    tickets, gateway = TicketStore(engine), GatewayStore(engine)
    conversations = []
    for n in range(start, start + count):
        conversation = gateway.ensure_conversation("12345", "web", f"visit-{n}")
        ticket = tickets.create_ticket(
            desk="12345",
            route="ticket",
            conversation_id=conversation,
            channel="web",
            idempotency_key=f"visit-{n}",
            summary=f"第{n}号路灯坏了",
            sla_first_response_hours=24,
            sla_resolution_hours=120,
        )
        tickets.record_staff_reply(ticket.id, staff_user="wang", text="已安排维修。")
        tickets.change_status(ticket.id, "resolved", actor="wang")
        tickets.schedule_follow_up(ticket.id, due_at=datetime.now(UTC) - timedelta(minutes=1))
        conversations.append(conversation)
    return conversations


def questions(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(
            session.scalars(select(OutboundMessage.conversation_id).where(OutboundMessage.source == "followup")).all()
        )


def attempts(engine: Engine) -> list[int]:
    """Attempts of the visits in force (resolving scheduled one that `due_visits` replaced: cancelled)."""
    with Session(engine) as session:
        return list(session.scalars(select(FollowUp.attempts).where(FollowUp.status != "cancelled")).all())


def test_two_schedulers_racing_on_one_database_ask_each_visit_once(cluster_db: str, engine: Engine) -> None:
    conversations = due_visits(engine, 20)
    sent: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    async def send(conversation_id: str, text: str, buttons: list[dict[str, str]]) -> None:
        with lock:
            sent.append(conversation_id)
        await asyncio.sleep(0.01)  # a real queue write takes a moment: let the other scheduler interleave

    def run() -> None:
        own = make_engine(cluster_db)  # each "instance" with its own engine and connections
        try:
            barrier.wait()
            asyncio.run(FollowUpScheduler(TicketStore(own), send).run_once())
        finally:
            own.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Counter(sent) == Counter(conversations)  # every visit asked, none twice
    assert attempts(engine) == [1] * 20


def test_only_the_leader_asks_and_the_other_takes_over_when_it_is_killed(start_instance: Any, engine: Engine) -> None:
    instances = {name: start_instance(name, FRONTDOOR_FOLLOW_UP_INTERVAL="0.3") for name in ("a", "b")}
    first = due_visits(engine, 6)
    wait_until(lambda: attempts(engine) == [1] * 6, 30, "the leader asks the due visits")
    assert questions(engine) == Counter(first)  # one question per visit
    leader = holder(engine, LEADER_LEASE)
    assert leader in instances

    instances[leader].kill()  # no release: the lease must run out
    follower = next(name for name in instances if name != leader)
    later = due_visits(engine, 4, start=6)
    wait_until(lambda: attempts(engine) == [1] * 10, LEASE_SECONDS + 30, "the other instance takes over")
    assert holder(engine, LEADER_LEASE) == follower
    assert questions(engine) == Counter(first + later)  # still once each


def test_the_sla_alert_memory_is_shared_by_every_instance(cluster_db: str, engine: Engine) -> None:
    store = TicketStore(engine)
    now = datetime.now(UTC)
    ticket = store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id="12345:web:late",
        channel="web",
        idempotency_key="late",
        summary="路灯坏了",
        sla_first_response_hours=1,
        sla_resolution_hours=2,
    )
    alerts: list[str] = []

    async def alert(desk: str, text: str) -> None:
        alerts.append(text)

    later = now + timedelta(hours=3)  # both deadlines missed
    first = asyncio.run(FollowUpScheduler(TicketStore(engine), lambda *a: asyncio.sleep(0), alert).run_once(later))
    # a new leader (another instance: another scheduler, nothing in its memory) an hour later
    second = asyncio.run(
        FollowUpScheduler(TicketStore(engine), lambda *a: asyncio.sleep(0), alert).run_once(later + timedelta(hours=1))
    )
    after = asyncio.run(
        FollowUpScheduler(TicketStore(engine), lambda *a: asyncio.sleep(0), alert).run_once(later + timedelta(hours=5))
    )
    assert (first.alerted, second.alerted, after.alerted) == (2, 0, 2)
    assert all(ticket.number in text for text in alerts)
