"""Helpers of the action tests, and a FAKE triage engine (clearly marked below)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rasa_sdk.executor import CollectingDispatcher


# ---------------------------------------------------------------------------------------------
# FAKE triage engine. bot.triage.engine was being written in parallel; these tests pin down how
# the actions use its contract (decide(text, desk, history=[...]) -> Decision) without loading the
# embedding model. See the TODO in test_actions_triage.py.
# ---------------------------------------------------------------------------------------------
@dataclass
class FakeDecision:
    """Same fields as bot.triage.engine.Decision (contract of shared/docs/triage-spec.md)."""

    route: str
    desk: str = "12345"
    channel: str | None = None
    category: str | None = None
    category_l1: str | None = None
    category_name: str | None = None
    faq_id: str | None = None
    entry_id: str | None = None
    confidence: float = 0.9
    reply: str | None = None
    signals: tuple[str, ...] = ()
    priority: str = "normal"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FakeEngine:
    """Returns a fixed decision and records every call."""

    def __init__(self, decision: FakeDecision | None = None, error: Exception | None = None) -> None:
        self.decision = decision
        self.error = error
        self.calls: list[tuple[str, str, list[str]]] = []

    def decide(self, text: str, desk: str, history: list[str] | None = None) -> FakeDecision:
        self.calls.append((text, desk, list(history or [])))
        if self.error is not None:
            raise self.error
        assert self.decision is not None
        return self.decision


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    """{slot: value} of the SlotSet events (last one wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher: CollectingDispatcher) -> list[str | None]:
    """Names of the domain responses the action sent (None for plain-text messages)."""
    return [m.get("response") for m in dispatcher.messages]


def customs(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """The custom JSON payloads the action sent (what the gateway acts on)."""
    return [m["custom"] for m in dispatcher.messages if m.get("custom")]


def buttons(dispatcher: CollectingDispatcher) -> list[dict[str, str]]:
    """Every button of every message, in order."""
    return [b for m in dispatcher.messages for b in m.get("buttons") or []]
