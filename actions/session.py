"""Session start: carry slots over and set the desk of the conversation."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import FORM_SLOTS, configured_desks, desk_from_sender

logger = logging.getLogger(__name__)

METADATA_SLOT = "session_started_metadata"
RESET_AT_SESSION_START: dict[str, Any] = {
    "in_crisis": False,
    **{name: (False if name == "ticket_editing" else None) for name in FORM_SLOTS},
    "requested_slot": None,
    "route": None,
    "follow_up_ticket": None,
    "service_score": None,
}
"""Slots that do not survive a new session (an hour of silence): the crisis companion mode ends and
a half-filled ticket form starts afresh (Rasa does not resume a form across sessions);
`handoff` is kept, the gateway and staff own it, and so is `last_ticket`."""


class ActionSessionStart(Action):
    """Starts a session: carried-over slots, the desk from the metadata or the sender id, listen."""

    def name(self) -> str:
        """The action Rasa runs at every new session."""
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Returns SessionStarted, the carried-over slots, the desk and action_listen."""
        events: list[EventType] = [SessionStarted()]
        if _carry_over_slots(domain):
            events.extend(
                SlotSet(name, value)
                for name, value in tracker.slots.items()
                if value is not None and name not in (METADATA_SLOT, "desk", *RESET_AT_SESSION_START)
            )
        events.extend(SlotSet(name, value) for name, value in RESET_AT_SESSION_START.items())
        events.append(SlotSet("desk", self.desk_for(tracker)))
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    def desk_for(tracker: Tracker) -> str:
        """Metadata {"desk": ...} of the first message wins, then the desk of the previous session,
        then the sender id prefix ("12355:..."), then the default desk."""
        desks = configured_desks()
        for metadata in (tracker.get_slot(METADATA_SLOT), (tracker.latest_message or {}).get("metadata")):
            if isinstance(metadata, dict) and metadata.get("desk") is not None:
                desk = str(metadata["desk"]).strip()
                if desk in desks:
                    return desk
                logger.warning("Unknown desk %r in the message metadata; ignored.", desk)
        previous = tracker.get_slot("desk")
        if isinstance(previous, str) and previous in desks:
            return previous
        return desk_from_sender(tracker.sender_id)


def _carry_over_slots(domain: dict[str, Any]) -> bool:
    config = domain.get("session_config") or {}
    return bool(config.get("carry_over_slots_to_new_session", True))
