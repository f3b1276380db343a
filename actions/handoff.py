"""action_handoff: a person takes over.

The gateway hands the conversation to staff on the custom payload {"handoff": true, "reason": ...}
(and, with Rasa's API token, on the `handoff` slot). A matter the person was in the middle of
reporting is not lost: it is opened as a ticket with the details given so far, so staff find it in
their queue with an SLA and the person gets a number.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    clear_form_events,
    concern_signals,
    desk_of,
    language_of,
    message_origin,
    ticket_store,
    transcript,
)
from bot.intake.hours import back_on_duty

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore

logger = logging.getLogger(__name__)


class ActionHandoff(Action):
    """ask_human: tells the person a staff member will join and sets `handoff`."""

    def __init__(self, store: TicketStore | None = None) -> None:
        """`store` replaces the ticket store in tests."""
        self._store = store

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Stops any form (the person asked for a human, not for more questions)."""
        events: list[EventType] = []
        number = await self._open_matter(tracker)
        if number:
            dispatcher.utter_message(response="utter_handoff_with_ticket", ticket_no=number)
            events.append(SlotSet("last_ticket", number))
        back_at = back_on_duty(desk_of(tracker), language_of(tracker))
        if back_at is None:
            dispatcher.utter_message(response="utter_handoff")
        else:  # nobody on duty: say so and when they are back; the conversation still waits for them
            dispatcher.utter_message(response="utter_handoff_off_hours", back_at=back_at)
        dispatcher.utter_message(json_message={"handoff": True, "reason": "asked"})
        if tracker.active_loop_name:
            events.append(ActiveLoop(None))
        cleared = clear_form_events(tracker)
        if cleared or tracker.get_slot("route") == "ticket":
            events.extend(cleared)
            events.append(SlotSet("route", None))
        if tracker.get_slot("handoff") is not True:
            events.append(SlotSet("handoff", True))
        return events

    async def _open_matter(self, tracker: Tracker) -> str | None:
        """The ticket of the matter being reported (form started, not yet submitted), if there is one."""
        what = tracker.get_slot("problem_what")
        if not what or (tracker.get_slot("route") != "ticket" and not tracker.active_loop_name):
            return None
        from bot.intake.age import under_guardian_age
        from bot.intake.records import Intake, open_ticket

        age = tracker.get_slot("person_age")
        intake = Intake(
            desk=desk_of(tracker),
            conversation_id=tracker.sender_id,
            origin=str(tracker.get_slot("ticket_origin") or message_origin(tracker)),
            what=str(what),
            category=tracker.get_slot("category"),
            category_l1=tracker.get_slot("category_l1"),
            where=tracker.get_slot("problem_where"),
            since=tracker.get_slot("problem_since"),
            who=tracker.get_slot("problem_who"),
            callback_time=tracker.get_slot("callback_time"),
            age=str(age) if age else None,
            under_14=under_guardian_age(age),  # staff take over: they are told all the same
            signals={
                "handoff": True,
                "incomplete": tracker.get_slot("ticket_confirmed") is not True,
                **concern_signals(tracker),
            },
        )
        try:
            store = await ticket_store(self._store)
            opened = await asyncio.to_thread(lambda: open_ticket(store, intake, transcript(store, tracker)))
        except Exception:  # the handoff itself must still happen
            logger.exception("could not open the ticket of the matter handed to staff")
            return None
        return str(opened.number)
