"""A real SQLite ticket store with a hand-moved clock, and a recording `send`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.tickets.repository import TicketStore
from tests.support.clock import FakeClock


class Outbox:
    """Plays the gateway's outbound queue: records what was sent, can fail on demand."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list[dict[str, str]]]] = []
        self.fail_with: Exception | None = None

    async def __call__(self, conversation_id: str, text: str, buttons: list[dict[str, str]]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((conversation_id, text, buttons))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tickets.db'}"


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> TicketStore:
    return TicketStore.from_url(db_url, clock=clock)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


def resolved_ticket(store: TicketStore, conversation_id: str = "12345:web:p1", key: str = "k1", **kwargs: Any) -> Any:
    """A ticket staff resolved: its return visit is due 24 h later."""
    ticket = store.create_ticket(
        desk=kwargs.pop("desk", "12345"),
        route=kwargs.pop("route", "ticket"),
        conversation_id=conversation_id,
        channel="web",
        idempotency_key=key,
        summary=kwargs.pop("summary", "小区门口路灯坏了半个月"),
        sla_first_response_hours=24,
        sla_resolution_hours=120,
        **kwargs,
    )
    store.record_staff_reply(ticket.id, staff_user="wang", text="已安排维修。")
    store.change_status(ticket.id, "resolved", actor="wang")
    return store.get(ticket.id)
