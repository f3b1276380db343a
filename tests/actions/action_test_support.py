"""Helpers of the action tests: what an action sent and set."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher


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
