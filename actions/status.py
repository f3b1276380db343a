"""action_check_status: the status of the person's own tickets ("我的工单怎么样了").

Only the tickets of this conversation: a number that belongs to someone else reveals nothing, not
even that it exists (bot.intake.status, TicketStore.get_by_number).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, load_ticket_store

if TYPE_CHECKING:
    from datetime import datetime

    from bot.tickets.repository import TicketStore

logger = logging.getLogger(__name__)

TicketLookup = Callable[[str | None, str, str], str | None]
"""(ticket number or None, sender id, language) -> a short status text for the person, or None if no ticket."""


class StoreLookup:
    """The lookup on the ticket store (opened on first use unless given); `clock` for tests.

    A class, not a closure: rasa-sdk's Sanic worker is spawned and pickles the registered actions.
    """

    def __init__(self, store: TicketStore | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.clock = clock

    def __call__(self, ticket_number: str | None, sender_id: str, language: str = "zh-Hans") -> str | None:
        from bot.intake.status import status_reply

        now = self.clock() if self.clock else None
        return status_reply(self.store or load_ticket_store(), sender_id, ticket_number, now=now, language=language)


store_lookup = StoreLookup


class ActionCheckStatus(Action):
    """check_status: honest answer about the tickets this conversation can see."""

    def __init__(self, lookup: TicketLookup | None = None) -> None:
        """`lookup` replaces the ticket store lookup in tests."""
        self._lookup = lookup or store_lookup()

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Looks the ticket up; says plainly when none was found and how to reach a person."""
        number = next(tracker.get_latest_entity_values("ticket_number"), None)
        try:
            status = await asyncio.to_thread(self._lookup, number, tracker.sender_id, language_of(tracker))
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
