"""Crisis and emergency: answered first, warmly, with the numbers to call; a person is brought in."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    EMERGENCY_CHANNEL_NAMES,
    desk_of,
    is_payload,
    latest_text,
    load_triage_engine,
    previous_user_texts,
    route_name,
)

logger = logging.getLogger(__name__)

CRISIS_CHANNEL = "12356"


def respond_to_crisis(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Answers a crisis message and returns the events that keep the person with a human.

    The first time: the full answer (12356, 110/120, 12355 on the youth desk) from `utter_crisis`.
    Afterwards (in_crisis already set): a short message that stays with the person and repeats
    the numbers. Never a goodbye. Sets `handoff` (the gateway brings in on-duty staff) and
    deactivates any active form.
    """
    already = tracker.get_slot("in_crisis") is True
    dispatcher.utter_message(response="utter_crisis_stay" if already else "utter_crisis")
    events: list[EventType] = []
    if tracker.active_loop_name:
        events.append(ActiveLoop(None))
    wanted = {"in_crisis": True, "handoff": True, "route": "crisis", "channel": CRISIS_CHANNEL}
    events.extend(SlotSet(name, value) for name, value in wanted.items() if tracker.get_slot(name) != value)
    return events


def respond_to_emergency(dispatcher: CollectingDispatcher, tracker: Tracker, channel: str | None) -> list[EventType]:
    """Tells the person to call `channel` now, in one short sentence first, and records the route."""
    if channel in EMERGENCY_CHANNEL_NAMES:
        dispatcher.utter_message(
            response="utter_emergency_call", channel=channel, channel_name=EMERGENCY_CHANNEL_NAMES[channel]
        )
    else:
        channel = None
        dispatcher.utter_message(response="utter_emergency_unknown")
    dispatcher.utter_message(response="utter_emergency_after")
    events: list[EventType] = [SlotSet("route", "emergency"), SlotSet("channel", channel)]
    if tracker.active_loop_name:
        events.insert(0, ActiveLoop(None))
    return events


class ActionHandleCrisis(Action):
    """Intent `crisis` (NLU or the safety override), and every message while in_crisis."""

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_handle_crisis"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Never fails: if anything goes wrong the numbers are still sent as plain text."""
        try:
            return respond_to_crisis(dispatcher, tracker)
        except Exception:
            logger.exception("action_handle_crisis failed; sending the fallback text")
            dispatcher.utter_message(
                text="我在这里陪着你。请马上拨打 12356 心理援助热线；有生命危险请立即拨打 110 或 120。工作人员很快会接入。"
            )
            return [SlotSet("in_crisis", True), SlotSet("handoff", True)]


class ActionHandleEmergency(Action):
    """Intent `emergency`: "call 110/119/120/122 now" first."""

    def __init__(self, engine: Any = None) -> None:
        """`engine` replaces the triage engine in tests; in production it is loaded on first use."""
        self._engine = engine

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_handle_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The channel comes from the safety override's `channel` entity, else from the triage engine."""
        channel = next(tracker.get_latest_entity_values("channel"), None)
        if channel not in EMERGENCY_CHANNEL_NAMES:
            channel = await self._channel_from_engine(tracker)
        return respond_to_emergency(dispatcher, tracker, channel)

    async def _channel_from_engine(self, tracker: Tracker) -> str | None:
        text = latest_text(tracker)
        if not text.strip() or is_payload(text):
            return None
        try:
            engine = self._engine or await asyncio.to_thread(load_triage_engine)
            decision = await asyncio.to_thread(
                engine.decide, text, desk_of(tracker), history=previous_user_texts(tracker)
            )
        except Exception:  # the generic "call 110/119/120/122" answer still goes out
            logger.exception("Triage engine failed while looking up an emergency channel")
            return None
        if route_name(decision.route) == "emergency" and decision.channel in EMERGENCY_CHANNEL_NAMES:
            return str(decision.channel)
        return None
