"""action_handoff: a person takes over. The gateway watches the `handoff` slot."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionHandoff(Action):
    """ask_human: tells the person a staff member will join and sets `handoff`."""

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Stops any form (the person asked for a human, not for more questions)."""
        dispatcher.utter_message(response="utter_handoff")
        events: list[EventType] = []
        if tracker.active_loop_name:
            events.append(ActiveLoop(None))
        if tracker.get_slot("handoff") is not True:
            events.append(SlotSet("handoff", True))
        return events
