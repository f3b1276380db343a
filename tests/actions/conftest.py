"""Fixtures of the action tests: the real domain (loaded once), trackers built from dicts, a fresh
dispatcher per test, and a real SQLite ticket store in a temp folder with a controllable clock.
The gateway's decision rides in the message metadata, as in production (`make_tracker(decision=...)`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.tickets.repository import TicketStore
from bot.triage.decision import METADATA_KEY, Decision
from tests.support.clock import FakeClock

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The project's domain.yml, as the action server receives it (a plain dict)."""
    return yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """A fresh dispatcher: its `.messages` are what the action sent."""
    return CollectingDispatcher()


@pytest.fixture
def clock() -> FakeClock:
    """10:00 China time on a weekday: both desks are staffed."""
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> TicketStore:
    """A real ticket store (SQLite, migrated by Alembic) in the test's temp folder."""
    return TicketStore.from_url(f"sqlite:///{tmp_path / 'tickets.db'}", clock=clock)


@pytest.fixture
def make_tracker(domain: dict[str, Any]) -> Callable[..., Tracker]:
    """Builds a tracker like the one Rasa sends: slots from the domain, then the given values."""

    def build(
        text: str = "",
        intent: str = "describe_problem",
        *,
        slots: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        earlier_texts: tuple[str, ...] = (),
        sender_id: str = "12345:test:1",
        active_loop: str | None = None,
        metadata: dict[str, Any] | None = None,
        message_id: str = "msg-latest",
        bot_texts: tuple[str, ...] = (),
        slot_events: dict[str, Any] | None = None,
        decision: Decision | None = None,
    ) -> Tracker:
        """`decision`: the gateway's triage decision, carried in the message metadata as the gateway sends it."""
        if decision is not None:
            metadata = {**(metadata or {}), METADATA_KEY: decision.to_dict()}
        all_slots: dict[str, Any] = {name: spec.get("initial_value") for name, spec in domain["slots"].items()}
        all_slots["session_started_metadata"] = None
        all_slots["requested_slot"] = None
        all_slots.update(slots or {})
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
            "metadata": metadata or {},
            "message_id": message_id,
        }
        events: list[dict[str, Any]] = [
            {"event": "action", "name": "action_session_start"},
            {"event": "session_started"},
            {"event": "action", "name": "action_listen"},
        ]
        for i, earlier in enumerate(earlier_texts):
            events.append({"event": "user", "text": earlier, "parse_data": {}, "message_id": f"msg-{i}"})
            events.append({"event": "action", "name": "action_triage_request"})
            events.append({"event": "action", "name": "action_listen"})
        for bot_text in bot_texts:
            events.append({"event": "bot", "text": bot_text})
        events.append(
            {"event": "user", "text": text, "parse_data": latest, "message_id": message_id, "metadata": metadata or {}}
        )
        for name, value in (slot_events or {}).items():
            events.append({"event": "slot", "name": name, "value": value})
            all_slots[name] = value
        return Tracker.from_dict(
            {
                "sender_id": sender_id,
                "slots": all_slots,
                "latest_message": latest,
                "events": events,
                "active_loop": {"name": active_loop} if active_loop else {},
                "latest_action_name": "action_listen",
            }
        )

    return build
