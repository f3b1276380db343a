"""action_check_status: the status of a ticket of this conversation or of a given ticket number."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)

TicketLookup = Callable[[str | None, str], str | None]
"""(ticket number or None, sender id) -> a short status text for the person, or None if no ticket."""


def no_ticket_store(ticket_number: str | None, sender_id: str) -> str | None:
    """Stand-in until bot.tickets is wired in: no ticket exists for anyone yet.

    TODO(tickets): replace with a lookup in bot.tickets (by number, or the latest ticket of
    sender_id) returning its status, category, due time and last staff reply as one text.
    """
    return None


class ActionCheckStatus(Action):
    """check_status: honest answer about the tickets this conversation can see."""

    def __init__(self, lookup: TicketLookup | None = None) -> None:
        """`lookup` is the ticket store; until bot.tickets exists, nothing is found."""
        self._lookup = lookup or no_ticket_store

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Looks the ticket up; says plainly when none was found and how to reach a person."""
        number = next(tracker.get_latest_entity_values("ticket_number"), None)
        try:
            status = self._lookup(number, tracker.sender_id)
        except Exception:
            logger.exception("Ticket lookup failed")
            dispatcher.utter_message(response="utter_triage_error")
            return []
        if status is None:
            if number:
                dispatcher.utter_message(response="utter_status_number_not_found", ticket_number=number)
            else:
                dispatcher.utter_message(response="utter_status_not_found")
            return [SlotSet("ticket_number", number)] if number else []
        dispatcher.utter_message(text=status)
        return [SlotSet("ticket_number", number)] if number else []
